"""Who sees and changes what: one commune's agents only, reading for every role, writing for the
roles that keep family files, keys for the services a role covers."""

import pytest
from django.test import Client

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.backoffice.tests.conftest import make_agent, text_of
from parvis.communes.tests.factories import (
    CommuneFactory,
    OperatorFactory,
    ServiceFactory,
    StaffFactory,
)
from parvis.families.models import AuthorisedPerson, Famille, Personne, ServiceKey
from parvis.families.tests.factories import (
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db

Role = AgentRole.Role
FILE = "/villebois/guichet/familles/1/"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Tenancy -------------------------------------------------------------------------------------


@pytest.fixture
def other_commune(db):
    return CommuneFactory(name="Autreville", slug="autreville")


def test_an_agent_of_another_commune_gets_a_404_everywhere(famille, other_commune):
    FamilleFactory(commune=other_commune, name="DURAND", number=1)
    intruder = as_user(make_agent(other_commune, Role.ADMINISTRATEUR))
    for url in (
        "/villebois/guichet/",
        FILE,
        f"{FILE}modifier/",
        f"{FILE}cles/generer/",
        "/villebois/guichet/familles/nouvelle/",
    ):
        assert intruder.get(url).status_code == 404, url
    assert intruder.post("/villebois/guichet/familles/nouvelle/", {"name": "X"}).status_code == 404
    assert intruder.post(f"{FILE}modifier/", {"name": "PIRATE"}).status_code == 404
    famille.refresh_from_db()
    assert famille.name == "DURAND"
    # Its own commune's file at the same number is served.
    assert intruder.get("/autreville/guichet/familles/1/").status_code == 200


def test_the_search_of_one_commune_never_shows_another_communes_families(famille, other_commune):
    theirs = FamilleFactory(commune=other_commune, name="DURAND", number=7)
    ChildFactory(famille=theirs, first_names="Léa")
    agent = as_user(make_agent(famille.commune, Role.ENFANCE))
    for query in ("durand", "lea", "F000007", ""):
        response = agent.get("/villebois/guichet/", {"q": query})
        found = list(response.context["page"].object_list)
        assert theirs not in found, query
        assert all(f.commune_id == famille.commune_id for f in found)
    assert "F000007" not in text_of(agent.get("/villebois/guichet/", {"q": "durand"}))


@pytest.mark.parametrize(
    "make_user",
    [
        lambda commune: CitizenFactory(commune=commune),
        lambda commune: OperatorFactory(),
        lambda commune: StaffFactory(commune=commune),  # staff without any role
    ],
    ids=["citizen", "operator", "staff-without-role"],
)
def test_a_logged_in_non_agent_gets_a_404(famille, make_user):
    client = as_user(make_user(famille.commune))
    assert client.get("/villebois/guichet/").status_code == 404
    assert client.get(FILE).status_code == 404


# --- Reading and writing family files ---------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ENFANCE, Role.SCOLAIRE, Role.ETAT_CIVIL, Role.REGIE])
def test_every_role_reads_the_family_files(famille, role):
    ChildFactory(famille=famille, first_names="Hugo", has_pai=True)
    response = as_user(make_agent(famille.commune, role)).get(FILE)
    assert response.status_code == 200
    assert "Hugo DURAND" in text_of(response)


@pytest.mark.parametrize("role", [Role.ETAT_CIVIL, Role.REGIE])
def test_a_role_that_only_reads_cannot_change_a_family(famille, role):
    responsable = PersonneFactory(famille=famille, first_names="Françoise")
    person = AuthorisedPerson.objects.create(
        commune=famille.commune, famille=famille, last_name="MARTIN", first_name="Jeanne",
        phone="01 39 74 00 00",
    )  # fmt: skip
    client = as_user(make_agent(famille.commune, role))
    page = text_of(client.get(FILE))
    assert "Ajouter un enfant" not in page and "Modifier le nom ou l'adresse" not in page
    attempts = [
        ("/villebois/guichet/familles/nouvelle/", {"name": "NOUVELLE"}),
        (f"{FILE}modifier/", {"name": "CHANGÉ", "address": "ailleurs"}),
        (f"{FILE}membres/ajouter/enfant/", {"last_name": "DURAND", "first_names": "Zoé"}),
        (
            f"{FILE}membres/{responsable.pk}/modifier/",
            {"last_name": "DURAND", "first_names": "Changé", "civility": "mme"},
        ),
        (
            f"{FILE}personnes-autorisees/ajouter/",
            {"last_name": "X", "first_name": "Y", "phone": "0102030405"},
        ),
        (
            f"{FILE}personnes-autorisees/{person.pk}/modifier/",
            {"last_name": "X", "first_name": "Y", "phone": "0102030405"},
        ),
        (f"{FILE}personnes-autorisees/{person.pk}/retirer/", {}),
    ]
    for url, data in attempts:
        assert client.get(url).status_code in (403, 405), url
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "pas de les modifier" in text_of(response)
    assert Famille.objects.count() == 1
    famille.refresh_from_db()
    assert (famille.name, famille.address) == ("DURAND", "3, rue des Écoles")
    assert list(Personne.objects.values_list("first_names", flat=True)) == ["Françoise"]
    assert list(AuthorisedPerson.objects.values_list("first_name", flat=True)) == ["Jeanne"]
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", [Role.ENFANCE, Role.SCOLAIRE, Role.ADMINISTRATEUR])
def test_the_roles_that_keep_the_files_create_families(commune, role):
    client = as_user(make_agent(commune, role))
    response = client.post("/villebois/guichet/familles/nouvelle/", {"name": "NOUVELLE"})
    assert response.status_code == 302
    assert Famille.objects.get().name == "NOUVELLE"


# --- Service keys --------------------------------------------------------------------------------


def test_an_agent_cannot_generate_a_key_of_a_service_they_do_not_cover(
    famille, enfance_service, regie_service
):
    regie = as_user(make_agent(famille.commune, Role.REGIE))
    response = regie.post(f"{FILE}cles/generer/", {"cle-service": enfance_service.pk})
    assert response.status_code == 200
    assert "Choisissez une clé d'un service dont vous avez la charge." in text_of(response)
    assert not ServiceKey.objects.exists()
    # The form offers only the keys of the services the role covers.
    options = regie.get(FILE).context["key_form"].fields["service"].queryset
    assert list(options) == [regie_service]


def test_an_agent_whose_services_give_no_key_gets_a_403(famille, enfance_service):
    client = as_user(make_agent(famille.commune, Role.ETAT_CIVIL))
    assert client.get(FILE).context["key_form"] is None
    response = client.post(f"{FILE}cles/generer/", {"cle-service": enfance_service.pk})
    assert response.status_code == 403
    assert not ServiceKey.objects.exists()


def test_the_administrator_covers_every_service(famille, enfance_service, regie_service):
    admin = as_user(make_agent(famille.commune, Role.ADMINISTRATEUR))
    for service in (enfance_service, regie_service):
        response = admin.post(f"{FILE}cles/generer/", {"cle-service": service.pk})
        assert response.status_code == 200
    assert ServiceKey.objects.count() == 2


def test_a_service_of_another_commune_is_refused(famille, enfance_service):
    elsewhere = ServiceFactory(
        commune=CommuneFactory(slug="autreville"), kind="enfance", key_label="Clé"
    )
    client = as_user(make_agent(famille.commune, Role.ADMINISTRATEUR))
    response = client.post(f"{FILE}cles/generer/", {"cle-service": elsewhere.pk})
    assert response.status_code == 200
    assert not ServiceKey.objects.exists()


def test_an_agent_cannot_revoke_a_key_of_a_service_they_do_not_cover(
    famille, enfance_service, regie_service
):
    key = ServiceKey.objects.create(
        commune=famille.commune, famille=famille, service=enfance_service, digest="d" * 64,
        hint="ABCD",
    )  # fmt: skip
    response = as_user(make_agent(famille.commune, Role.REGIE)).post(
        f"{FILE}cles/{key.pk}/revoquer/"
    )
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_csrf_is_enforced_on_the_guichets_writes(famille, enfance_service, enfance_agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(enfance_agent)
    for url, data in [
        ("/villebois/guichet/familles/nouvelle/", {"name": "NOUVELLE"}),
        (f"{FILE}modifier/", {"name": "CHANGÉ"}),
        (f"{FILE}membres/ajouter/enfant/", {"last_name": "DURAND", "first_names": "Zoé"}),
        (f"{FILE}cles/generer/", {"cle-service": enfance_service.pk}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert Famille.objects.get().name == "DURAND"
    assert not Personne.objects.exists()
    assert not ServiceKey.objects.exists()
