"""« Créer mon espace » (seed 000): the four-step wizard, the anti-robot measures, the keys of the
« Authentification » step, the same answer for a known address, and the confirmation of the
e-mail address. Each test fails without the behaviour it names."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parvis.accounts import services
from parvis.accounts.models import Attempt, AuditEntry, User
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.families import demo as families_demo
from parvis.families.models import Famille, FamilyAccess, ServiceKey
from parvis.families.services import generate_service_key
from parvis.families.tests.factories import AgentFactory, CitizenFactory, FamilleFactory

pytestmark = pytest.mark.django_db

CSP = "carrieres-sous-poissy"
CSS = "carrieres-sur-seine"
KEY_LABEL = "Clé Espace Citoyens Enfance"
PASSWORD = "Tilleuls-en-fleurs-2026"

IDENTITY = {"civility": "mme", "last_name": "Leroy", "first_name": "Nadia"}
ADDRESS = {"address": "5, allée des Tilleuls", "postal_code": "78955", "city": "Carrières"}
CONTACT = {"email": "nadia.leroy@example.fr", "phone": "06 12 34 56 78"}
STEP_DATA = {1: IDENTITY, 2: ADDRESS, 3: CONTACT}


# --- Helpers -------------------------------------------------------------------------------------


def step_url(slug: str, step: int) -> str:
    if step == 1:
        return reverse("accounts:creer_mon_espace", kwargs={"commune": slug})
    return reverse("accounts:creer_mon_espace_etape", kwargs={"commune": slug, "step": step})


def url(name: str, slug: str, **kwargs) -> str:
    return reverse(f"accounts:{name}", kwargs={"commune": slug, **kwargs})


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def tag(response, name: str, value: str | None = None) -> str:
    """The <input> tag of the field `name` (and `value`, for a radio button)."""
    value_part = rf'[^>]*value="{re.escape(value)}"' if value is not None else ""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"{value_part}[^>]*>', response.text)
    assert match, f"no field {name}"
    return match.group(0)


def value_of(response, name: str) -> str:
    match = re.search(r'value="([^"]*)"', tag(response, name))
    return match.group(1) if match else ""


def error_of(response, field_id: str) -> str:
    """The text of the error shown next to the field whose id is `field_id`."""
    match = re.search(
        rf'<div class="form__errors" id="{re.escape(field_id)}_error">(.*?)</div>',
        response.text,
        flags=re.S,
    )
    assert match, f"no error next to {field_id}"
    text = re.sub(r"<[^>]+>", " ", match.group(1)).replace("&#x27;", "'")
    return re.sub(r"\s+", " ", text).strip()


def post(client, path, data=None):
    """POST as the live site does: the e-mails a service sends on commit leave (the test's
    transaction never commits)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, data or {})


def post_step(client, slug, step, data, action=None):
    payload = dict(data)
    payload["action"] = action or ("valider" if step == 4 else "suivant")
    return post(client, step_url(slug, step), payload)


def fill_steps(client, slug, until=3, **overrides):
    """Go through steps 1..until with valid entries (overrides replace single fields)."""
    for step in range(1, until + 1):
        data = {**STEP_DATA[step], **{k: v for k, v in overrides.items() if k in STEP_DATA[step]}}
        response = post_step(client, slug, step, data)
        assert response.status_code == 302, text_of(response)
        assert response["Location"] == step_url(slug, step + 1)


def last_step(service=None, key="", **extra):
    data = {"password1": PASSWORD, "password2": PASSWORD, "accept_terms": "on", **extra}
    if service is not None:
        data[f"cle_{service.pk}"] = key
    return data


def sign_up(client, slug, service=None, key="", **overrides):
    fill_steps(client, slug, **overrides)
    return post_step(client, slug, 4, last_step(service, key))


