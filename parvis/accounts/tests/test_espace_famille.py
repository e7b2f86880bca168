"""What a family edits itself from « Gérer mes informations », tab « Compte », when its commune
allows it: the people authorised to pick the children up (add, edit, remove) and a child's health
information. Every change is the citizen's, audited old → new on the family's file, where the
agents read it. Each test fails without the behaviour it names."""

import pytest
from django.test import Client
from django.urls import reverse

from parvis.accounts.models import AuditEntry, User
from parvis.accounts.tests.test_espace import CSP, CSS, input_tag, log_in, text_of, url
from parvis.backoffice.tests.conftest import text_of as agent_text_of
from parvis.communes.models import Commune
from parvis.communes.tests.factories import CommuneFactory
from parvis.families import demo as families_demo
from parvis.families.models import AuthorisedPerson, Famille, MemberKind, Personne

pytestmark = pytest.mark.django_db

PAUL = {
    "last_name": "GARNIER",
    "first_name": "Paul",
    "phone": "0611223344",
    "relationship": "Oncle",
}


@pytest.fixture
def demo(demo_communes):
    families_demo.load()
    return demo_communes


@pytest.fixture
def francoise(demo):
    return User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)


@pytest.fixture
def client_francoise(client, francoise):
    return log_in(client, francoise)


def durand() -> Famille:
    return Famille.objects.get(commune__slug=CSP, name="DURAND")


def jeanne() -> AuthorisedPerson:
    return AuthorisedPerson.objects.get(famille=durand(), first_name="Jeanne")


def child(first_names: str) -> Personne:
    return Personne.objects.get(commune__slug=CSP, first_names=first_names)


def espace_url(name: str, famille: Famille, pk=None, commune: str = CSP) -> str:
    kwargs = {"commune": commune, "number": famille.number}
    if pk is not None:
        kwargs["pk"] = pk
    return reverse(f"accounts:{name}", kwargs=kwargs)


def add_url(famille=None):
    return espace_url("personne_autorisee_ajouter", famille or durand())


def edit_url(person):
    return espace_url("personne_autorisee_modifier", person.famille, person.pk)


def remove_url(person):
    return espace_url("personne_autorisee_retirer", person.famille, person.pk)


def health_url(member):
    return espace_url("enfant_sante", member.famille, member.pk, member.commune.slug)


def set_commune(slug: str, **settings) -> None:
    Commune.objects.filter(slug=slug).update(**settings)


def compte_tab(client) -> str:
    return text_of(client.get(url("mes_informations")))


def agent_file(famille: Famille, username: str = "csp-enfance") -> str:
    """The family file as the guichet shows it to an agent of the family's commune."""
    agent = Client()
    agent.force_login(User.objects.get(username=username))
    response = agent.get(reverse("backoffice:famille", args=[famille.commune.slug, famille.number]))
    assert response.status_code == 200
    return agent_text_of(response)


def snapshot() -> list:
    """Every authorised person and every child's health information, to prove nothing moved."""
    people = list(
        AuthorisedPerson.objects.order_by("pk").values_list(
            "pk", "famille_id", "last_name", "first_name", "phone", "relationship"
        )
    )
    health = list(
        Personne.objects.order_by("pk").values_list("pk", "has_pai", "health_notes", "last_name")
    )
    return [people, health]


# --- Commune settings -----------------------------------------------------------------------------


def test_the_settings_default_to_authorised_people_only():
    commune = CommuneFactory()
    assert commune.families_edit_authorised_people is True
    assert commune.families_edit_health is False


def test_the_demo_communes_settings(demo):
    assert Commune.objects.filter(
        slug=CSP, families_edit_authorised_people=True, families_edit_health=True
    ).exists()
    assert Commune.objects.filter(
        slug=CSS, families_edit_authorised_people=True, families_edit_health=False
    ).exists()


