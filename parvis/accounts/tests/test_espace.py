"""The citizen's own space: « Gérer mes informations » (Compte, Coordonnées), « Modification de
votre espace » (password, e-mail, service keys, removing a family) and the data rights (export,
deletion). Each test fails without the behaviour it names."""

import io
import json
import re
import zipfile

import pytest
from django.contrib import auth
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts import services
from parvis.accounts.models import AuditEntry, User
from parvis.communes.demo import DEMO_PASSWORD
from parvis.communes.models import Service
from parvis.families import demo as families_demo
from parvis.families.models import Famille, FamilyAccess, Personne, ServiceKey
from parvis.families.services import generate_service_key, redeem_service_key
from parvis.families.tests.factories import (
    AgentFactory,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db

CSP = "carrieres-sous-poissy"
CSS = "carrieres-sur-seine"
BACKEND = "parvis.accounts.backends.CommuneBackend"
NEW_PASSWORD = "Un-nouveau-mot-de-passe-2026"


def url(name: str, commune: str = CSP, query: str = "") -> str:
    return reverse(f"accounts:{name}", kwargs={"commune": commune}) + query


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def exported(client, user) -> dict:
    """« Télécharger mes données »: asked, built (the task runs on commit), downloaded; the
    account's and households' part of the ZIP (parvis.rgpd, whose tests read the rest)."""
    from django.test import TestCase

    from parvis.rgpd.models import DataExport

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert client.post(url("telecharger_donnees", user.commune.slug)).status_code == 302
    export = DataExport.objects.filter(user=user).latest("pk")
    response = client.get(
        reverse("accounts:archive_donnees", kwargs={"commune": user.commune.slug, "pk": export.pk})
    )
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return json.loads(archive.read("compte_et_foyers.json"))


def input_tag(response, name: str) -> str:
    """The <input>/<select> tag of the field named `name`."""
    match = re.search(rf'<(?:input|select)[^>]*name="{re.escape(name)}"[^>]*>', response.text)
    assert match, f"no field {name}"
    return match.group(0)


def log_in(client, user):
    client.force_login(user, backend=BACKEND)
    return client


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


def keys_post(raw_key: str, service: Service) -> dict:
    return {"section": "services", f"cle-service_{service.pk}": raw_key}


def enfance(commune_slug=CSP) -> Service:
    return Service.objects.get(commune__slug=commune_slug, kind="enfance")


# --- Compte: the household --------------------------------------------------------------------


def test_compte_tab_shows_the_household(client_francoise):
    response = client_francoise.get(url("mes_informations"))
    assert response.status_code == 200
    text = text_of(response)
    assert "Foyer DURAND" in text
    assert "F000001" in text
    assert "12, rue de l'Église" in text
    # Responsables, then children with school, class, level and health notes.
    assert "Madame Françoise DURAND" in text
    assert "Monsieur Marc DURAND" in text
    assert (
        "Léa DURAND Nom DURAND Prénoms Léa Date de naissance 14/03/2022 École Ecole du PARC "
        "Classe Moyenne section (Maternelle)" in text
    )
    assert "Hugo DURAND" in text
    assert "CE2 (Élémentaire)" in text
    assert "Projet d'accueil individualisé (PAI) Allergie à l'arachide (PAI)." in text
    assert "Jeanne MARTIN — Grand-mère — Téléphone : 01 39 74 00 00" in text
    # Read-only for now: who to contact, with the services' phone and e-mail.
    assert "Accueils périscolaires et de loisirs Téléphone : 01 39 22 36 66" in text
    assert "service-scolaire@carrieres-sous-poissy.fr" in text
    assert "Pièces justificatives" in text
    # Tabs are links; the active one says so.
    assert re.search(r'href="[^"]*\?onglet=compte"\s+aria-current="page"', response.text)
    assert "LEROY" not in text and "Inès" not in text


def test_coordonnees_tab_shows_the_account_holder_data(client_francoise):
    response = client_francoise.get(url("mes_informations", query="?onglet=coordonnees"))
    assert response.status_code == 200
    assert re.search(r'href="[^"]*\?onglet=coordonnees"\s+aria-current="page"', response.text)
    assert 'value="12, rue de l&#x27;Église"' in input_tag(response, "address")
    assert 'value="78955"' in input_tag(response, "postal_code")
    assert 'value="06 12 34 56 78"' in input_tag(response, "phone")
    assert '<option value="mme" selected>' in response.text
    text = text_of(response)
    assert families_demo.CITIZEN_EMAIL in text
    # The e-mail is changed in « Modification de votre espace », not here.
    assert 'name="email"' not in response.text
    assert "Modification de votre espace" in text


def test_account_without_family_is_told_how_to_link_one(client):
    user = CitizenFactory()
    response = log_in(client, user).get(url("mes_informations", user.commune.slug))
    assert "Aucun foyer lié à votre espace" in text_of(response)


def test_an_account_sees_only_its_own_families(client):
    mine = FamilleFactory(name="ALPHA")
    PersonneFactory(famille=mine, first_names="Alice")
    ChildFactory(famille=mine, first_names="Arthur")
    other = FamilleFactory(commune=mine.commune, name="BRAVO")
    PersonneFactory(famille=other, first_names="Bertrand", email="bertrand@example.fr")
    ChildFactory(famille=other, first_names="Brigitte")
    other.authorised_people.create(
        commune=other.commune, last_name="ZED", first_name="Zoé", phone="01 02 03 04 05"
    )
    generate_service_key(
        famille=other,
        service=Service.objects.create(commune=other.commune, name="Enfance", key_label="Clé"),
        actor=AgentFactory(commune=other.commune),
    )
    user = FamilyAccessFactory(famille=mine).user
    FamilyAccessFactory(famille=other)  # another parent, another family
    log_in(client, user)
    slug = mine.commune.slug
    pages = [
        client.get(url("mes_informations", slug)),
        client.get(url("mes_informations", slug, "?onglet=coordonnees")),
        client.get(url("modifier_espace", slug)),
    ]
    for response in pages:
        assert response.status_code == 200
        body = response.content.decode()
        for foreign in ("BRAVO", "Bertrand", "Brigitte", "Zoé", "bertrand@", other.reference):
            assert foreign not in body, (response.request["PATH_INFO"], foreign)
    assert "Arthur" in text_of(pages[0])
    export = exported(client, user)
    body = json.dumps(export, ensure_ascii=False)
    for foreign in ("BRAVO", "Bertrand", "Brigitte", "Zoé", "bertrand@", other.reference):
        assert foreign not in body, foreign
    assert [f["name"] for f in export["families"]] == ["ALPHA"]


def test_removing_another_accounts_link_is_not_found(client):
    user = CitizenFactory()
    others_link = FamilyAccessFactory(famille=FamilleFactory(commune=user.commune))
    response = log_in(client, user).post(
        url("modifier_espace", user.commune.slug), {"section": "retirer", "acces": others_link.pk}
    )
    assert response.status_code == 404
    assert FamilyAccess.objects.filter(pk=others_link.pk).exists()


# --- Tenancy and login ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["mes_informations", "modifier_espace", "telecharger_donnees", "supprimer_espace"]
)
def test_an_account_of_another_commune_is_sent_to_that_communes_login(client_francoise, name):
    for method in (client_francoise.get, client_francoise.post):
        response = method(url(name, CSS))
        assert response.status_code == 302
        assert response["Location"].startswith(url("connexion", CSS) + "?next=")
        assert b"DURAND" not in response.content
    # Nothing was done on her account either.
    assert User.objects.filter(email=families_demo.CITIZEN_EMAIL).exists()


