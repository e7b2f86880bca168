"""The family file: what it shows, the changes agents make to it, and its journal."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parvis.accounts.models import AgentRole, AuditEntry
from parvis.accounts.services import audit
from parvis.backoffice.tests.conftest import text_of
from parvis.families import services
from parvis.families.models import AuthorisedPerson, Famille, MemberKind, Personne, ServiceKey
from parvis.families.tests.factories import (
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db

FILE = "/villebois/guichet/familles/1/"


def test_the_file_shows_the_household(agent_client, famille, enfance_service, enfance_agent):
    francoise = PersonneFactory(
        famille=famille, first_names="Françoise", email="francoise@example.fr",
        phone="06 12 34 56 78",
    )  # fmt: skip
    ChildFactory(
        famille=famille, first_names="Hugo", school="Ecole du PARC", class_name="CE2",
        level="elementaire", has_pai=True, health_notes="Allergie à l'arachide (PAI).",
        birth_date=date(2018, 6, 2),
    )  # fmt: skip
    AuthorisedPerson.objects.create(
        commune=famille.commune, famille=famille, last_name="Martin", first_name="Jeanne",
        phone="01 39 74 00 00", relationship="Grand-mère",
    )  # fmt: skip
    used = ServiceKey.objects.create(
        commune=famille.commune, famille=famille, service=enfance_service, digest="a" * 64,
        hint="22K1", sent_to="francoise@example.fr", created_by=enfance_agent,
    )  # fmt: skip
    citizen = CitizenFactory(commune=famille.commune, email="francoise@example.fr")
    FamilyAccessFactory(famille=famille, user=citizen, personne=francoise, key=used)
    ServiceKey.objects.filter(pk=used.pk).update(used_at=timezone.now(), used_by=citizen)
    ServiceKey.objects.create(
        commune=famille.commune, famille=famille, service=enfance_service, digest="b" * 64,
        hint="9XYZ", revoked_at=timezone.now() + timedelta(minutes=1),  # after its creation
    )  # fmt: skip

    response = agent_client.get(FILE)

    assert response.status_code == 200
    text = text_of(response)
    assert "Famille DURAND dossier F000001" in text
    assert "3, rue des Écoles 78955 Carrières-sous-Poissy" in text
    assert "Madame Françoise DURAND" in text
    assert "Courriel francoise@example.fr Téléphone 06 12 34 56 78" in text
    assert "Hugo DURAND Date de naissance 02/06/2018 École Ecole du PARC" in text
    assert "Classe CE2 (Élémentaire)" in text
    assert "Projet d'accueil individualisé (PAI) Oui" in text
    assert "Allergie à l'arachide (PAI)." in text
    assert "Jeanne MARTIN Téléphone 01 39 74 00 00 Lien avec l'enfant Grand-mère" in text
    # The linked account: e-mail, responsable, when, through which key.
    assert "Responsable Françoise DURAND" in text
    assert "Par Clé Enfance se terminant par 22K1" in text
    # The keys: hint, service, who made it, where it went, its state.
    assert "Clé Enfance se terminant par 22K1 Service Périscolaire" in text
    assert f"par {enfance_agent.get_full_name()} Envoyée à francoise@example.fr" in text
    assert "Utilisée le" in text and "Révoquée le" in text
    # Only a usable key can be revoked.
    assert "Révoquer" not in text


def test_the_journal_shows_who_when_what_old_and_new_newest_first(
    agent_client, famille, enfance_agent
):
    services.update_famille(famille=famille, actor=enfance_agent, address="5, rue Neuve")
    hugo = services.add_member(
        famille=famille, actor=enfance_agent, kind=MemberKind.ENFANT, last_name="DURAND",
        first_names="Hugo", class_name="CE1",
    )  # fmt: skip
    services.update_member(personne=hugo, actor=enfance_agent, class_name="CE2", has_pai=True)
    other = FamilleFactory(commune=famille.commune, number=2)
    services.update_famille(famille=other, actor=enfance_agent, address="ailleurs")

    response = agent_client.get(FILE)

    journal = response.context["journal"]
    assert [line.what for line in journal] == [
        "Modification d'un membre du foyer",
        "Ajout d'un membre du foyer",
        "Modification du dossier",
    ]
    text = text_of(response)
    who = enfance_agent.get_full_name()
    assert f"Modification d'un membre du foyer — Hugo DURAND — par {who}" in text
    assert "classe : CE1 → CE2" in text
    assert "projet d'accueil individualisé (PAI) : non → oui" in text
    assert "rôle dans le foyer : — → Enfant" in text
    assert "adresse : 3, rue des Écoles → 5, rue Neuve" in text
    assert "ailleurs" not in text  # another family's journal


def test_billing_and_activities_rows_read_in_french_in_the_journal(
    agent_client, famille, enfance_agent
):
    audit(
        actor=enfance_agent, action="paiement.enregistre", commune=famille.commune,
        target=famille, famille_id=famille.pk, changes={"amount": [None, "66.18"]},
    )  # fmt: skip
    audit(
        actor=None, action="reservation.offer_expired", commune=famille.commune,
        target=famille, famille_id=famille.pk,
    )  # fmt: skip
    journal = agent_client.get(FILE).context["journal"]
    assert [line.what for line in journal][:2] == ["Place proposée expirée", "Paiement enregistré"]


# Every action and key the code writes has its words: test_journal.py scans the code.


def test_an_agent_creates_a_family_with_an_audit_row(agent_client, commune, enfance_agent):
    FamilleFactory(commune=commune, number=41)
    response = agent_client.post(
        "/villebois/guichet/familles/nouvelle/",
        {"name": " MARTIN ", "address": "8, rue Gabriel-Péri", "postal_code": "78420", "city": ""},
    )
    famille = Famille.objects.get(name="MARTIN")
    assert famille.number == 42
    assert response["Location"] == "/villebois/guichet/familles/42/"
    entry = AuditEntry.objects.get(action="famille.create")
    assert (entry.actor, entry.famille_id, entry.commune) == (enfance_agent, famille.pk, commune)
    assert entry.changes == {
        "name": [None, "MARTIN"],
        "address": [None, "8, rue Gabriel-Péri"],
        "postal_code": [None, "78420"],
    }
    page = text_of(agent_client.get(response["Location"]))
    assert "Le dossier F000042 de la famille MARTIN est créé." in page
    assert "Création du dossier" in page and "nom de la famille : — → MARTIN" in page


def test_an_invalid_form_redisplays_the_entries_with_french_errors(agent_client, commune):
    response = agent_client.post(
        "/villebois/guichet/familles/nouvelle/", {"name": "", "address": "8, rue Gabriel-Péri"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="8, rue Gabriel-Péri"' in html
    assert '<div class="form__errors" id="id_name_error">' in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="id_name_error"' in html
    assert "Ce champ est obligatoire." in text_of(response)
    assert not Famille.objects.exists()


def test_editing_the_family_records_old_and_new_values(agent_client, famille, enfance_agent):
    response = agent_client.post(
        f"{FILE}modifier/",
        {"name": "DURAND", "address": "5, rue Neuve", "postal_code": "78955", "city": "Poissy"},
    )
    assert response.status_code == 302
    famille.refresh_from_db()
    assert (famille.address, famille.city) == ("5, rue Neuve", "Poissy")
    entry = AuditEntry.objects.get(action="famille.update")
    assert entry.changes == {
        "address": ["3, rue des Écoles", "5, rue Neuve"],
        "city": ["Carrières-sous-Poissy", "Poissy"],
    }
    assert entry.actor == enfance_agent and entry.famille_id == famille.pk


def test_saving_without_change_writes_no_audit_row(agent_client, famille):
    agent_client.post(
        f"{FILE}modifier/",
        {"name": famille.name, "address": famille.address, "postal_code": famille.postal_code,
         "city": famille.city},
    )  # fmt: skip
    assert not AuditEntry.objects.exists()


def test_adding_and_editing_a_child(agent_client, famille, enfance_agent):
    form = agent_client.get(f"{FILE}membres/ajouter/enfant/")
    assert form.context["form"]["last_name"].value() == "DURAND"
    assert "civility" not in form.context["form"].fields
    response = agent_client.post(
        f"{FILE}membres/ajouter/enfant/",
        {"last_name": "DURAND", "first_names": "Léa", "birth_date": "2022-03-14",
         "school": "Ecole du PARC", "class_name": "Moyenne section", "level": "maternelle",
         "health_notes": ""},
    )  # fmt: skip
    assert response.status_code == 302
    lea = Personne.objects.get(first_names="Léa")
    assert (lea.kind, lea.famille, lea.commune) == (MemberKind.ENFANT, famille, famille.commune)
    created = AuditEntry.objects.get(action="personne.create")
    assert created.changes["first_names"] == [None, "Léa"]
    assert created.changes["birth_date"] == [None, "2022-03-14"]

    response = agent_client.post(
        f"{FILE}membres/{lea.pk}/modifier/",
        {"last_name": "DURAND", "first_names": "Léa", "birth_date": "2022-03-14",
         "school": "Ecole du PARC", "class_name": "Grande section", "level": "maternelle",
         "has_pai": "on", "health_notes": "Asthme"},
    )  # fmt: skip
    assert response.status_code == 302
    updated = AuditEntry.objects.get(action="personne.update")
    assert updated.changes == {
        "class_name": ["Moyenne section", "Grande section"],
        "has_pai": [False, True],
        "health_notes": ["", "Asthme"],
    }
    assert updated.actor == enfance_agent and updated.famille_id == famille.pk


def test_adding_a_responsable_validates_the_email(agent_client, famille):
    response = agent_client.post(
        f"{FILE}membres/ajouter/responsable/",
        {"civility": "mme", "last_name": "DURAND", "first_names": "Françoise", "email": "pas-un"},
    )
    assert response.status_code == 200
    assert "Saisissez une adresse de courriel valide." in text_of(response)
    assert 'value="Françoise"' in response.content.decode()
    assert not Personne.objects.exists()
    response = agent_client.post(
        f"{FILE}membres/ajouter/responsable/",
        {"civility": "mme", "last_name": "DURAND", "first_names": "Françoise",
         "email": "francoise@example.fr"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Personne.objects.get().kind == MemberKind.RESPONSABLE


def test_an_unknown_member_kind_or_another_familys_member_is_a_404(agent_client, famille):
    other = ChildFactory(famille=FamilleFactory(commune=famille.commune, number=2))
    assert agent_client.get(f"{FILE}membres/ajouter/voisin/").status_code == 404
    assert agent_client.get(f"{FILE}membres/{other.pk}/modifier/").status_code == 404


def test_authorised_people_are_added_edited_and_removed_with_audit_rows(agent_client, famille):
    response = agent_client.post(
        f"{FILE}personnes-autorisees/ajouter/",
        {"last_name": "MARTIN", "first_name": "Jeanne", "phone": "01 39 74 00 00",
         "relationship": "Grand-mère"},
    )  # fmt: skip
    assert response.status_code == 302
    person = AuthorisedPerson.objects.get()
    agent_client.post(
        f"{FILE}personnes-autorisees/{person.pk}/modifier/",
        {"last_name": "MARTIN", "first_name": "Jeanne", "phone": "06 00 00 00 00",
         "relationship": "Grand-mère"},
    )  # fmt: skip
    assert agent_client.get(f"{FILE}personnes-autorisees/{person.pk}/retirer/").status_code == 405
    agent_client.post(f"{FILE}personnes-autorisees/{person.pk}/retirer/")
    assert not AuthorisedPerson.objects.exists()
    rows = {e.action: e.changes for e in AuditEntry.objects.filter(famille_id=famille.pk)}
    assert rows["personne_autorisee.create"]["phone"] == [None, "01 39 74 00 00"]
    assert rows["personne_autorisee.update"] == {"phone": ["01 39 74 00 00", "06 00 00 00 00"]}
    assert rows["personne_autorisee.delete"]["phone"] == ["06 00 00 00 00", None]
    text = text_of(agent_client.get(FILE))
    assert "Retrait d'une personne autorisée" in text
    assert "téléphone : 01 39 74 00 00 → 06 00 00 00 00" in text


def _fill(famille, agent, service, n):
    for i in range(n):
        responsable = PersonneFactory(famille=famille, first_names=f"Parent{i}")
        ChildFactory(famille=famille)
        AuthorisedPerson.objects.create(
            commune=famille.commune, famille=famille, last_name=f"P{i}", first_name="A",
            phone="0102030405",
        )  # fmt: skip
        key = ServiceKey.objects.create(
            commune=famille.commune, famille=famille, service=service,
            digest=f"{famille.number}-{i}", hint=f"{i:04d}", created_by=agent, used_by=agent,
            used_at=timezone.now() + timedelta(minutes=1),  # after its creation
        )  # fmt: skip
        FamilyAccessFactory(famille=famille, personne=responsable, key=key)
        audit(
            actor=agent, action="famille.update", commune=famille.commune, target=famille,
            famille_id=famille.pk, changes={"address": [f"a{i}", f"b{i}"]},
        )  # fmt: skip


def test_the_file_costs_the_same_whatever_its_size(
    agent_client, commune, enfance_agent, enfance_service, django_assert_max_num_queries
):
    small = FamilleFactory(commune=commune, number=1)
    _fill(small, enfance_agent, enfance_service, 1)
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get("/villebois/guichet/familles/1/").status_code == 200
    with_one = len(queries)

    big = FamilleFactory(commune=commune, number=2)
    _fill(big, enfance_agent, enfance_service, 15)
    with django_assert_max_num_queries(with_one):
        response = agent_client.get("/villebois/guichet/familles/2/")
    assert len(response.context["journal"]) == 15
    # 15 before the documents: + the family's documents, its QF history and the commune's
    # administrative-file requirements (one query each,
    # parvis.demarches.guichet.selectors_documents).
    assert with_one <= 18


def test_the_demo_file_of_the_durand_family(client, demo):
    from parvis.accounts.models import User

    client.force_login(User.objects.get(username="csp-scolaire"))
    text = text_of(client.get("/carrieres-sous-poissy/guichet/familles/1/"))
    assert "Famille DURAND" in text
    assert "Léa DURAND" in text and "Hugo DURAND" in text
    assert "Allergie à l'arachide (PAI)." in text
    assert "francoise.durand@example.fr" in text
    assert "Clé Espace Citoyens Enfance se terminant par 22K1" in text
    assert AgentRole.objects.filter(user__username="csp-scolaire").exists()