def test_the_admin_shows_the_settings_in_their_own_section(client, demo):
    admin = User.objects.get(username="admin-carrieres-sous-poissy")
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    commune = Commune.objects.get(slug=CSP)
    response = client.get(reverse("admin:communes_commune_change", args=[commune.pk]))
    assert response.status_code == 200
    text = text_of(response)
    assert "Espace des familles" in text
    assert "Les familles gèrent elles-mêmes les personnes autorisées" in text
    assert 'name="families_edit_health"' in response.text


# --- The « Compte » tab ---------------------------------------------------------------------------


def test_the_compte_tab_links_to_what_the_family_may_edit(client_francoise):
    response = client_francoise.get(url("mes_informations"))
    text = text_of(response)
    person, lea = jeanne(), child("Léa")
    assert f'href="{add_url()}"' in response.text
    assert f'href="{edit_url(person)}"' in response.text
    assert f'href="{remove_url(person)}"' in response.text
    assert f'href="{health_url(lea)}"' in response.text
    assert "Ajouter une personne autorisée au foyer DURAND" in text
    assert "Modifier Jeanne MARTIN" in text and "Retirer Jeanne MARTIN" in text
    assert "Modifier les informations de santé de Léa" in text
    assert "Vous gérez vous-même les personnes autorisées" in text
    assert "Vous mettez à jour vous-même les informations de santé des enfants" in text


def test_when_the_commune_allows_nothing_the_tab_says_to_contact_the_services(client_francoise):
    set_commune(CSP, families_edit_authorised_people=False, families_edit_health=False)
    response = client_francoise.get(url("mes_informations"))
    text = text_of(response)
    assert "/mon-espace/foyers/" not in response.text
    assert "Ajouter une personne autorisée" not in text
    assert "Modifier les informations de santé" not in text
    assert (
        "Les personnes autorisées à récupérer les enfants sont également tenues par les "
        "services : pour en ajouter, en modifier ou en retirer une, contactez-les." in text
    )
    assert (
        "Les informations de santé des enfants (PAI, allergies) sont également tenues par les "
        "services : pour les faire modifier, contactez-les." in text
    )
    assert "Pour faire modifier ce que tiennent les services, contactez :" in text
    assert "Accueils périscolaires et de loisirs Téléphone : 01 39 22 36 66" in text
    # Still shown, read-only.
    assert "Jeanne MARTIN — Grand-mère — Téléphone : 01 39 74 00 00" in text


# --- Settings off: no form, no URL ---------------------------------------------------------------


def test_authorised_people_urls_are_not_found_when_the_commune_does_not_allow_them(
    client_francoise,
):
    set_commune(CSP, families_edit_authorised_people=False)
    person, before = jeanne(), snapshot()
    for path in (add_url(), edit_url(person), remove_url(person)):
        assert client_francoise.get(path).status_code == 404, path
        assert client_francoise.post(path, PAUL).status_code == 404, path
    assert snapshot() == before
    assert not AuditEntry.objects.filter(action__startswith="personne_autorisee.").exists()
    # The other feature stays open: the settings are independent.
    assert client_francoise.get(health_url(child("Léa"))).status_code == 200


def test_the_health_url_is_not_found_when_the_commune_does_not_allow_it(client_francoise):
    set_commune(CSP, families_edit_health=False)
    lea, before = child("Léa"), snapshot()
    assert client_francoise.get(health_url(lea)).status_code == 404
    response = client_francoise.post(health_url(lea), {"has_pai": "on", "health_notes": "Non"})
    assert response.status_code == 404
    assert snapshot() == before
    assert not AuditEntry.objects.filter(action="personne.update").exists()
    assert "Modifier les informations de santé" not in compte_tab(client_francoise)
    assert client_francoise.get(add_url()).status_code == 200