@pytest.mark.parametrize(
    "name", ["mes_informations", "modifier_espace", "telecharger_donnees", "supprimer_espace"]
)
def test_anonymous_visitors_are_sent_to_the_login(client, demo, name):
    response = client.get(url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(url("connexion") + "?next=")


def test_agents_do_not_get_a_citizen_space(client, demo):
    agent = User.objects.get(username="csp-enfance")
    client.force_login(agent, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(url("mes_informations")).status_code == 302


def test_pages_are_not_cached(client_francoise):
    response = client_francoise.get(url("mes_informations"))
    assert "no-store" in response["Cache-Control"]


# --- Coordonnées ------------------------------------------------------------------------------


def coordinates(**changes) -> dict:
    data = {
        "civility": "mme",
        "last_name": "DURAND",
        "first_name": "Françoise",
        "address": "12, rue de l'Église",
        "postal_code": "78955",
        "city": "Carrières-sous-Poissy",
        "phone": "06 12 34 56 78",
    }
    return {**data, **changes}


def test_coordinates_errors_are_shown_next_to_the_fields_with_the_entries_kept(
    client_francoise, francoise
):
    response = client_francoise.post(
        url("mes_informations", query="?onglet=coordonnees"),
        coordinates(last_name="", postal_code="7895", phone="pas un numéro", city="Triel"),
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Indiquez votre nom." in text
    assert "Le code postal comporte 5 chiffres, par exemple : 78955." in text
    assert "Indiquez un numéro de téléphone français à 10 chiffres" in text
    postal = input_tag(response, "postal_code")
    assert 'value="7895"' in postal
    assert 'aria-invalid="true"' in postal
    assert 'aria-describedby="id_postal_code_helptext id_postal_code_error"' in postal
    assert 'id="id_postal_code_error"' in response.text
    assert 'aria-describedby="id_phone_helptext id_phone_error"' in input_tag(response, "phone")
    assert 'value="Triel"' in input_tag(response, "city")
    assert "<title>" in response.text and "Erreur :" in response.text.split("</title>")[0]
    francoise.refresh_from_db()
    assert francoise.city == "Carrières-sous-Poissy"
    assert not AuditEntry.objects.filter(action="account.update_coordinates").exists()


def test_coordinates_change_is_saved_with_an_audit_of_old_and_new_values(
    client_francoise, francoise
):
    response = client_francoise.post(
        url("mes_informations", query="?onglet=coordonnees"),
        coordinates(
            address="4, avenue de Poissy",
            phone="07 00 00 00 01",
            email="pirate@example.fr",  # not a field of this form: ignored
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == url("mes_informations", query="?onglet=coordonnees")
    francoise.refresh_from_db()
    assert francoise.address == "4, avenue de Poissy"
    assert francoise.phone == "07 00 00 00 01"
    assert francoise.email == families_demo.CITIZEN_EMAIL
    entry = AuditEntry.objects.get(action="account.update_coordinates")
    assert entry.actor == francoise
    assert entry.target_id == str(francoise.pk)
    assert entry.changes == {
        "address": ["12, rue de l'Église", "4, avenue de Poissy"],
        "phone": ["06 12 34 56 78", "07 00 00 00 01"],
    }
    assert "Vos coordonnées sont enregistrées." in text_of(
        client_francoise.get(response["Location"])
    )
    # The family's own address, held by the service, did not move.
    assert Famille.objects.get(name="DURAND").address == "12, rue de l'Église"


def test_update_coordinates_never_changes_the_email(francoise):
    with pytest.raises(ValueError):
        services.update_coordinates(user=francoise, email="autre@example.fr")


def test_update_coordinates_without_change_writes_nothing(francoise):
    services.update_coordinates(user=francoise, city=francoise.city)
    assert not AuditEntry.objects.filter(action="account.update_coordinates").exists()


# --- Authentification: password ---------------------------------------------------------------


def password_post(old=DEMO_PASSWORD, new1=NEW_PASSWORD, new2=NEW_PASSWORD) -> dict:
    return {
        "section": "authentification",
        "mdp-old_password": old,
        "mdp-new_password1": new1,
        "mdp-new_password2": new2,
    }


def test_password_change_needs_the_current_password(client_francoise, francoise):
    response = client_francoise.post(url("modifier_espace"), password_post(old="pas-le-bon-2026"))
    assert response.status_code == 200
    assert "Ce n'est pas votre mot de passe actuel." in text_of(response)
    assert 'aria-invalid="true"' in input_tag(response, "mdp-old_password")
    francoise.refresh_from_db()
    assert francoise.check_password(DEMO_PASSWORD)


def test_password_change_applies_djangos_validators(client_francoise, francoise):
    response = client_francoise.post(
        url("modifier_espace"), password_post(new1="1234", new2="1234")
    )
    text = text_of(response)
    assert "trop court" in text
    response = client_francoise.post(
        url("modifier_espace"), password_post(new2="Un-autre-mot-de-passe-2026")
    )
    assert "Les deux mots de passe ne sont pas identiques." in text_of(response)
    francoise.refresh_from_db()
    assert francoise.check_password(DEMO_PASSWORD)


def test_password_change_keeps_this_session_and_ends_the_others(francoise):
    here, elsewhere = log_in(Client(), francoise), log_in(Client(), francoise)
    assert elsewhere.get(url("mes_informations")).status_code == 200
    response = here.post(url("modifier_espace"), password_post())
    assert response.status_code == 302
    francoise.refresh_from_db()
    assert francoise.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="account.set_password", actor=francoise).exists()
    assert here.get(url("mes_informations")).status_code == 200
    response = elsewhere.get(url("mes_informations"))
    assert response.status_code == 302
    assert response["Location"].startswith(url("connexion"))


# --- Courriel ---------------------------------------------------------------------------------


def email_post(new_email, password=DEMO_PASSWORD) -> dict:
    return {"section": "courriel", "courriel-new_email": new_email, "courriel-password": password}


def test_email_change_is_confirmed_from_the_new_address(
    client_francoise, francoise, django_capture_on_commit_callbacks
):
    commune = francoise.commune
    with django_capture_on_commit_callbacks(execute=True):
        response = client_francoise.post(
            url("modifier_espace"), email_post("  Francoise.Nouvelle@Example.fr ")
        )
    assert response.status_code == 302
    # The confirmation to the new address (and a notice to the current one).
    (message,) = [m for m in mail.outbox if m.to != [francoise.email]]
    assert message.to == ["francoise.nouvelle@example.fr"]
    # Until confirmed, the old address is still the login.
    francoise.refresh_from_db()
    assert francoise.email == families_demo.CITIZEN_EMAIL
    assert francoise.pending_email == "francoise.nouvelle@example.fr"
    assert services.find_citizen(commune=commune, identifier=families_demo.CITIZEN_EMAIL)
    assert not services.find_citizen(commune=commune, identifier="francoise.nouvelle@example.fr")
    page = text_of(client_francoise.get(url("modifier_espace")))
    assert "En attente de confirmation francoise.nouvelle@example.fr" in page

    pattern = reverse("accounts:confirmer_courriel", kwargs={"commune": CSP, "token": "TOKEN"})
    prefix, suffix = (re.escape(part) for part in pattern.split("TOKEN"))
    match = re.search(rf"{prefix}([^/\s]+){suffix}", message.body)
    assert match, message.body
    services.confirm_email(commune=commune, token=match.group(1))
    francoise.refresh_from_db()
    assert francoise.email == "francoise.nouvelle@example.fr"
    assert francoise.pending_email == ""
    assert services.find_citizen(commune=commune, identifier="francoise.nouvelle@example.fr")
    assert not services.find_citizen(commune=commune, identifier=families_demo.CITIZEN_EMAIL)


def test_email_change_needs_the_password_before_saying_anything_about_the_address(
    client_francoise, francoise, django_capture_on_commit_callbacks
):
    CitizenFactory(commune=francoise.commune, email="deja.pris@example.fr")
    with django_capture_on_commit_callbacks(execute=True):
        wrong = client_francoise.post(
            url("modifier_espace"), email_post("deja.pris@example.fr", password="pas-le-bon")
        )
        taken = client_francoise.post(url("modifier_espace"), email_post("DEJA.PRIS@example.fr"))
    assert "Ce n'est pas votre mot de passe actuel." in text_of(wrong)
    assert "utilise déjà" not in text_of(wrong)
    assert 'value="deja.pris@example.fr"' in input_tag(wrong, "courriel-new_email")
    assert "Un autre compte de la commune utilise déjà cette adresse." in text_of(taken)
    assert 'aria-invalid="true"' in input_tag(taken, "courriel-new_email")
    assert mail.outbox == []
    francoise.refresh_from_db()
    assert francoise.pending_email == ""


def test_email_of_an_account_in_another_commune_is_not_a_conflict(
    client_francoise, francoise, django_capture_on_commit_callbacks
):
    CitizenFactory(commune=Famille.objects.get(name="MARTIN").commune, email="partout@example.fr")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_francoise.post(url("modifier_espace"), email_post("partout@example.fr"))
    assert response.status_code == 302
    # The confirmation to the new address; the notice to the current one.
    assert [m.to for m in mail.outbox] == [["partout@example.fr"], ["francoise.durand@example.fr"]]


# --- Services: keys ---------------------------------------------------------------------------


def test_a_valid_key_links_the_family(client_francoise, francoise):
    service = enfance()
    response = client_francoise.post(
        url("modifier_espace"), keys_post(families_demo.UNUSED_KEY.lower(), service)
    )
    assert response.status_code == 302
    leroy = Famille.objects.get(name="LEROY")
    assert FamilyAccess.objects.filter(user=francoise, famille=leroy).exists()
    page = text_of(client_francoise.get(response["Location"]))
    assert "Votre espace est lié à la famille LEROY (Clé Espace Citoyens Enfance)." in page
    assert (
        "Famille LEROY Dossier F000002 Clé Espace Citoyens Enfance : clé se terminant par EY42"
        in (page)
    )
    household = text_of(client_francoise.get(url("mes_informations")))
    assert "Foyer DURAND" in household and "Foyer LEROY" in household and "Inès" in household


def test_the_form_has_one_field_per_service_giving_keys(client_francoise):
    response = client_francoise.get(url("modifier_espace"))
    text = text_of(response)
    for words in ("Authentification", "Courriel", "Services", "Service / Clé"):
        assert words in text
    assert f"cle-service_{enfance().pk}" in response.text
    assert re.search(r"<label[^>]*>\s*Clé Espace Citoyens Enfance", response.text)
    assert response.text.count('name="cle-service_') == 1  # only the enfance service gives keys


def test_a_wrong_key_is_refused_next_to_the_field_with_the_entry_kept(client_francoise):
    service = enfance()
    response = client_francoise.post(
        url("modifier_espace"), keys_post("ABCD-EFGH-JKMN-PQRS", service)
    )
    assert response.status_code == 200
    assert "Cette clé n'est pas reconnue. Vérifiez-la : 16 lettres et chiffres." in text_of(
        response
    )
    field = input_tag(response, f"cle-service_{service.pk}")
    assert 'value="ABCD-EFGH-JKMN-PQRS"' in field
    assert 'aria-invalid="true"' in field
    assert f'aria-describedby="id_cle-service_{service.pk}_helptext' in field


def test_an_empty_key_form_says_so(client_francoise):
    response = client_francoise.post(url("modifier_espace"), keys_post("", enfance()))
    assert "Saisissez une clé." in text_of(response)


def test_keys_are_throttled_after_five_wrong_tries(client_francoise, francoise):
    service = enfance()
    for n in range(services.KEY_MAX_FAILURES):
        response = client_francoise.post(
            url("modifier_espace"), keys_post(f"ABCD-EFGH-JKMN-PQR{n}", service)
        )
        assert "n'est pas reconnue" in text_of(response)
    # Even the right key is refused now, without being checked.
    response = client_francoise.post(
        url("modifier_espace"), keys_post(families_demo.UNUSED_KEY, service)
    )
    assert "Trop de clés erronées : réessayez à partir de" in text_of(response)
    assert not FamilyAccess.objects.filter(user=francoise, famille__name="LEROY").exists()
    assert ServiceKey.objects.get(hint="EY42").used_at is None


def test_a_key_of_another_commune_is_refused(client_francoise, francoise):
    martin = Famille.objects.get(name="MARTIN")
    _key, raw = generate_service_key(
        famille=martin,
        service=enfance(CSS),
        actor=AgentFactory(commune=martin.commune),
    )
    response = client_francoise.post(url("modifier_espace"), keys_post(raw, enfance()))
    assert "Cette clé n'est pas reconnue." in text_of(response)
    assert not FamilyAccess.objects.filter(user=francoise, famille=martin).exists()


def test_a_used_key_is_refused(client_francoise, francoise):
    nadia = CitizenFactory(commune=francoise.commune, email="nadia.leroy@example.fr")
    redeem_service_key(user=nadia, raw_key=families_demo.UNUSED_KEY)
    response = client_francoise.post(
        url("modifier_espace"), keys_post(families_demo.UNUSED_KEY, enfance())
    )
    assert "Cette clé a déjà été utilisée. Demandez une nouvelle clé au service." in text_of(
        response
    )
    assert not FamilyAccess.objects.filter(user=francoise, famille__name="LEROY").exists()


def test_removing_a_family_link(client_francoise, francoise):
    access = FamilyAccess.objects.get(user=francoise)
    durand = access.famille
    response = client_francoise.post(
        url("modifier_espace"), {"section": "retirer", "acces": access.pk}
    )
    assert response.status_code == 302
    assert not FamilyAccess.objects.filter(pk=access.pk).exists()
    assert Famille.objects.filter(pk=durand.pk).exists()
    assert Personne.objects.filter(famille=durand).count() == 4
    assert AuditEntry.objects.filter(action="family_access.remove", famille_id=durand.pk).exists()
    page = text_of(client_francoise.get(response["Location"]))
    assert "Votre espace n'est plus lié à la famille DURAND." in page
    assert "Aucun foyer lié à votre espace" in text_of(
        client_francoise.get(url("mes_informations"))
    )


def test_an_unknown_section_is_a_bad_request(client_francoise):
    assert client_francoise.post(url("modifier_espace"), {"section": "x"}).status_code == 400


# --- Data rights: export ----------------------------------------------------------------------


def test_export_holds_the_accounts_data(client_francoise, francoise):
    services.update_coordinates(user=francoise, city="Triel-sur-Seine")
    page = client_francoise.get(url("telecharger_donnees"))
    assert page.status_code == 200
    assert "Télécharger mes données" in text_of(page)
    data = exported(client_francoise, francoise)
    assert data["format"] == "parvis.donnees-personnelles/1"
    assert data["account"]["email"] == families_demo.CITIZEN_EMAIL
    assert data["account"]["city"] == "Triel-sur-Seine"
    assert "password" not in data["account"]
    [famille] = data["families"]
    assert famille["reference"] == "F000001"
    assert {m["first_names"] for m in famille["members"]} == {"Françoise", "Marc", "Léa", "Hugo"}
    hugo = next(m for m in famille["members"] if m["first_names"] == "Hugo")
    assert hugo["has_pai"] is True and hugo["school"] == "Ecole du PARC"
    assert famille["authorised_people"][0]["first_name"] == "Jeanne"
    [key] = famille["service_keys"]
    assert key == {
        "service": "Clé Espace Citoyens Enfance",
        "hint": "22K1",
        "created_at": key["created_at"],
        "used_at": key["used_at"],
        "used_by_this_account": True,
        "revoked_at": None,
    }
    body = json.dumps(data, ensure_ascii=False)
    for digest in ServiceKey.objects.values_list("digest", flat=True):
        assert digest not in body
    assert "LEROY" not in body and "Inès" not in body and "MARTIN Sophie" not in body
    actions = [entry["action"] for entry in data["audit"]]
    assert "account.update_coordinates" in actions


def test_export_of_an_account_linked_to_several_families(client_francoise, francoise):
    client_francoise.post(url("modifier_espace"), keys_post(families_demo.UNUSED_KEY, enfance()))
    data = exported(client_francoise, francoise)
    assert [f["name"] for f in data["families"]] == ["DURAND", "LEROY"]
    assert "service_key.redeem" in [entry["action"] for entry in data["audit"]]


# --- Data rights: deletion --------------------------------------------------------------------


def test_deleting_the_account_needs_the_password(client_francoise, francoise):
    page = client_francoise.get(url("supprimer_espace"))
    assert "Supprimer mon espace" in text_of(page)
    response = client_francoise.post(url("supprimer_espace"), {"suppression-password": "non"})
    assert response.status_code == 200
    assert "Ce n'est pas votre mot de passe actuel." in text_of(response)
    assert 'aria-invalid="true"' in input_tag(response, "suppression-password")
    assert User.objects.filter(pk=francoise.pk).exists()


def test_deleting_the_account(client_francoise, francoise):
    durand = Famille.objects.get(name="DURAND")
    response = client_francoise.post(
        url("supprimer_espace"), {"suppression-password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home", kwargs={"commune": CSP})
    assert "Votre espace est supprimé." in text_of(client_francoise.get(response["Location"]))
    assert not User.objects.filter(pk=francoise.pk).exists()
    assert not FamilyAccess.objects.filter(famille=durand).exists()
    # The family file stays with the service.
    assert Famille.objects.filter(pk=durand.pk).exists()
    assert Personne.objects.filter(famille=durand).count() == 4
    assert ServiceKey.objects.get(hint="22K1").used_by is None
    # The audit keeps who it was, on the account and on the family's history.
    deleted = AuditEntry.objects.get(action="account.delete")
    assert deleted.actor is None and deleted.actor_label == "Françoise DURAND"
    assert AuditEntry.objects.filter(action="family_access.remove", famille_id=durand.pk).exists()
    # Logged out, and the credentials open nothing any more.
    assert client_francoise.get(url("mes_informations")).status_code == 302
    assert (
        auth.authenticate(
            None,
            commune=durand.commune,
            identifier=families_demo.CITIZEN_EMAIL,
            password=DEMO_PASSWORD,
        )
        is None
    )


# --- CSRF -------------------------------------------------------------------------------------


def test_posts_need_the_csrf_token(francoise):
    client = log_in(Client(enforce_csrf_checks=True), francoise)
    posts = [
        (url("mes_informations", query="?onglet=coordonnees"), coordinates(city="Ailleurs")),
        (url("modifier_espace"), password_post()),
        (url("modifier_espace"), email_post("autre@example.fr")),
        (url("modifier_espace"), keys_post(families_demo.UNUSED_KEY, enfance())),
        (
            url("modifier_espace"),
            {"section": "retirer", "acces": FamilyAccess.objects.get(user=francoise).pk},
        ),
        (url("telecharger_donnees"), {}),
        (url("supprimer_espace"), {"suppression-password": DEMO_PASSWORD}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 403, path
    francoise.refresh_from_db()
    assert francoise.city == "Carrières-sous-Poissy"
    assert francoise.check_password(DEMO_PASSWORD)
    assert francoise.pending_email == ""
    assert FamilyAccess.objects.filter(user=francoise).count() == 1


# --- Query counts -----------------------------------------------------------------------------


# commune, session, user, services, the change-of-coordinates request, families, members, people,
# the commune's API Particulier access (issue 20 §2)
HOUSEHOLD_PAGE_MAX_QUERIES = 11


def household_page(children: int, families: int = 1, editable: bool = False) -> tuple[Client, str]:
    """A logged-in client of an account linked to `families` families of `children` children
    each, and its household page; `editable`: the commune lets families edit the authorised
    people and the children's health (the page then links to each row's form)."""
    user = CitizenFactory()
    user.commune.families_edit_authorised_people = user.commune.families_edit_health = editable
    user.commune.save()
    Service.objects.create(commune=user.commune, name="Enfance", kind="enfance")
    for _f in range(families):
        famille = FamilleFactory(commune=user.commune)
        PersonneFactory(famille=famille)
        for _c in range(children):
            ChildFactory(famille=famille)
        famille.authorised_people.create(
            commune=famille.commune, last_name="DUPONT", first_name="Paul", phone="01 02 03 04 05"
        )
        FamilyAccessFactory(famille=famille, user=user)
    return log_in(Client(), user), url("mes_informations", user.commune.slug)


@pytest.mark.parametrize("editable", [False, True])
def test_household_page_costs_the_same_whatever_the_children_and_families(
    django_assert_max_num_queries, editable
):
    counts = []
    for children, families in ((1, 1), (3, 1), (3, 2)):
        client, page = household_page(children, families, editable)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page)
        text = text_of(response)
        assert text.count("Ecole du PARC") == children * families
        # With the links to each child's and each authorised person's form, or none.
        links = children * families if editable else 0
        assert text.count("Modifier les informations de santé") == links
        assert text.count("Retirer Paul DUPONT") == (families if editable else 0)
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2]
    client, page = household_page(3, editable=editable)
    with django_assert_max_num_queries(HOUSEHOLD_PAGE_MAX_QUERIES):
        client.get(page)


def test_a_code_famille_account_in_a_commune_without_keys(client, demo):
    sophie = User.objects.get(commune__slug=CSS, family_code=families_demo.FAMILY_CODE_READY)
    log_in(client, sophie)
    page = text_of(client.get(url("modifier_espace", CSS)))
    assert "Code famille F000001" in page
    assert "Aucun service de la commune ne remet de clé personnelle." in page
    assert "Famille MARTIN Dossier F000001 Accès remis par le service" in page
    household = text_of(client.get(url("mes_informations", CSS)))
    assert "Foyer MARTIN" in household and "Jules" in household
    assert "Scolaire-Enfance-Jeunesse (SEJ) Téléphone : 01 30 86 89 30" in household
    assert "DURAND" not in household
