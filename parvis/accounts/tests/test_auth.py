"""Logging in (e-mail and code famille), first login, forgotten password, logging out and
« Mon accueil »."""

import re
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from parvis.accounts import services
from parvis.accounts.models import Attempt, AuditEntry, User
from parvis.communes.demo import DEMO_PASSWORD
from parvis.communes.tests.factories import CommuneFactory, OperatorFactory, ServiceFactory
from parvis.families import demo as families_demo
from parvis.families.tests.factories import (
    PASSWORD,
    AgentFactory,
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
CSP = "carrieres-sous-poissy"
CSS = "carrieres-sur-seine"
GENERIC_ERROR = "Identifiant ou mot de passe incorrect."
# Where families log in only with a code famille, the error names it.
CODE_ERROR = "Code famille ou mot de passe incorrect."
NEW_PASSWORD = "Un-nouveau-mot-de-passe-2026"


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.replace("&#x27;", "'").replace("&quot;", '"')


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def input_value(response, name: str) -> str | None:
    """The value attribute of the input `name`, None when it has none."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())
    assert match, f"no input {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def url(name: str, commune, **kwargs) -> str:
    slug = commune if isinstance(commune, str) else commune.slug
    return reverse(f"accounts:{name}", kwargs={"commune": slug, **kwargs})


def login(client, commune, identifier, password=PASSWORD, **extra):
    return client.post(
        url("connexion", commune), {"username": identifier, "password": password, **extra}
    )


@pytest.fixture
def email_commune():
    return CommuneFactory(login_with_email=True, login_with_family_code=False)


@pytest.fixture
def code_commune():
    return CommuneFactory(login_with_email=False, login_with_family_code=True)


@pytest.fixture
def both_commune():
    return CommuneFactory(login_with_email=True, login_with_family_code=True)


@pytest.fixture
def citizen(email_commune):
    return CitizenFactory(commune=email_commune, email="francoise@example.fr")


@pytest.fixture
def family_code_user(code_commune):
    return CitizenFactory(
        commune=code_commune,
        family_code="F000123",
        email="",
        email_confirmed_at=None,
        civility="m",
        last_name="Moreau",
    )


@pytest.fixture
def demo(demo_communes):
    families_demo.load()
    return demo_communes


# --- Logging in ----------------------------------------------------------------------------------


def test_login_by_email_whatever_its_case(client, citizen):
    response = login(client, citizen.commune, "  FRANCOISE@Example.FR ")
    assert response.status_code == 302
    assert response["Location"] == url("accueil", citizen.commune)
    assert int(client.session[SESSION_KEY]) == citizen.pk
    greeting = f"Bonjour Madame {citizen.last_name.upper()}"
    assert greeting in text_of(client.get(response["Location"]))


def test_login_by_family_code(client, family_code_user):
    response = login(client, family_code_user.commune, "f000123")
    assert response["Location"] == url("accueil", family_code_user.commune)
    page = client.get(response["Location"])
    assert "Bonjour Monsieur MOREAU" in text_of(page)


def test_a_code_famille_commune_refuses_login_by_email(client, code_commune):
    user = CitizenFactory(commune=code_commune, family_code="F000777", email="sophie@example.fr")
    response = login(client, code_commune, "sophie@example.fr")
    assert response.status_code == 200
    assert CODE_ERROR in text_of(response)
    assert SESSION_KEY not in client.session
    assert login(client, code_commune, user.family_code).status_code == 302


def test_an_email_commune_refuses_login_by_family_code(client, email_commune):
    user = CitizenFactory(commune=email_commune, family_code="F000777", email="sophie@example.fr")
    response = login(client, email_commune, "F000777")
    assert GENERIC_ERROR in text_of(response)
    assert SESSION_KEY not in client.session
    assert login(client, email_commune, user.email).status_code == 302


def test_a_commune_with_both_modes_accepts_both(client, both_commune):
    user = CitizenFactory(commune=both_commune, family_code="F000777", email="sophie@example.fr")
    assert login(client, both_commune, "F000777").status_code == 302
    assert login(Client(), both_commune, user.email).status_code == 302


@pytest.mark.parametrize(
    ("modes", "label"),
    [
        ({"login_with_email": True, "login_with_family_code": False}, "Identifiant"),
        ({"login_with_email": False, "login_with_family_code": True}, "Code famille"),
        ({"login_with_email": True, "login_with_family_code": True}, "Courriel ou code famille"),
    ],
)
def test_the_identifier_is_labelled_by_the_communes_modes(client, modes, label):
    commune = CommuneFactory(**modes)
    response = client.get(url("connexion", commune))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'<label for="id_username">{label}</label>', html), html
    assert '<label for="id_password">Mot de passe</label>' in html
    assert "J'ai oublié mon mot de passe" in text_of(response)
    assert re.search(r"<button[^>]*>\s*Connexion\s*</button>", html)


def test_the_home_page_form_logs_in(client, demo):
    home = client.get(f"/{CSP}/")
    html = home.content.decode()
    action = re.search(
        r'<form method="post" action="([^"]+)" class="form" novalidate>', html
    ).group(1)
    assert action == url("connexion", CSP)
    assert 'name="username"' in html and 'name="password"' in html
    response = client.post(
        action, {"username": families_demo.CITIZEN_EMAIL, "password": DEMO_PASSWORD}
    )
    assert response["Location"] == url("accueil", CSP)
    assert "Bonjour Madame DURAND" in text_of(client.get(response["Location"]))


def test_wrong_password_one_generic_message_identifier_kept_password_emptied(client, citizen):
    wrong = login(client, citizen.commune, "francoise@example.fr", "not-the-password")
    unknown = login(client, citizen.commune, "nobody@example.fr", "not-the-password")
    for response, identifier in ((wrong, "francoise@example.fr"), (unknown, "nobody@example.fr")):
        assert response.status_code == 200
        assert GENERIC_ERROR in text_of(response)
        assert input_value(response, "username") == identifier
        assert input_value(response, "password") is None
        assert "not-the-password" not in response.content.decode()
    # Nothing tells a known address from an unknown one.
    assert without_csrf(wrong).replace("francoise@", "nobody@") == without_csrf(unknown)
    assert SESSION_KEY not in client.session
    assert list(
        Attempt.objects.filter(kind=Attempt.Kind.LOGIN)
        .order_by("id")
        .values_list("identifier", "succeeded")
    ) == [("francoise@example.fr", False), ("nobody@example.fr", False)]


def test_empty_fields_say_what_is_missing(client, citizen):
    response = client.post(url("connexion", citizen.commune), {"username": "", "password": ""})
    text = text_of(response)
    assert "Indiquez votre identifiant." in text
    assert "Indiquez votre mot de passe." in text
    assert not Attempt.objects.exists()


def test_the_same_email_in_two_communes_is_two_accounts(client):
    a = CommuneFactory()
    b = CommuneFactory()
    in_a = CitizenFactory(commune=a, email="parent@example.fr", password="mot-de-passe-de-a")
    in_b = CitizenFactory(commune=b, email="parent@example.fr", password="mot-de-passe-de-b")
    # A's password does not open B's account.
    assert GENERIC_ERROR in text_of(login(client, b, "parent@example.fr", "mot-de-passe-de-a"))
    assert login(client, a, "parent@example.fr", "mot-de-passe-de-a").status_code == 302
    assert int(client.session[SESSION_KEY]) == in_a.pk
    assert client.get(url("accueil", a)).status_code == 200
    # Logged in at A, B's space sends to B's login page.
    response = client.get(url("accueil", b))
    assert response.status_code == 302
    assert response["Location"].startswith(url("connexion", b) + "?next=")
    # B's login page offers to log in, not A's name.
    assert in_a.last_name not in text_of(client.get(url("connexion", b)))
    assert login(client, b, "parent@example.fr", "mot-de-passe-de-b").status_code == 302
    assert int(client.session[SESSION_KEY]) == in_b.pk
    # Now A's space asks again: one account at a time, in its own commune.
    assert client.get(url("accueil", a)).status_code == 302


def test_the_session_key_changes_at_login(client, citizen):
    client.get(url("connexion", citizen.commune))
    session = client.session
    session["before"] = "login"
    session.save()
    before = session.session_key
    login(client, citizen.commune, citizen.email)
    assert client.session.session_key != before
    assert int(client.session[SESSION_KEY]) == citizen.pk


def test_the_previous_login_is_shown_not_the_current_one(client, citizen):
    commune = citizen.commune
    with time_machine.travel(datetime(2022, 1, 12, 14, 33, tzinfo=PARIS), tick=False):
        login(client, commune, citizen.email)
        first = text_of(client.get(url("accueil", commune)))
        assert "Première connexion" in first
        assert "Dernière connexion" not in first
        client.post(url("deconnexion", commune))
    with time_machine.travel(datetime(2022, 7, 1, 9, 5, tzinfo=PARIS), tick=False):
        login(client, commune, citizen.email)
        text = text_of(client.get(url("accueil", commune)))
    assert "Dernière connexion le 12/01/2022 à 14:33" in text
    assert "01/07/2022" not in text
    citizen.refresh_from_db()
    assert citizen.last_login == datetime(2022, 7, 1, 9, 5, tzinfo=PARIS)


def test_an_unconfirmed_account_is_refused_with_an_offer_to_resend(client, email_commune):
    user = CitizenFactory(
        commune=email_commune, email="nouveau@example.fr", email_confirmed_at=None
    )
    response = login(client, email_commune, user.email)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    text = text_of(response)
    assert "Votre adresse électronique n'est pas encore confirmée" in text
    assert GENERIC_ERROR not in text
    resend = url("renvoyer_confirmation", email_commune)
    form = re.search(
        rf'<form method="post" action="{resend}">(.*?)</form>', without_csrf(response), re.S
    )
    assert form, "no resend form"
    assert 'name="email" value="nouveau@example.fr"' in form.group(1)
    assert "Renvoyer le courriel de confirmation" in form.group(1)
    # With a wrong password, the generic message only (nothing said about the account).
    wrong = login(client, email_commune, user.email, "pas-le-bon-mot-de-passe")
    assert GENERIC_ERROR in text_of(wrong)
    assert "confirmée" not in text_of(wrong)


def test_staff_accounts_cannot_log_in_as_citizens(client, email_commune):
    agent = AgentFactory(commune=email_commune, email="agent@mairie.fr")
    operator = OperatorFactory(email="operateur@example.fr")
    for user in (agent, operator):
        response = login(client, email_commune, user.email, "mot-de-passe-de-test")
        assert GENERIC_ERROR in text_of(response)
        assert SESSION_KEY not in client.session


def test_a_logged_in_staff_member_does_not_reach_mon_accueil(client, email_commune):
    agent = AgentFactory(commune=email_commune)
    client.force_login(agent)
    assert client.get(url("accueil", email_commune)).status_code == 302


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/other-commune/mon-espace/",
        "/{slug}/../other-commune/mon-espace/",
        "/{slug}/%2e%2e/other-commune/mon-espace/",
        "javascript:alert(1)",
    ],
)
def test_next_never_leaves_the_commune(client, citizen, next_url):
    commune = citizen.commune
    response = login(client, commune, citizen.email, next=next_url.format(slug=commune.slug))
    assert response.status_code == 302
    assert response["Location"] == url("accueil", commune)


def test_next_within_the_commune_is_followed(client, citizen):
    commune = citizen.commune
    target = f"/{commune.slug}/infos-pratiques/?onglet=1"
    page = client.get(url("connexion", commune), {"next": target})
    assert input_value(page, "next") == target.replace("&", "&amp;")
    response = login(client, commune, citizen.email, next=target)
    assert response["Location"] == target


def test_mon_accueil_asks_to_log_in_and_comes_back(client, citizen):
    commune = citizen.commune
    response = client.get(url("accueil", commune))
    assert response.status_code == 302
    assert response["Location"] == url("connexion", commune) + "?" + urlencode(
        {"next": url("accueil", commune)}
    )
    login_page = client.get(response["Location"])
    assert input_value(login_page, "next") == url("accueil", commune)
    back = login(client, commune, citizen.email, next=url("accueil", commune))
    assert back["Location"] == url("accueil", commune)


def test_csrf_is_enforced():
    commune = CommuneFactory()
    user = CitizenFactory(commune=commune)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        url("connexion", commune), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert SESSION_KEY not in client.session
    assert (
        client.post(url("mot_de_passe_oublie", commune), {"identifier": user.email}).status_code
        == 403
    )
    assert not mail.outbox


def test_logging_out_is_a_post_and_leads_home(client, citizen):
    commune = citizen.commune
    login(client, commune, citizen.email)
    assert client.get(url("deconnexion", commune)).status_code == 405
    assert int(client.session[SESSION_KEY]) == citizen.pk
    response = client.post(url("deconnexion", commune), follow=True)
    assert response.redirect_chain == [(f"/{commune.slug}/", 302)]
    assert "Vous êtes déconnecté de votre espace." in text_of(response)
    assert SESSION_KEY not in client.session
    assert client.get(url("accueil", commune)).status_code == 302


def test_the_header_shows_who_is_logged_in(client, citizen):
    commune = citizen.commune
    anonymous = client.get(f"/{commune.slug}/infos-pratiques/").content.decode()
    assert f'<a class="account-area__link" href="{url("connexion", commune)}">Connexion</a>' in (
        anonymous
    )
    assert "Se déconnecter" not in anonymous
    login(client, commune, citizen.email)
    page = client.get(f"/{commune.slug}/infos-pratiques/")
    html = page.content.decode()
    assert f"Françoise {citizen.last_name}" in text_of(page)
    assert re.search(
        rf'<form method="post"\s+action="{url("deconnexion", commune)}"\s+'
        r'aria-label="Déconnexion">\s*<input type="hidden" name="csrfmiddlewaretoken"',
        html,
    )
    assert "Se déconnecter" in html
    # In another commune, the account is nobody.
    other = CommuneFactory()
    assert "Se déconnecter" not in client.get(f"/{other.slug}/").content.decode()


def test_a_logged_in_citizen_visiting_the_login_page_goes_to_mon_accueil(client, citizen):
    login(client, citizen.commune, citizen.email)
    response = client.get(url("connexion", citizen.commune))
    assert response["Location"] == url("accueil", citizen.commune)


# --- First login with a code famille -------------------------------------------------------------


def first_login(client, **data):
    return client.post(
        url("premiere_connexion", CSS),
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "email": "karim.moreau@example.fr",
            **data,
        },
    )


def test_first_login_with_a_code_famille(client, demo, django_capture_on_commit_callbacks):
    code, temporary = families_demo.FAMILY_CODE_FIRST_LOGIN, families_demo.FIRST_LOGIN_PASSWORD
    response = login(client, CSS, code, temporary)
    assert response["Location"] == url("premiere_connexion", CSS)
    # Nothing else of the space opens before the family chooses its password.
    assert client.get(url("accueil", CSS))["Location"] == url("premiere_connexion", CSS)
    page = client.get(url("premiere_connexion", CSS))
    assert page.status_code == 200
    assert "Première connexion : choisissez votre mot de passe" in text_of(page)

    with django_capture_on_commit_callbacks(execute=True):
        response = first_login(client, email="Karim.Moreau@Example.fr")
    assert response["Location"] == url("accueil", CSS)
    home = client.get(response["Location"])  # the session survives the password change
    assert home.status_code == 200
    assert "Bonjour Monsieur MOREAU" in text_of(home)
    assert "Un lien de confirmation vient de partir à karim.moreau@example.fr" in text_of(home)

    user = User.objects.get(family_code=code)
    assert not user.must_choose_password
    assert user.pending_email == "karim.moreau@example.fr"
    assert user.email == ""  # until confirmed: no reset link goes to an unchecked address
    assert [m.to for m in mail.outbox] == [["karim.moreau@example.fr"]]
    assert "/confirmer/" in mail.outbox[0].body
    assert AuditEntry.objects.filter(action="account.first_login", target_id=str(user.pk)).exists()

    # The temporary password no longer works; the chosen one does, while the e-mail waits.
    other = Client()
    assert CODE_ERROR in text_of(login(other, CSS, code, temporary))
    response = login(other, CSS, code, NEW_PASSWORD)
    assert response["Location"] == url("accueil", CSS)


def test_first_login_form_errors_keep_the_entries(client, demo):
    login(client, CSS, families_demo.FAMILY_CODE_FIRST_LOGIN, families_demo.FIRST_LOGIN_PASSWORD)
    response = first_login(client, new_password2="autre-chose-2026")
    assert response.status_code == 200
    assert "Les deux mots de passe ne sont pas identiques." in text_of(response)
    assert input_value(response, "email") == "karim.moreau@example.fr"
    short = first_login(client, new_password1="court", new_password2="court", email="")
    text = text_of(short)
    assert "au minimum 10 caractères" in text
    assert "Indiquez votre adresse électronique." in text
    temporary = first_login(
        client,
        new_password1=families_demo.FIRST_LOGIN_PASSWORD,
        new_password2=families_demo.FIRST_LOGIN_PASSWORD,
    )
    assert "différent du mot de passe provisoire" in text_of(temporary)
    taken = first_login(client, email="sophie.martin@example.fr")
    assert "déjà celle d'un autre espace" in text_of(taken)
    user = User.objects.get(family_code=families_demo.FAMILY_CODE_FIRST_LOGIN)
    assert user.must_choose_password
    assert user.check_password(families_demo.FIRST_LOGIN_PASSWORD)


def test_first_login_page_is_for_accounts_that_must_choose(client, demo):
    assert client.get(url("premiere_connexion", CSS))["Location"] == url("connexion", CSS)
    login(client, CSS, families_demo.FAMILY_CODE_READY, DEMO_PASSWORD)
    assert client.get(url("premiere_connexion", CSS))["Location"] == url("accueil", CSS)


# --- Forgotten password --------------------------------------------------------------------------


def ask_reset(client, commune, identifier, **extra):
    return client.post(url("mot_de_passe_oublie", commune), {"identifier": identifier}, **extra)


def reset_link(message) -> str:
    match = re.search(r"http://testserver(/\S+/mot-de-passe-oublie/\S+/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_the_reset_answer_is_the_same_for_known_and_unknown_addresses(
    client, citizen, django_capture_on_commit_callbacks
):
    commune = citizen.commune
    with django_capture_on_commit_callbacks(execute=True):
        known = ask_reset(client, commune, citizen.email)
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        unknown = ask_reset(client, commune, "personne@example.fr")
    assert len(mail.outbox) == 1
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known) == without_csrf(unknown)
    assert "Si cette adresse correspond à un espace" in text_of(known)
    assert mail.outbox[0].to == [citizen.email]
    assert reset_link(mail.outbox[0]).startswith(f"/{commune.slug}/mot-de-passe-oublie/")


def test_reset_by_code_famille_reminds_the_code(client, demo, django_capture_on_commit_callbacks):
    page = client.get(url("mot_de_passe_oublie", CSS))
    assert "Vos code famille et mot de passe vous seront communiqués par mail" in text_of(page)
    assert "lien pour choisir un nouveau mot de passe" in text_of(page)
    with django_capture_on_commit_callbacks(execute=True):
        by_code = ask_reset(client, CSS, families_demo.FAMILY_CODE_READY.lower())
        by_email = ask_reset(client, CSS, "sophie.martin@example.fr")
        # MOREAU has no confirmed e-mail yet: nothing leaves, same answer.
        no_email = ask_reset(client, CSS, families_demo.FAMILY_CODE_FIRST_LOGIN)
    assert without_csrf(by_code) == without_csrf(by_email) == without_csrf(no_email)
    assert [m.to for m in mail.outbox] == [["sophie.martin@example.fr"]] * 2
    for message in mail.outbox:
        assert "Votre code famille (votre identifiant) : F000001" in message.body


def test_the_reset_link_works_once(client, citizen, django_capture_on_commit_callbacks):
    commune = citizen.commune
    with django_capture_on_commit_callbacks(execute=True):
        ask_reset(client, commune, citizen.email)
    link = reset_link(mail.outbox[0])
    response = client.get(link)
    # The token leaves the address bar for the session.
    assert response.status_code == 302
    placeholder = response["Location"]
    assert placeholder.endswith("/choisir/")
    assert link.split("/")[-2] not in placeholder
    page = client.get(placeholder)
    assert page.status_code == 200
    assert link.split("/")[-2] not in page.content.decode()
    assert "Choisissez un nouveau mot de passe" in text_of(page)
    done = client.post(
        placeholder, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert done.redirect_chain == [(url("connexion", commune), 302)]
    assert "Votre mot de passe est changé." in text_of(done)
    assert GENERIC_ERROR in text_of(login(Client(), commune, citizen.email, PASSWORD))
    assert login(Client(), commune, citizen.email, NEW_PASSWORD).status_code == 302
    # A second use of the same link: refused, with a way to ask again.
    again = Client().get(link)
    assert again.status_code == 200
    assert "Ce lien n'est plus valable" in text_of(again)
    assert url("mot_de_passe_oublie", commune) in again.content.decode()
    assert client.get(placeholder).status_code == 200
    assert "Ce lien n'est plus valable" in text_of(client.get(placeholder))


@pytest.mark.parametrize(("minutes", "valid"), [(59, True), (61, False)])
def test_the_reset_link_expires_within_the_hour(
    client, citizen, django_capture_on_commit_callbacks, minutes, valid
):
    start = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    with (
        time_machine.travel(start, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ask_reset(client, citizen.commune, citizen.email)
    link = reset_link(mail.outbox[0])
    with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
        response = client.get(link, follow=True)
        data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        posted = client.post(response.redirect_chain[-1][0], data) if valid else None
    if valid:
        assert "Choisissez un nouveau mot de passe" in text_of(response)
        assert posted.status_code == 302
    else:
        assert "Ce lien n'est plus valable" in text_of(response)
    citizen.refresh_from_db()
    assert citizen.check_password(NEW_PASSWORD) is valid


def test_a_new_password_ends_the_other_sessions_and_the_first_login(
    client, demo, django_capture_on_commit_callbacks
):
    elsewhere = Client()
    login(elsewhere, CSP, families_demo.CITIZEN_EMAIL, DEMO_PASSWORD)
    assert elsewhere.get(url("accueil", CSP)).status_code == 200
    user = User.objects.get(email=families_demo.CITIZEN_EMAIL)
    User.objects.filter(pk=user.pk).update(must_choose_password=True)
    with django_capture_on_commit_callbacks(execute=True):
        ask_reset(client, CSP, families_demo.CITIZEN_EMAIL)
    page = client.get(reset_link(mail.outbox[0]), follow=True)
    client.post(
        page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    response = elsewhere.get(url("accueil", CSP))
    assert response.status_code == 302
    assert response["Location"].startswith(url("connexion", CSP))
    user.refresh_from_db()
    assert not user.must_choose_password


def test_a_reset_link_is_valid_only_in_its_commune(client, citizen):
    from parvis.accounts.services import password_reset_url

    link = password_reset_url(citizen)
    other = CommuneFactory()
    foreign = link.replace(f"/{citizen.commune.slug}/", f"/{other.slug}/")
    assert "Ce lien n'est plus valable" in text_of(client.get(foreign))
    for broken in ("/x/y/", "/MTIzNDU2/abc-def/", "/_-_-/choisir/"):
        response = client.get(f"/{citizen.commune.slug}/mot-de-passe-oublie{broken}")
        assert response.status_code == 200
        assert "Ce lien n'est plus valable" in text_of(response)
    # Straight to the placeholder, without the session token: refused.
    uid = link.split("/")[-3]
    response = Client().get(
        url("nouveau_mot_de_passe", citizen.commune, uidb64=uid, token="choisir")
    )
    assert "Ce lien n'est plus valable" in text_of(response)


def test_the_new_password_form_checks_the_password(
    client, citizen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask_reset(client, citizen.commune, citizen.email)
    page = client.get(reset_link(mail.outbox[0]), follow=True)
    placeholder = page.redirect_chain[-1][0]
    response = client.post(
        placeholder, {"new_password1": "1234567890", "new_password2": "1234567890"}
    )
    assert response.status_code == 200
    assert "entièrement numérique" in text_of(response)
    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD)


def test_reset_requests_are_rate_limited_per_address_with_the_same_answer(
    client, citizen, django_capture_on_commit_callbacks
):
    commune = citizen.commune
    reference = None
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(services.PASSWORD_RESET_MAX_PER_IP):
            response = ask_reset(client, commune, f"inconnu{n}@example.fr")
            reference = reference or without_csrf(response)
        blocked = ask_reset(client, commune, citizen.email)
    assert without_csrf(blocked) == reference
    assert not mail.outbox
    last = Attempt.objects.filter(kind=Attempt.Kind.PASSWORD_RESET).latest("id")
    assert last.blocked and last.identifier == citizen.email
    # Another address is not concerned.
    with django_capture_on_commit_callbacks(execute=True):
        ask_reset(Client(), commune, citizen.email, REMOTE_ADDR="192.0.2.7")
    assert len(mail.outbox) == 1
    # An hour later, this address may ask again.
    with (
        time_machine.travel(timedelta(hours=1, minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ask_reset(client, commune, citizen.email)
    assert len(mail.outbox) == 2


def test_one_account_gets_a_few_reset_emails_per_hour_at_most(
    client, citizen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(services.PASSWORD_RESET_MAX_PER_IDENTIFIER + 2):
            ask_reset(Client(), citizen.commune, citizen.email, REMOTE_ADDR=f"192.0.2.{n + 1}")
    assert len(mail.outbox) == services.PASSWORD_RESET_MAX_PER_IDENTIFIER


# --- Mon accueil ---------------------------------------------------------------------------------


def test_mon_accueil_of_the_demo_citizen(client, demo):
    user = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    client.force_login(user)  # the session of the demo: previous login 12/01/2022 14:33
    response = client.get(url("accueil", CSP))
    assert response.status_code == 200
    text = text_of(response)
    assert "Bonjour Madame DURAND Dernière connexion le 12/01/2022 à 14:33" in text
    assert "Famille DURAND" in text
    assert "Enfants : Hugo, Léa" in text
    html = response.content.decode()
    assert f'href="{url("mes_informations", CSP)}"' in html
    assert f'href="{url("modifier_espace", CSP)}"' in html
    assert re.search(r'<a href="[^"]+"\s+aria-current="page">Mon accueil</a>', html)
    # A family linked: no need to explain how to get a key.
    assert "Reliez votre espace à votre famille" not in text


def test_mon_accueil_without_family_explains_the_key(client, email_commune):
    ServiceFactory(
        commune=email_commune,
        name="Accueils périscolaires",
        key_label="Clé Espace Citoyens Enfance",
        email="periscolaire@example.fr",
        phone="01 39 22 36 66",
    )
    ServiceFactory(commune=email_commune, name="État-civil", key_label="")
    user = CitizenFactory(commune=email_commune)
    client.force_login(user)
    text = text_of(client.get(url("accueil", email_commune)))
    assert "Reliez votre espace à votre famille" in text
    assert "Clé Espace Citoyens Enfance — Accueils périscolaires" in text
    assert "periscolaire@example.fr" in text and "01 39 22 36 66" in text
    assert "État-civil" not in text
    assert "« Modification de votre espace »" in text


def test_mon_accueil_shows_only_the_accounts_families_of_this_commune(client, email_commune):
    user = CitizenFactory(commune=email_commune)
    mine = FamilleFactory(commune=email_commune, name="DUPONT")
    ChildFactory(famille=mine, first_names="Zoé")
    FamilyAccessFactory(famille=mine, user=user)
    FamilleFactory(commune=email_commune, name="VOISIN")
    client.force_login(user)
    text = text_of(client.get(url("accueil", email_commune)))
    assert "Famille DUPONT" in text and "Enfant : Zoé" in text
    assert "VOISIN" not in text


@pytest.mark.parametrize("families", [1, 3])
def test_mon_accueil_costs_the_same_queries_whatever_the_families(
    client, email_commune, django_assert_max_num_queries, families
):
    user = CitizenFactory(commune=email_commune)
    for _ in range(families):
        famille = FamilleFactory(commune=email_commune)
        ChildFactory.create_batch(2, famille=famille)
        FamilyAccessFactory(famille=famille, user=user)
    client.force_login(user)
    # session, user, commune, accesses with families, members
    with django_assert_max_num_queries(5):
        response = client.get(url("accueil", email_commune))
    assert response.status_code == 200
    assert text_of(response).count("Famille FAMILLE") == families