def confirmation_link(message) -> str:
    match = re.search(r"http://testserver(/\S+/confirmer/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def normalise_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)


@pytest.fixture
def commune():
    return CommuneFactory()


@pytest.fixture
def enfance(commune):
    return ServiceFactory(commune=commune, name="Accueils périscolaires", key_label=KEY_LABEL)


@pytest.fixture
def demo(demo_communes):
    families_demo.load()
    return demo_communes


@pytest.fixture
def leroy_key_service(demo):
    return ServiceKey.objects.get(famille__name="LEROY").service


# --- The wizard: steps, words, validation --------------------------------------------------------


def test_the_home_page_leads_to_the_wizard(client, demo_communes):
    response = client.get(f"/{CSP}/")
    assert f'href="{step_url(CSP, 1)}"' in response.text
    assert "Créer mon espace" in text_of(response)


def test_the_wizard_shows_its_steps_and_the_seed_words(client, enfance):
    response = client.get(step_url(enfance.commune.slug, 1))
    assert response.status_code == 200
    text = text_of(response)
    assert (
        "1 - Identité (étape en cours) 2 - Adresse 3 - Moyens de contact 4 - Authentification"
        in text
    )
    assert "Aller à l'étape 2" in text
    assert "Annuler la démarche" in text
    assert "Retour à l'étape précédente" not in text  # no step before the first
    assert re.search(
        r'<li class="[^"]*--current"\s+aria-current="step">\s*1 - Identité', response.text
    )
    # Civility: radio buttons in a fieldset with a legend.
    assert re.search(r"<fieldset[^>]*>\s*<legend[^>]*>Civilité</legend>", response.text)
    assert 'type="radio"' in tag(response, "civility", "mme")
    assert "Madame" in text and "Monsieur" in text


def test_the_honeypot_is_out_of_reach_of_people(client, commune):
    response = client.get(step_url(commune.slug, 1))
    honeypot = tag(response, "site_internet")
    assert 'tabindex="-1"' in honeypot
    assert 'autocomplete="off"' in honeypot
    assert re.search(
        r'<div class="signup-extra">\s*'
        r'<label for="id_site_internet">Ne pas remplir ce champ</label>',
        response.text,
    )


def test_identity_step_says_what_is_missing_next_to_each_field(client, commune):
    response = post_step(client, commune.slug, 1, {"last_name": "Leroy"})
    assert response.status_code == 200
    assert error_of(response, "id_civility") == "Erreur : Indiquez votre civilité."
    assert error_of(response, "id_first_name") == "Erreur : Indiquez votre prénom."
    first_name = tag(response, "first_name")
    assert 'aria-invalid="true"' in first_name
    assert 'aria-describedby="id_first_name_error"' in first_name
    # The group's error is tied to each of its radio buttons (read with the first choice).
    for radio in re.findall(r'<input type="radio" name="civility"[^>]*>', response.text):
        assert 'aria-describedby="id_civility_error"' in radio
        assert 'aria-invalid="true"' in radio
    # The summary at the top links to each field.
    assert re.search(r'<div class="form-summary"\s+role="alert"', response.text)
    assert 'href="#id_civility_0"' in response.text
    assert 'href="#id_first_name"' in response.text
    assert response.context["form"].errors
    assert re.search(r"<title>\s*Erreur :", response.text)
    # What was typed is still there; the field that was right is not marked.
    assert value_of(response, "last_name") == "Leroy"
    assert "aria-invalid" not in tag(response, "last_name")


def test_address_step_wants_a_five_digit_postal_code(client, commune):
    fill_steps(client, commune.slug, until=1)
    response = post_step(client, commune.slug, 2, {**ADDRESS, "postal_code": "7895"})
    assert response.status_code == 200
    assert "Le code postal comporte 5 chiffres" in error_of(response, "id_postal_code")
    assert value_of(response, "postal_code") == "7895"
    assert value_of(response, "address") == "5, allée des Tilleuls"
    response = post_step(client, commune.slug, 2, {**ADDRESS, "postal_code": "78 955"})
    assert response.status_code == 302
    assert client.get(step_url(commune.slug, 2)).context["form"].initial["postal_code"] == "78 955"


def test_contact_step_checks_the_email_and_a_french_phone_number(client, commune):
    fill_steps(client, commune.slug, until=2)
    response = post_step(client, commune.slug, 3, {"email": "nadia.leroy@", "phone": "12345"})
    assert response.status_code == 200
    assert "Indiquez une adresse électronique valide" in error_of(response, "id_email")
    assert "Indiquez un numéro de téléphone français" in error_of(response, "id_phone")
    assert value_of(response, "email") == "nadia.leroy@"
    assert value_of(response, "phone") == "12345"
    # The phone is optional.
    response = post_step(client, commune.slug, 3, {"email": "nadia.leroy@example.fr"})
    assert response.status_code == 302


def test_the_phone_is_stored_in_the_french_format(client, commune):
    sign_up(client, commune.slug, phone="+33 6.12.34.56.78", email="Nadia.Leroy@Example.FR")
    user = User.objects.get(commune=commune)
    assert user.phone == "06 12 34 56 78"
    assert user.email == "nadia.leroy@example.fr"


def test_authentication_step_validates_the_password_and_the_terms(client, commune):
    fill_steps(client, commune.slug)
    response = post_step(
        client, commune.slug, 4, {"password1": "court", "password2": "autre chose"}
    )
    assert response.status_code == 200
    assert "Ce mot de passe est trop court" in error_of(response, "id_password1")
    assert "Les deux mots de passe ne sont pas identiques." in error_of(response, "id_password2")
    assert "acceptez les conditions générales" in error_of(response, "id_accept_terms")
    # Django's validators, in French: a password too close to the person's name.
    response = post_step(
        client,
        commune.slug,
        4,
        {
            "password1": "nadia.leroy@example",
            "password2": "nadia.leroy@example",
            "accept_terms": "on",
        },
    )
    assert "trop semblable" in error_of(response, "id_password1")
    # Passwords are never sent back to the page.
    assert 'value="nadia.leroy@example"' not in response.text
    assert "saisissez-le à nouveau" in text_of(response)
    assert not User.objects.filter(commune=commune).exists()


def test_the_last_step_links_the_terms_of_use_and_explains_the_keys(client, enfance):
    slug = enfance.commune.slug
    fill_steps(client, slug)
    response = client.get(step_url(slug, 4))
    text = text_of(response)
    assert f'href="/{slug}/conditions-generales/"' in response.text
    assert "Vous avez la possibilité de saisir les clés d'accès à différents services" in text
    assert (
        "La clé d'accès à un service vous est fournie par ce dernier si vous y êtes connus." in text
    )
    assert "modification de votre Espace" in text
    assert re.search(rf'<label for="id_cle_{enfance.pk}">\s*{KEY_LABEL}', response.text)
    assert f"contactez le service « {enfance.name} » : {enfance.email}" in text
    assert "Votre identifiant : nadia.leroy@example.fr" in text
    assert "Valider" in text
    assert "Retour à l'étape précédente" in text


def test_going_back_and_forth_keeps_the_entries(client, enfance):
    slug = enfance.commune.slug
    fill_steps(client, slug, until=2)
    # Step 3: type, then go back without validating.
    response = post_step(client, slug, 3, {"email": "nadia@exa", "phone": ""}, "precedent")
    assert response["Location"] == step_url(slug, 2)
    step2 = client.get(step_url(slug, 2))
    assert value_of(step2, "address") == ADDRESS["address"]
    assert value_of(step2, "postal_code") == ADDRESS["postal_code"]
    assert value_of(step2, "city") == ADDRESS["city"]
    response = post_step(client, slug, 2, {**ADDRESS, "city": "Poissy"}, "precedent")
    step1 = client.get(step_url(slug, 1))
    assert value_of(step1, "last_name") == "Leroy"
    assert value_of(step1, "first_name") == "Nadia"
    assert "checked" in tag(step1, "civility", "mme")
    assert "checked" not in tag(step1, "civility", "m")
    # Forward again: step 2 shows the change made before going back, step 3 what was typed.
    post_step(client, slug, 1, IDENTITY)
    assert value_of(client.get(step_url(slug, 2)), "city") == "Poissy"
    post_step(client, slug, 2, ADDRESS)
    assert value_of(client.get(step_url(slug, 3)), "email") == "nadia@exa"
    post_step(client, slug, 3, CONTACT)
    # Step 4: the key and the terms are kept when going back; the password is not.
    post_step(
        client, slug, 4, {f"cle_{enfance.pk}": "abcd-efgh", "accept_terms": "on"}, "precedent"
    )
    step4 = client.get(step_url(slug, 4))
    assert value_of(step4, f"cle_{enfance.pk}") == "abcd-efgh"
    assert "checked" in tag(step4, "accept_terms")
    assert 'value="' not in tag(step4, "password1")


def test_a_later_step_sends_back_to_the_first_incomplete_one(client, commune):
    slug = commune.slug
    response = client.get(step_url(slug, 3))
    assert response.status_code == 302
    assert response["Location"] == step_url(slug, 1)
    fill_steps(client, slug, until=1)
    assert client.get(step_url(slug, 4))["Location"] == step_url(slug, 2)
    assert post(client, step_url(slug, 3), CONTACT)["Location"] == step_url(slug, 2)
    assert client.get(step_url(slug, 2)).status_code == 200
    assert client.get(f"/{slug}/creer-mon-espace/etape-5/").status_code == 404
    assert client.get(f"/{slug}/creer-mon-espace/etape-1/")["Location"] == step_url(slug, 1)


def test_cancelling_clears_the_draft(client, commune):
    slug = commune.slug
    fill_steps(client, slug, until=2)
    response = post(client, step_url(slug, 3), {"email": "x@example.fr", "action": "annuler"})
    assert response.status_code == 302
    assert response["Location"] == f"/{slug}/"
    assert "Votre démarche « Créer mon espace » est annulée." in text_of(client.get(f"/{slug}/"))
    assert client.get(step_url(slug, 2))["Location"] == step_url(slug, 1)
    assert value_of(client.get(step_url(slug, 1)), "last_name") == ""
    assert not User.objects.exists()


# --- Creating the account ------------------------------------------------------------------------


def test_the_account_is_created_only_on_valider_and_waits_for_confirmation(client, commune):
    slug = commune.slug
    fill_steps(client, slug)
    assert not User.objects.filter(commune=commune).exists()
    assert mail.outbox == []
    response = post_step(client, slug, 4, last_step())
    assert response.status_code == 302
    assert response["Location"] == url("inscription_envoyee", slug)
    user = User.objects.get(commune=commune)
    assert (user.civility, user.last_name, user.first_name) == ("mme", "Leroy", "Nadia")
    assert (user.address, user.postal_code, user.city) == (
        "5, allée des Tilleuls",
        "78955",
        "Carrières",
    )
    assert (user.email, user.phone) == ("nadia.leroy@example.fr", "06 12 34 56 78")
    assert check_password(PASSWORD, user.password)
    assert user.email_confirmed_at is None
    assert not user.is_staff
    assert AuditEntry.objects.filter(action="account.create", target_id=str(user.pk)).exists()
    # Not usable before confirmation.
    result = services.attempt_login(
        request=client.get("/").wsgi_request,
        commune=commune,
        identifier=user.email,
        password=PASSWORD,
    )
    assert result.user is None and result.unconfirmed == user
    # One e-mail, to the address, with a link valid 3 days.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nadia.leroy@example.fr"]
    assert "confirmez votre adresse" in message.subject
    assert "Bonjour Madame LEROY," in message.body
    assert "Ce lien est valable 3 jours et ne sert qu'une fois." in message.body
    # The draft is gone; the page says an e-mail was sent.
    assert client.get(step_url(slug, 2))["Location"] == step_url(slug, 1)
    text = text_of(client.get(response["Location"]))
    assert "Un courriel vient d'être envoyé à l'adresse nadia.leroy@example.fr ." in text
    assert "valable 3 jours" in text
    assert "Renvoyer le courriel" in text


def test_the_password_never_waits_in_the_session(client, commune):
    slug = commune.slug
    fill_steps(client, slug)
    post_step(client, slug, 4, {"password1": PASSWORD, "password2": PASSWORD}, "precedent")
    assert PASSWORD not in str(dict(client.session))
    post_step(client, slug, 3, CONTACT)
    post_step(client, slug, 4, {"password1": PASSWORD, "password2": "différent"})
    assert PASSWORD not in str(dict(client.session))
    post_step(client, slug, 4, last_step())
    assert User.objects.filter(commune=commune).exists()
    assert PASSWORD not in str(dict(client.session))


def test_a_known_address_gets_the_same_answer_and_its_owner_an_email(commune):
    """No enumeration: the second sign-up with the same address (in another case) gets the same
    redirect and a byte-identical page; nothing is created and the owner is told by e-mail."""
    first, second = Client(), Client()
    created = sign_up(first, commune.slug)
    page_created = first.get(created["Location"])
    assert User.objects.filter(commune=commune).count() == 1
    mail.outbox.clear()

    again = sign_up(second, commune.slug, email="NADIA.Leroy@example.fr", last_name="Autre")
    page_again = second.get(again["Location"])
    assert (again.status_code, again["Location"]) == (created.status_code, created["Location"])
    assert page_again.status_code == page_created.status_code == 200
    assert normalise_csrf(page_again.content.decode()) == normalise_csrf(
        page_created.content.decode()
    )
    assert User.objects.filter(commune=commune).count() == 1
    assert User.objects.get(commune=commune).last_name == "Leroy"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nadia.leroy@example.fr"]
    assert "vous avez déjà un espace" in message.subject
    assert "Vous avez déjà un espace avec cette adresse" in message.body
    assert "Votre adresse n'est pas encore confirmée" in message.body
    assert f"http://testserver/{commune.slug}/connexion/" in message.body
    assert f"http://testserver/{commune.slug}/mot-de-passe-oublie/" in message.body


def test_an_account_in_another_commune_does_not_block_the_address(client, commune):
    other = CitizenFactory(email=CONTACT["email"])
    assert other.commune != commune
    sign_up(client, commune.slug)
    assert User.objects.filter(email=CONTACT["email"]).count() == 2
    user = User.objects.get(commune=commune)
    assert user.email_confirmed_at is None
    assert [m.to for m in mail.outbox] == [[CONTACT["email"]]]
    assert "confirmez votre adresse" in mail.outbox[0].subject


def test_a_filled_honeypot_pretends_success_and_creates_nothing(client, commune):
    slug = commune.slug
    post_step(client, slug, 1, {**IDENTITY, "site_internet": "https://spam.example"})
    fill_steps(client, slug)
    response = post_step(client, slug, 4, last_step())
    assert response.status_code == 302
    assert response["Location"] == url("inscription_envoyee", slug)
    assert "Un courriel vient d'être envoyé" in text_of(client.get(response["Location"]))
    assert not User.objects.exists()
    assert mail.outbox == []
    # The draft (and its robot mark) is gone: a new sign-up in the same session works.
    sign_up(client, slug)
    assert User.objects.filter(commune=commune).count() == 1


def test_the_honeypot_on_the_last_step_too(client, commune):
    fill_steps(client, commune.slug)
    post_step(client, commune.slug, 4, last_step(site_internet="x"))
    assert not User.objects.exists()


def test_too_many_sign_ups_from_one_address_are_refused(client, commune):
    now = timezone.now()
    for n in range(services.SIGNUP_MAX_PER_IP):
        Attempt.objects.create(
            commune=commune,
            kind=Attempt.Kind.SIGNUP,
            identifier=f"autre{n}@example.fr",
            ip="127.0.0.1",
            succeeded=True,
            at=now - timedelta(minutes=30),
        )
    fill_steps(client, commune.slug)
    response = post_step(client, commune.slug, 4, last_step())
    assert response.status_code == 429
    assert "Trop d'espaces ont été créés depuis votre connexion Internet" in text_of(response)
    assert not User.objects.filter(commune=commune).exists()
    assert mail.outbox == []
    assert "checked" in tag(response, "accept_terms")
    # An hour later, the same address may create an account again.
    with time_machine.travel(now + timedelta(minutes=31), tick=False):
        response = post_step(client, commune.slug, 4, last_step())
    assert response.status_code == 302
    assert User.objects.filter(commune=commune).count() == 1


def test_csrf_is_enforced(commune):
    client = Client(enforce_csrf_checks=True)
    response = post(client, step_url(commune.slug, 1), {**IDENTITY, "action": "suivant"})
    assert response.status_code == 403
    page = client.get(step_url(commune.slug, 1))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = post(
        client,
        step_url(commune.slug, 1),
        {**IDENTITY, "action": "suivant", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_a_family_code_commune_explains_where_accounts_come_from(client, demo_communes):
    response = client.get(step_url(CSS, 1))
    assert response.status_code == 200
    assert "votre code famille (identifiant) et votre mot de passe vous sont remis" in text_of(
        response
    )
    assert post(client, step_url(CSS, 1), {**IDENTITY, "action": "suivant"}).status_code == 404
    assert client.get(step_url(CSS, 2)).status_code == 404
    assert client.get(url("inscription_envoyee", CSS)).status_code == 404
    assert not User.objects.filter(commune__slug=CSS, last_name="Leroy").exists()


# --- Service keys on the « Authentification » step -----------------------------------------------


def test_a_valid_key_links_the_new_account_to_its_family(client, demo, leroy_key_service):
    key = families_demo.UNUSED_KEY.lower().replace("-", " ")
    response = sign_up(client, CSP, leroy_key_service, key)
    assert response.status_code == 302
    user = User.objects.get(commune__slug=CSP, email=CONTACT["email"])
    access = FamilyAccess.objects.get(user=user)
    assert access.famille == Famille.objects.get(commune__slug=CSP, name="LEROY")
    service_key = ServiceKey.objects.get(famille__name="LEROY")
    assert service_key.used_by == user
    text = text_of(client.get(response["Location"]))
    assert "Clé Espace Citoyens Enfance : clé acceptée." in text


def test_a_wrong_key_is_refused_on_the_spot_with_every_entry_kept(client, demo, leroy_key_service):
    fill_steps(client, CSP)
    field = f"cle_{leroy_key_service.pk}"
    response = post_step(client, CSP, 4, last_step(leroy_key_service, "ABCD-EFGH-JKMN-PQRS"))
    assert response.status_code == 200
    assert "Cette clé n'est pas reconnue" in error_of(response, f"id_{field}")
    assert 'aria-invalid="true"' in tag(response, field)
    assert value_of(response, field) == "ABCD-EFGH-JKMN-PQRS"
    assert "checked" in tag(response, "accept_terms")
    assert not User.objects.filter(commune__slug=CSP, email=CONTACT["email"]).exists()
    assert mail.outbox == []
    # Corrected, it goes through.
    response = post_step(client, CSP, 4, last_step(leroy_key_service, families_demo.UNUSED_KEY))
    assert response.status_code == 302
    user = User.objects.get(commune__slug=CSP, email=CONTACT["email"])
    assert FamilyAccess.objects.filter(user=user, famille__name="LEROY").exists()


def test_a_wrong_key_shows_with_the_other_errors(client, enfance):
    fill_steps(client, enfance.commune.slug)
    response = post_step(
        client, enfance.commune.slug, 4, {f"cle_{enfance.pk}": "ABCD", "accept_terms": "on"}
    )
    assert "Choisissez un mot de passe." in error_of(response, "id_password1")
    assert "Cette clé n'est pas reconnue" in error_of(response, f"id_cle_{enfance.pk}")


def test_a_used_key_says_so(client, demo, leroy_key_service):
    fill_steps(client, CSP)
    response = post_step(client, CSP, 4, last_step(leroy_key_service, "DEM0-DURA-ND20-22K1"))
    assert "Cette clé a déjà été utilisée" in error_of(response, f"id_cle_{leroy_key_service.pk}")


def test_a_key_of_another_commune_is_refused(client, enfance):
    elsewhere = ServiceFactory(key_label=KEY_LABEL)
    famille = FamilleFactory(commune=elsewhere.commune)
    agent = AgentFactory(commune=elsewhere.commune)
    _service_key, key = generate_service_key(famille=famille, service=elsewhere, actor=agent)
    fill_steps(client, enfance.commune.slug)
    response = post_step(client, enfance.commune.slug, 4, last_step(enfance, key))
    assert response.status_code == 200
    assert "Cette clé n'est pas reconnue" in error_of(response, f"id_cle_{enfance.pk}")
    assert not User.objects.filter(commune=enfance.commune).exists()
    assert not FamilyAccess.objects.exists()


def test_wrong_keys_are_throttled(client, enfance):
    fill_steps(client, enfance.commune.slug)
    for n in range(services.KEY_MAX_FAILURES):
        post_step(client, enfance.commune.slug, 4, last_step(enfance, f"AAAA-BBBB-CCCC-DDD{n}"))
    response = post_step(client, enfance.commune.slug, 4, last_step(enfance, "AAAA-BBBB-CCCC-DDDD"))
    assert "Trop de clés erronées" in error_of(response, f"id_cle_{enfance.pk}")


def test_a_key_refused_after_creation_keeps_the_account(
    client, demo, leroy_key_service, monkeypatch
):
    """A key taken by someone else between the check and the redemption: the account is still
    created, and the page says which key was refused and where to enter it later."""
    from parvis.families import views_signup

    leroy = ServiceKey.objects.get(famille__name="LEROY")
    real_check = views_signup.check_service_key

    def check_then_taken(**kwargs):
        checked = real_check(**kwargs)
        ServiceKey.objects.filter(pk=leroy.pk).update(used_at=timezone.now())
        return checked

    monkeypatch.setattr(views_signup, "check_service_key", check_then_taken)
    response = sign_up(client, CSP, leroy_key_service, families_demo.UNUSED_KEY)
    assert response.status_code == 302
    user = User.objects.get(commune__slug=CSP, email=CONTACT["email"])
    assert not FamilyAccess.objects.filter(user=user).exists()
    text = text_of(client.get(response["Location"]))
    assert "Clé Espace Citoyens Enfance : clé refusée. Cette clé a déjà été utilisée." in text
    assert "Votre espace est tout de même créé." in text
    assert "depuis « Modification de votre espace »" in text
    assert [m.to for m in mail.outbox] == [[CONTACT["email"]]]


def test_a_known_address_with_a_valid_key_gets_the_same_answer(
    demo, leroy_key_service, django_user_model
):
    CitizenFactory(commune=demo[CSP], email=CONTACT["email"])
    client = Client()
    response = sign_up(client, CSP, leroy_key_service, families_demo.UNUSED_KEY)
    assert response.status_code == 302
    assert "Clé Espace Citoyens Enfance : clé acceptée." in text_of(
        client.get(response["Location"])
    )
    # The key is not used up by the owner's account or anybody.
    assert ServiceKey.objects.get(famille__name="LEROY").used_at is None
    assert django_user_model.objects.filter(email=CONTACT["email"]).count() == 1


# --- Query counts --------------------------------------------------------------------------------


def test_the_wizard_pages_take_a_constant_number_of_queries(client, commune):
    slug = commune.slug
    for n in range(1):
        ServiceFactory(commune=commune, key_label=f"Clé {n}")
    fill_steps(client, slug)
    counts = {}
    for step in (1, 2, 3, 4):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(step_url(slug, step)).status_code == 200
        counts[step] = len(queries)
    for n in range(1, 6):
        ServiceFactory(commune=commune, key_label=f"Clé {n}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(step_url(slug, 4))
    assert response.text.count('name="cle_') == 6
    assert len(queries) == counts[4]
    assert max(counts.values()) <= 3, counts


def test_each_step_stays_within_its_queries(client, commune, django_assert_max_num_queries):
    slug = commune.slug
    for step in (1, 2, 3):
        with django_assert_max_num_queries(6):
            post_step(client, slug, step, STEP_DATA[step])


# --- Confirming the address ----------------------------------------------------------------------


def test_the_confirmation_link_works_once(client, commune):
    sign_up(client, commune.slug)
    link = confirmation_link(mail.outbox[0])
    assert link.startswith(f"/{commune.slug}/confirmer/")
    # Opening the link (as a mail scanner would) confirms nothing.
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirmer mon adresse" in text_of(page)
    assert "nadia.leroy@example.fr" in text_of(page)
    assert User.objects.get(commune=commune).email_confirmed_at is None
    # The button does.
    response = post(client, link)
    assert response.status_code == 302
    assert response["Location"] == url("courriel_confirme", commune.slug)
    user = User.objects.get(commune=commune)
    assert user.email_confirmed_at is not None
    done = client.get(response["Location"])
    assert "Votre espace est prêt." in text_of(done)
    assert f'href="{url("connexion", commune.slug)}"' in done.text
    result = services.attempt_login(
        request=done.wsgi_request, commune=commune, identifier=user.email, password=PASSWORD
    )
    assert result.user == user
    # Second use: refused, with a way to get a new link.
    for again in (client.get(link), post(client, link)):
        assert again.status_code == 400
        text = text_of(again)
        assert "Ce lien n'est pas valable : il a déjà servi" in text
        assert f'action="{url("renvoyer_confirmation", commune.slug)}"' in again.text


def test_the_confirmation_link_lasts_three_days(commune):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_up(Client(), commune.slug)
    link = confirmation_link(mail.outbox[0])
    client = Client()
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        for response in (client.get(link), post(client, link)):
            assert response.status_code == 410
            assert "Ce lien a expiré : il était valable 3 jours" in text_of(response)
    assert User.objects.get(commune=commune).email_confirmed_at is None
    with time_machine.travel(start + timedelta(days=3, minutes=-1), tick=False):
        assert client.get(link).status_code == 200
        assert post(client, link).status_code == 302
    assert User.objects.get(commune=commune).email_confirmed_at is not None


def test_a_tampered_or_foreign_link_is_refused(client, commune):
    sign_up(client, commune.slug)
    link = confirmation_link(mail.outbox[0])
    assert client.get(link.replace("/confirmer/", "/confirmer/x")).status_code == 400
    other = CommuneFactory()
    assert post(client, link.replace(f"/{commune.slug}/", f"/{other.slug}/")).status_code == 400
    assert User.objects.get(commune=commune).email_confirmed_at is None


def test_the_confirmed_page_needs_a_confirmation(client, commune):
    response = client.get(url("courriel_confirme", commune.slug))
    assert response.status_code == 302
    assert response["Location"] == f"/{commune.slug}/"


def test_a_new_address_of_an_existing_account_is_confirmed_the_same_way(client, commune):
    user = CitizenFactory(commune=commune, email="ancienne@example.fr")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.request_email_change(user=user, new_email="nouvelle@example.fr")
    link = confirmation_link(mail.outbox[0])
    assert "Confirmez la nouvelle adresse électronique de votre espace" in text_of(client.get(link))
    done = client.get(post(client, link)["Location"])
    assert "Votre nouvelle adresse électronique est confirmée" in text_of(done)
    user.refresh_from_db()
    assert (user.email, user.pending_email) == ("nouvelle@example.fr", "")


# --- « Renvoyer le courriel » --------------------------------------------------------------------


def test_resending_answers_the_same_whatever_the_address(client, commune):
    sign_up(Client(), commune.slug)
    confirmed = CitizenFactory(commune=commune, email="deja@example.fr")
    mail.outbox.clear()
    answers = []
    for email in ("nadia.leroy@example.fr", "inconnue@example.fr", confirmed.email):
        response = post(client, url("renvoyer_confirmation", commune.slug), {"email": email})
        assert response.status_code == 302
        assert response["Location"] == url("renvoyer_confirmation", commune.slug)
        answers.append(text_of(client.get(response["Location"])).replace(email, "ADRESSE"))
    assert answers[0] == answers[1] == answers[2]
    assert "Si un espace correspond à l'adresse ADRESSE, un nouveau courriel" in answers[0]
    assert [(m.to, "confirmez" in m.subject) for m in mail.outbox] == [
        (["nadia.leroy@example.fr"], True),
        (["deja@example.fr"], False),
    ]
    assert "Votre adresse n'est pas encore confirmée" not in mail.outbox[1].body
    # The new link confirms the account.
    assert post(client, confirmation_link(mail.outbox[0])).status_code == 302
    assert User.objects.get(email="nadia.leroy@example.fr").email_confirmed_at is not None


def test_resending_is_rate_limited(client, commune):
    sign_up(Client(), commune.slug)
    mail.outbox.clear()
    resend = url("renvoyer_confirmation", commune.slug)
    for _n in range(services.RESEND_MAX_PER_IDENTIFIER + 2):
        assert post(client, resend, {"email": CONTACT["email"]}).status_code == 302
    assert len(mail.outbox) == services.RESEND_MAX_PER_IDENTIFIER
    for n in range(services.RESEND_MAX_PER_IP - services.RESEND_MAX_PER_IDENTIFIER - 2):
        post(client, resend, {"email": f"autre{n}@example.fr"})
    response = post(client, resend, {"email": "encore@example.fr"})
    assert response.status_code == 429
    assert "Trop de demandes depuis votre connexion Internet" in text_of(response)


def test_the_resend_form_validates_the_address(client, commune):
    response = post(
        client, url("renvoyer_confirmation", commune.slug), {"email": "pas-une-adresse"}
    )
    assert response.status_code == 200
    assert "Indiquez une adresse électronique valide" in error_of(response, "id_email")
    assert value_of(response, "email") == "pas-une-adresse"


def test_the_sent_page_prefills_the_resend_form(client, commune):
    response = sign_up(client, commune.slug)
    page = client.get(response["Location"])
    assert value_of(page, "email") == CONTACT["email"]