def test_carrieres_sur_seine_families_manage_authorised_people_but_not_health(client, demo):
    sophie = User.objects.get(commune__slug=CSS, family_code=families_demo.FAMILY_CODE_READY)
    log_in(client, sophie)
    martin = Famille.objects.get(commune__slug=CSS, name="MARTIN")
    jules = Personne.objects.get(famille=martin, first_names="Jules")
    add = espace_url("personne_autorisee_ajouter", martin, commune=CSS)
    assert client.get(add).status_code == 200
    assert client.get(health_url(jules)).status_code == 404
    text = text_of(client.get(url("mes_informations", CSS)))
    assert "Ajouter une personne autorisée" in text
    assert "Modifier les informations de santé" not in text


# --- Authorised people: add, edit, remove --------------------------------------------------------


def test_adding_an_authorised_person_is_audited_and_seen_on_the_agents_file(
    client_francoise, francoise
):
    page = client_francoise.get(add_url())
    assert page.status_code == 200
    assert "Foyer DURAND (dossier F000001)" in text_of(page)
    response = client_francoise.post(add_url(), PAUL)
    assert response.status_code == 302
    assert response["Location"] == url(
        "mes_informations", query=f"?onglet=compte#foyer-{durand().pk}"
    )
    paul = AuthorisedPerson.objects.get(famille=durand(), first_name="Paul")
    assert (paul.last_name, paul.phone, paul.relationship, paul.commune.slug) == (
        "GARNIER",
        "06 11 22 33 44",  # as every phone number is stored
        "Oncle",
        CSP,
    )
    entry = AuditEntry.objects.get(action="personne_autorisee.create")
    assert entry.actor == francoise
    assert entry.famille_id == durand().pk
    assert entry.target_id == str(paul.pk)
    assert entry.changes == {
        "last_name": [None, "GARNIER"],
        "first_name": [None, "Paul"],
        "phone": [None, "06 11 22 33 44"],
        "relationship": [None, "Oncle"],
    }
    text = compte_tab(client_francoise)
    assert "Paul GARNIER peut désormais récupérer les enfants." in text
    assert "Paul GARNIER — Oncle — Téléphone : 06 11 22 33 44" in text
    journal = agent_file(durand())
    assert (
        "Ajout d'une personne autorisée — Paul GARNIER — par Françoise DURAND (famille)" in journal
    )
    assert "téléphone : — → 06 11 22 33 44" in journal
    assert "lien avec l'enfant : — → Oncle" in journal


def test_editing_an_authorised_person_is_audited_old_to_new(client_francoise, francoise):
    person = jeanne()
    page = client_francoise.get(edit_url(person))
    assert page.status_code == 200
    assert 'value="01 39 74 00 00"' in input_tag(page, "phone")
    assert 'value="Grand-mère"' in input_tag(page, "relationship")
    response = client_francoise.post(
        edit_url(person),
        {"last_name": "MARTIN", "first_name": "Jeanne", "phone": "06.98.00.00.01",
         "relationship": "Grand-mère maternelle"},
    )  # fmt: skip
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.phone == "06 98 00 00 01"
    assert person.relationship == "Grand-mère maternelle"
    entry = AuditEntry.objects.get(action="personne_autorisee.update")
    assert entry.actor == francoise and entry.famille_id == durand().pk
    assert entry.changes == {
        "phone": ["01 39 74 00 00", "06 98 00 00 01"],
        "relationship": ["Grand-mère", "Grand-mère maternelle"],
    }
    assert "Les informations de Jeanne MARTIN sont enregistrées." in compte_tab(client_francoise)
    journal = agent_file(durand())
    assert (
        "Modification d'une personne autorisée — Jeanne MARTIN — par Françoise DURAND (famille)"
        in (journal)
    )
    assert "téléphone : 01 39 74 00 00 → 06 98 00 00 01" in journal


