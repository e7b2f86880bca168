"""Code famille credentials handed over at the desk (Carrières-sur-Seine, Espace Citoyens
Premium), on a printable letter."""

import pytest
from django.test import Client, RequestFactory

from parvis.accounts.models import AgentRole, AuditEntry, User
from parvis.accounts.services import attempt_login
from parvis.backoffice.tests.conftest import CSS, make_agent, text_of
from parvis.families.models import Famille, FamilyAccess, MemberKind
from parvis.families.services import add_member, create_famille

pytestmark = pytest.mark.django_db


@pytest.fixture
def css(demo):
    return demo[CSS]


@pytest.fixture
def sej_agent(css):
    return make_agent(css, AgentRole.Role.ENFANCE, first_name="Sonia", last_name="SEJ")


@pytest.fixture
def bernard(css, sej_agent):
    famille = create_famille(
        commune=css, actor=sej_agent, name="BERNARD", address="3, rue de Chatou",
        postal_code="78420", city="Carrières-sur-Seine",
    )  # fmt: skip
    add_member(
        famille=famille, actor=sej_agent, kind=MemberKind.RESPONSABLE, civility="mme",
        last_name="BERNARD", first_names="Aïcha",
    )  # fmt: skip
    return famille


def url(famille):
    return f"/{CSS}/guichet/familles/{famille.number}/code-famille/"


def log_in_as_family(commune, code, password):
    request = RequestFactory().post(f"/{commune.slug}/connexion/")
    return attempt_login(request=request, commune=commune, identifier=code, password=password)


def test_the_credentials_log_in_and_ask_for_a_new_password(client, css, sej_agent, bernard):
    client.force_login(sej_agent)
    assert "Remettre le code famille" in text_of(
        client.get(f"/{CSS}/guichet/familles/{bernard.number}/")
    )

    response = client.post(url(bernard))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    credentials = response.context["credentials"]
    assert credentials.family_code == bernard.reference == "F000003"
    text = text_of(response)
    assert "Espace Citoyens Premium — vos identifiants" in text
    assert "Carrières-sur-Seine" in text
    assert "Famille BERNARD 3, rue de Chatou 78420 Carrières-sur-Seine" in text
    assert f"Code famille (identifiant) {credentials.family_code}" in text
    assert f"Mot de passe temporaire {credentials.temporary_password}" in text
    assert f"/{CSS}/connexion/" in text
    assert "À la première connexion, choisissez votre propre mot de passe" in text
    assert "Utilisez la commande Imprimer de votre navigateur" in text

    result = log_in_as_family(css, "F000003", credentials.temporary_password)
    assert result.user is not None
    assert result.user.must_choose_password is True
    assert (result.user.first_name, result.user.civility) == ("Aïcha", "mme")
    assert FamilyAccess.objects.filter(famille=bernard, user=result.user).exists()

    entry = AuditEntry.objects.get(action="family_code.issue")
    assert entry.actor == sej_agent and entry.famille_id == bernard.pk
    assert entry.changes == {
        "family_code": [None, "F000003"],
        "must_choose_password": [None, True],
    }
    assert credentials.temporary_password not in json_of(entry)
    page = text_of(client.get(f"/{CSS}/guichet/familles/{bernard.number}/"))
    assert credentials.temporary_password not in page
    assert "Code famille F000003" in page and "première connexion à faire" in page
    assert "Remettre un nouveau mot de passe temporaire" in page


def json_of(entry):
    import json

    return json.dumps(entry.changes)


def test_a_new_letter_replaces_the_temporary_password(client, css, sej_agent, bernard):
    client.force_login(sej_agent)
    first = client.post(url(bernard)).context["credentials"].temporary_password
    second = client.post(url(bernard)).context["credentials"].temporary_password
    assert first != second
    assert log_in_as_family(css, "F000003", first).user is None
    assert log_in_as_family(css, "F000003", second).user is not None
    assert User.objects.filter(family_code="F000003").count() == 1


def test_only_by_post_only_in_communes_with_family_codes(client, demo, css, sej_agent, bernard):
    client.force_login(sej_agent)
    assert client.get(url(bernard)).status_code == 405
    csp = demo["carrieres-sous-poissy"]
    csp_agent = make_agent(csp, AgentRole.Role.ADMINISTRATEUR)
    client.force_login(csp_agent)
    assert "Code famille" not in text_of(client.get("/carrieres-sous-poissy/guichet/familles/1/"))
    response = client.post("/carrieres-sous-poissy/guichet/familles/1/code-famille/")
    assert response.status_code == 404
    assert not User.objects.filter(commune=csp, family_code="F000001").exists()


def test_a_reading_role_cannot_issue_credentials(css, bernard):
    client = Client()
    client.force_login(make_agent(css, AgentRole.Role.REGIE))
    assert client.post(url(bernard)).status_code == 403
    assert not User.objects.filter(family_code=bernard.reference).exists()


def test_csrf_is_enforced(css, sej_agent, bernard):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sej_agent)
    assert client.post(url(bernard)).status_code == 403
    assert not User.objects.filter(family_code=bernard.reference).exists()
    assert Famille.objects.filter(commune=css).count() == 3


def test_the_letter_names_the_communes_own_portal(client, css, sej_agent, bernard):
    css.nom_portail = "Portail Famille"
    css.save(update_fields=["nom_portail"])
    client.force_login(sej_agent)

    text = text_of(client.post(url(bernard)))

    assert "Portail Famille — vos identifiants" in text
    assert "votre espace sur le portail « Portail Famille »" in text
    assert "Espace Citoyens Premium" not in text