def test_removing_an_authorised_person_asks_first_then_is_audited(client_francoise, francoise):
    person = jeanne()
    confirm = client_francoise.get(remove_url(person))
    assert confirm.status_code == 200
    text = text_of(confirm)
    assert "Jeanne MARTIN ne pourra plus récupérer les enfants du foyer DURAND" in text
    assert "Retirer Jeanne MARTIN" in text
    assert f'action="{remove_url(person)}"' in confirm.text
    assert AuthorisedPerson.objects.filter(pk=person.pk).exists()  # the GET removed nothing

    response = client_francoise.post(remove_url(person))
    assert response.status_code == 302
    assert not AuthorisedPerson.objects.filter(pk=person.pk).exists()
    entry = AuditEntry.objects.get(action="personne_autorisee.delete")
    assert entry.actor == francoise and entry.famille_id == durand().pk
    assert entry.changes == {
        "last_name": ["MARTIN", None],
        "first_name": ["Jeanne", None],
        "phone": ["01 39 74 00 00", None],
        "relationship": ["Grand-mère", None],
    }
    text = compte_tab(client_francoise)
    assert "Jeanne MARTIN ne figure plus parmi les personnes autorisées." in text
    assert "Aucune personne autorisée enregistrée." in text
    journal = agent_file(durand())
    assert (
        "Retrait d'une personne autorisée — Jeanne MARTIN — par Françoise DURAND (famille)"
        in journal
    )
    assert "téléphone : 01 39 74 00 00 → —" in journal


def test_errors_are_shown_next_to_the_fields_with_the_entries_kept(client_francoise):
    before = snapshot()
    response = client_francoise.post(
        add_url(), {"last_name": "", "first_name": "Paul", "phone": "123", "relationship": "Oncle"}
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Indiquez le nom de la personne." in text
    assert "Indiquez un numéro de téléphone français à 10 chiffres" in text
    assert 'value="Paul"' in input_tag(response, "first_name")
    assert 'value="Oncle"' in input_tag(response, "relationship")
    phone = input_tag(response, "phone")
    assert 'value="123"' in phone and 'aria-invalid="true"' in phone
    assert "Erreur :" in response.text.split("</title>")[0]

    # Editing: the entries typed stay, not the values on file.
    response = client_francoise.post(
        edit_url(jeanne()),
        {"last_name": "MARTINEZ", "first_name": "", "phone": "01 39 74 00 00"},
    )
    assert response.status_code == 200
    assert "Indiquez le prénom de la personne." in text_of(response)
    assert 'value="MARTINEZ"' in input_tag(response, "last_name")
    assert snapshot() == before
    assert not AuditEntry.objects.filter(famille_id=durand().pk).exists()


# --- Health information ---------------------------------------------------------------------------


def test_editing_a_childs_health_information_is_audited_and_seen_by_agents(
    client_francoise, francoise
):
    lea = child("Léa")
    page = client_francoise.get(health_url(lea))
    assert page.status_code == 200
    assert "Informations de santé de Léa DURAND" in text_of(page)
    assert "checked" not in input_tag(page, "has_pai")
    response = client_francoise.post(
        health_url(lea), {"has_pai": "on", "health_notes": "Allergie aux œufs.\nAsthme."}
    )
    assert response.status_code == 302
    lea.refresh_from_db()
    assert lea.has_pai is True
    assert lea.health_notes == "Allergie aux œufs.\nAsthme."
    entry = AuditEntry.objects.get(action="personne.update")
    assert entry.actor == francoise
    assert entry.famille_id == durand().pk and entry.target_id == str(lea.pk)
    assert entry.changes == {"has_pai": [False, True], "health_notes": ["", lea.health_notes]}
    text = compte_tab(client_francoise)
    assert "Les informations de santé de Léa DURAND sont enregistrées." in text
    journal = agent_file(durand())
    assert (
        "Modification d'un membre du foyer — Léa DURAND — par Françoise DURAND (famille)" in journal
    )
    assert "projet d'accueil individualisé (PAI) : non → oui" in journal

    # Unticking the PAI box (an unticked box is not sent) clears it.
    hugo = child("Hugo")
    client_francoise.post(health_url(hugo), {"health_notes": hugo.health_notes})
    hugo.refresh_from_db()
    assert hugo.has_pai is False
    # Only the health fields can change through this form.
    client_francoise.post(health_url(hugo), {"health_notes": "", "school": "Ailleurs"})
    hugo.refresh_from_db()
    assert hugo.school == "Ecole du PARC" and hugo.health_notes == ""


def test_health_errors_keep_the_entries(client_francoise):
    hugo = child("Hugo")
    too_long = "x" * 2001
    response = client_francoise.post(health_url(hugo), {"has_pai": "on", "health_notes": too_long})
    assert response.status_code == 200
    assert too_long in response.text
    assert 'aria-invalid="true"' in response.text
    hugo.refresh_from_db()
    assert hugo.health_notes == "Allergie à l'arachide (PAI)."


def test_a_responsables_health_is_not_a_childs(client_francoise):
    marc = Personne.objects.get(famille=durand(), kind=MemberKind.RESPONSABLE, first_names="Marc")
    response = client_francoise.post(health_url(marc), {"has_pai": "on", "health_notes": "X"})
    assert response.status_code == 404
    marc.refresh_from_db()
    assert not marc.has_pai and marc.health_notes == ""


# --- Another family's, another commune's rows -----------------------------------------------------


def test_rows_of_another_family_or_commune_are_not_found_and_unchanged(client_francoise):
    Commune.objects.update(families_edit_authorised_people=True, families_edit_health=True)
    leroy = Famille.objects.get(commune__slug=CSP, name="LEROY")
    ines = Personne.objects.get(famille=leroy, first_names="Inès")
    theirs = AuthorisedPerson.objects.create(
        commune=leroy.commune, famille=leroy, last_name="LEROY", first_name="Yves",
        phone="06 00 00 00 01",
    )  # fmt: skip
    martin = Famille.objects.get(commune__slug=CSS, name="MARTIN")
    jules = Personne.objects.get(famille=martin, first_names="Jules")
    far = AuthorisedPerson.objects.create(
        commune=martin.commune, famille=martin, last_name="MARTIN", first_name="Luc",
        phone="06 00 00 00 02",
    )  # fmt: skip
    own = durand()
    before = snapshot()
    paths = [
        # Another family of the commune: its number, or its rows under her own family's number.
        add_url(leroy),
        edit_url(theirs),
        remove_url(theirs),
        health_url(ines),
        espace_url("personne_autorisee_modifier", own, theirs.pk),
        espace_url("personne_autorisee_retirer", own, theirs.pk),
        espace_url("enfant_sante", own, ines.pk),
        # Another commune's rows, under her commune's address.
        espace_url("personne_autorisee_modifier", own, far.pk),
        espace_url("personne_autorisee_retirer", own, far.pk),
        espace_url("enfant_sante", own, jules.pk),
    ]
    for path in paths:
        assert client_francoise.get(path).status_code == 404, path
        response = client_francoise.post(path, {**PAUL, "has_pai": "on", "health_notes": "X"})
        assert response.status_code == 404, path
    assert snapshot() == before
    assert not AuditEntry.objects.filter(action__startswith="personne").exists()


def test_another_communes_account_is_sent_to_its_login(client_francoise):
    martin = Famille.objects.get(commune__slug=CSS, name="MARTIN")
    path = espace_url("personne_autorisee_ajouter", martin, commune=CSS)
    response = client_francoise.post(path, PAUL)
    assert response.status_code == 302
    assert response["Location"].startswith(url("connexion", CSS))
    assert not AuthorisedPerson.objects.filter(last_name="GARNIER").exists()


# --- CSRF ---------------------------------------------------------------------------------------


def test_posts_need_the_csrf_token(francoise):
    client = log_in(Client(enforce_csrf_checks=True), francoise)
    person, lea, before = jeanne(), child("Léa"), snapshot()
    for path, data in (
        (add_url(), PAUL),
        (edit_url(person), {**PAUL, "last_name": "MARTIN"}),
        (remove_url(person), {}),
        (health_url(lea), {"has_pai": "on", "health_notes": "X"}),
    ):
        assert client.post(path, data).status_code == 403, path
    assert snapshot() == before
