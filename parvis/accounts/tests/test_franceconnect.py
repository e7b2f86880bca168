"""« S'identifier avec FranceConnect » against the local provider, a real HTTP server: the
request's parameters, every check of the answer (each error ends on a French page with the
usual login), the first login (link with the password or an e-mailed link, or a new space with
the certified identity), the next logins, and the logout at FranceConnect."""

import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from parvis.accounts import franceconnect, services
from parvis.accounts.franceconnect_provider import IDENTITIES
from parvis.accounts.models import AuditEntry, FranceConnectConfig, FranceConnectIdentity, User
from parvis.accounts.tests.conftest import CLIENT_ID, CLIENT_SECRET, configure_franceconnect
from parvis.communes.tests.factories import CommuneAdminFactory, CommuneFactory, OperatorFactory
from parvis.families.tests.factories import PASSWORD, CitizenFactory

pytestmark = pytest.mark.django_db

ANGELA = IDENTITIES[0]


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.fixture
def commune(franceconnect_provider):
    commune = CommuneFactory(slug="fc-ville", name="FC-Ville")
    configure_franceconnect(commune)
    return commune


def url(commune, name, **kwargs):
    return reverse(f"accounts:{name}", kwargs={"commune": commune.slug, **kwargs})


def start(client, commune) -> dict:
    """« S'identifier avec FranceConnect »: the authorisation request's parameters."""
    response = client.get(url(commune, "franceconnect_connexion"))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(franceconnect.settings.PARVIS_FRANCECONNECT_DEMO_URL + "/authorize")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def at_provider(params: dict, *, identity=0, mode="normal", action="continuer") -> str:
    """The person's choice on the provider's page: where the provider sends them back."""
    issuer = franceconnect.settings.PARVIS_FRANCECONNECT_DEMO_URL
    answer = requests.post(
        f"{issuer}/authorize",
        data={**params, "identity": identity, "mode": mode, "action": action},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def come_back(client, location: str):
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def franceconnect_round(client, commune, **choice):
    return come_back(client, at_provider(start(client, commune), **choice))


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


# --- The request --------------------------------------------------------------------------------


def test_the_request_carries_state_nonce_acr_and_scopes(client, commune):
    params = start(client, commune)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["acr_values"] == "eidas1"
    assert set(params["scope"].split()) >= {
        "openid",
        "given_name",
        "family_name",
        "birthdate",
        "email",
        "gender",
        "birthplace",
        "birthcountry",
    }
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20
    assert params["redirect_uri"] == "http://testserver/fc-ville/franceconnect/retour/"
    # Two requests, two states and nonces.
    again = start(Client(), commune)
    assert again["state"] != params["state"] and again["nonce"] != params["nonce"]


def test_the_button_shows_where_the_commune_turned_it_on(client, commune, settings):
    for page in (url(commune, "connexion"), url(commune, "creer_mon_espace")):
        text = text_of(client.get(page))
        assert "S'identifier avec FranceConnect" in text
        assert "Qu'est-ce que FranceConnect ?" in text
    FranceConnectConfig.objects.filter(commune=commune).update(enabled=False)
    assert "FranceConnect" not in text_of(client.get(url(commune, "connexion")))
    assert client.get(url(commune, "franceconnect_connexion")).status_code == 404


def test_the_demo_provider_is_off_without_its_setting(client, commune, settings):
    settings.PARVIS_FRANCECONNECT_DEMO = False
    assert franceconnect.config_for(commune) is None
    assert "FranceConnect" not in text_of(client.get(url(commune, "connexion")))
    response = client.get(url(commune, "franceconnect_connexion"))
    assert response.status_code == 404
    assert "La commune ne propose pas FranceConnect" in text_of(response)


# --- First login: a new space -------------------------------------------------------------------


def test_first_login_creates_a_space_with_the_certified_identity(
    client, commune, django_capture_on_commit_callbacks
):
    response = franceconnect_round(client, commune)
    assert response.status_code == 302
    assert response["Location"] == url(commune, "franceconnect_premiere")
    assert not logged_in(client)
    page = client.get(url(commune, "franceconnect_premiere"))
    text = text_of(page)
    assert "Angela Claire Louise" in text and "DUBOIS" in text and "24/08/1962" in text
    assert "certifié par FranceConnect" in text
    assert 'value="wossewodda-3728@yopmail.com"' in page.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(commune, "franceconnect_premiere"),
            {
                "action": "creer",
                "creer-email": "angela.dubois@example.fr",
                "creer-phone": "06 12 34 56 78",
                "creer-address": "3 rue des Lilas",
                "creer-postal_code": "78000",
                "creer-city": "FC-Ville",
                "creer-accept_terms": "on",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == url(commune, "accueil")
    user = User.objects.get(commune=commune, email="angela.dubois@example.fr")
    assert (user.civility, user.first_name, user.last_name) == (
        "mme",
        "Angela Claire Louise",
        "DUBOIS",
    )
    assert not user.has_usable_password()
    identity = user.franceconnect
    assert identity.sub == ANGELA["sub"]
    assert str(identity.birthdate) == "1962-08-24" and identity.birthplace == "75107"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert [m.to for m in mail.outbox] == [["angela.dubois@example.fr"]]  # confirmation
    assert AuditEntry.objects.filter(target_id=str(user.pk), action="account.franceconnect_link")
    # The next login opens it at once.
    other = Client()
    response = franceconnect_round(other, commune)
    assert response.status_code == 302 and response["Location"] == url(commune, "accueil")
    assert other.session[SESSION_KEY] == str(user.pk)


def test_a_new_space_never_takes_an_address_that_has_one(client, commune):
    CitizenFactory(commune=commune, email="deja@example.fr")
    franceconnect_round(client, commune)
    response = client.post(
        url(commune, "franceconnect_premiere"),
        {
            "action": "creer",
            "creer-email": "Deja@example.fr",
            "creer-address": "3 rue des Lilas",
            "creer-postal_code": "78000",
            "creer-city": "FC-Ville",
            "creer-accept_terms": "on",
        },
    )
    assert response.status_code == 200
    assert "Un espace existe déjà avec cette adresse" in text_of(response)
    assert not FranceConnectIdentity.objects.exists()


def test_the_first_login_page_needs_an_identity(client, commune):
    response = client.get(url(commune, "franceconnect_premiere"))
    assert response.status_code == 302 and response["Location"] == url(commune, "connexion")


# --- First login: linking an existing space -----------------------------------------------------


def test_linking_with_the_password_certifies_the_names(client, commune):
    user = CitizenFactory(commune=commune, first_name="Angela", last_name="Dubois-Martin")
    franceconnect_round(client, commune)
    response = client.post(
        url(commune, "franceconnect_premiere"),
        {"action": "relier", "relier-username": user.email, "relier-password": "mauvais"},
    )
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in text_of(response)
    assert not FranceConnectIdentity.objects.exists()
    response = client.post(
        url(commune, "franceconnect_premiere"),
        {"action": "relier", "relier-username": user.email, "relier-password": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == url(commune, "accueil")
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Angela Claire Louise", "DUBOIS")
    assert user.franceconnect.sub == ANGELA["sub"]
    assert client.session[SESSION_KEY] == str(user.pk)
    entry = AuditEntry.objects.get(action="account.franceconnect_link")
    assert entry.changes["last_name"] == ["Dubois-Martin", "DUBOIS"]


def test_linking_by_code_famille_where_families_log_in_so(client, franceconnect_provider):
    commune = CommuneFactory(slug="fc-code", login_with_email=False, login_with_family_code=True)
    configure_franceconnect(commune)
    user = CitizenFactory(commune=commune, family_code="F000042")
    franceconnect_round(client, commune)
    page = text_of(client.get(url(commune, "franceconnect_premiere")))
    assert "J'ai déjà un espace" in page
    assert "Je n'ai pas d'espace" not in page and "Recevoir un lien" not in page
    response = client.post(
        url(commune, "franceconnect_premiere"),
        {"action": "creer", "creer-email": "x@example.fr"},
    )
    assert response.status_code == 200 and not User.objects.filter(email="x@example.fr").exists()
    response = client.post(
        url(commune, "franceconnect_premiere"),
        {"action": "relier", "relier-username": "F000042", "relier-password": PASSWORD},
    )
    assert response.status_code == 302
    assert FranceConnectIdentity.objects.get().user == user


def test_linking_through_an_emailed_link(client, commune, django_capture_on_commit_callbacks):
    user = CitizenFactory(commune=commune, email="angela@example.fr")
    franceconnect_round(client, commune)
    mail.outbox.clear()
    for email in ("inconnue@example.fr", "angela@example.fr"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                url(commune, "franceconnect_premiere"), {"action": "lien", "lien-email": email}
            )
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert f"Si un espace correspond à l'adresse {email}" in text_of(page)
    assert [m.to for m in mail.outbox] == [["angela@example.fr"]]  # the unknown got nothing
    link = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)
    assert not logged_in(client)
    reader = Client()
    page = reader.get(link)  # a mail scanner opening it uses nothing up
    assert page.status_code == 200 and not FranceConnectIdentity.objects.exists()
    response = reader.post(link)
    assert response.status_code == 302 and response["Location"] == url(commune, "connexion")
    assert FranceConnectIdentity.objects.get().user == user
    assert not logged_in(reader)  # the link links; FranceConnect logs in
    assert reader.post(link).status_code == 400  # once only
    assert reader.get(link[:-3] + "xyz/").status_code == 400  # tampered


def test_an_identity_opens_one_space_only(client, commune):
    first = CitizenFactory(commune=commune)
    second = CitizenFactory(commune=commune)
    browsers = [Client(), Client()]
    for browser in browsers:  # both at the first-login page with the same identity
        franceconnect_round(browser, commune)
    responses = [
        browser.post(
            url(commune, "franceconnect_premiere"),
            {"action": "relier", "relier-username": user.email, "relier-password": PASSWORD},
        )
        for browser, user in zip(browsers, (first, second), strict=True)
    ]
    assert responses[0].status_code == 302
    assert responses[1].status_code == 200
    assert "déjà relié" in text_of(responses[1])
    assert FranceConnectIdentity.objects.get().user == first
    assert not logged_in(browsers[1])
    # Its next FranceConnect login opens the first space.
    franceconnect_round(browsers[1], commune)
    assert browsers[1].session[SESSION_KEY] == str(first.pk)


# --- Every error ends on a French page with the usual login -------------------------------------


ERROR_CASES = [
    ("annuler", "normal", 200, "Vous avez annulé l'identification sur FranceConnect"),
    ("continuer", "wrong_state", 400, "ne correspond pas à une demande de ce navigateur"),
    ("continuer", "expired_code", 400, "FranceConnect a refusé l'autorisation, expirée"),
    ("continuer", "bad_signature", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "wrong_nonce", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "wrong_issuer", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "wrong_audience", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "expired_id_token", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "wrong_acr", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "userinfo_bad_signature", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "userinfo_other_sub", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "userinfo_wrong_audience", 400, "n'a pas passé les contrôles de sécurité"),
    ("continuer", "token_error", 502, "FranceConnect est indisponible pour le moment"),
]


@pytest.mark.parametrize(("action", "mode", "status", "words"), ERROR_CASES)
def test_every_refusal_ends_on_a_french_page(client, commune, action, mode, status, words):
    CitizenFactory(commune=commune)
    response = franceconnect_round(client, commune, mode=mode, action=action)
    assert response.status_code == status
    text = text_of(response)
    assert words in text
    assert "Me connecter avec mon identifiant et mon mot de passe" in text
    assert url(commune, "connexion") in response.content.decode()
    assert not logged_in(client)
    assert not FranceConnectIdentity.objects.exists()
    assert client.session.get(f"parvis.franceconnect.identity.{commune.pk}") is None


def test_an_answer_replayed_or_from_another_browser_is_refused(client, commune):
    location = at_provider(start(client, commune))
    assert come_back(Client(), location).status_code == 400  # another browser: no state
    assert come_back(client, location).status_code == 302  # this one
    replay = come_back(Client(), location)
    assert replay.status_code == 400
    assert come_back(client, location).status_code == 400  # its state is spent


def _closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def test_a_provider_that_does_not_answer(client, commune, settings):
    settings.PARVIS_FRANCECONNECT_DEMO_URL = f"http://127.0.0.1:{_closed_port()}/api/v2"
    response = client.get(url(commune, "franceconnect_connexion"))
    assert response.status_code == 502
    assert "FranceConnect est indisponible pour le moment" in text_of(response)


def test_a_provider_that_goes_down_before_the_way_back(client, commune, settings):
    location = at_provider(start(client, commune))
    settings.PARVIS_FRANCECONNECT_DEMO_URL = f"http://127.0.0.1:{_closed_port()}/api/v2"
    response = come_back(client, location)
    assert response.status_code == 502
    assert not logged_in(client)


def test_the_issuer_is_the_configured_one_not_the_discoverys(commune, franceconnect_provider):
    config = FranceConnectConfig.objects.get(commune=commune)
    options = franceconnect.claims_options(config, franceconnect.issuer_of(config))
    assert options["iss"]["value"] == franceconnect_provider.url
    assert options["aud"]["value"] == CLIENT_ID
    assert options["acr"]["values"][0] == "eidas1"


def test_the_access_token_is_not_taken_for_expired(commune):
    # FranceConnect's access token lives 60 s: authlib's default leeway (60 s) would think it
    # expired before the userinfo call.
    config = FranceConnectConfig.objects.get(commune=commune)
    assert franceconnect.client(config).client_kwargs["leeway"] < 60


# --- Certified fields ---------------------------------------------------------------------------


def _certified_user(client, commune) -> User:
    user = CitizenFactory(commune=commune, first_name="Angela", city="Ancienne")
    franceconnect_round(client, commune)
    client.post(
        url(commune, "franceconnect_premiere"),
        {"action": "relier", "relier-username": user.email, "relier-password": PASSWORD},
    )
    user.refresh_from_db()
    return user


def test_certified_fields_are_never_edited_afterwards(client, commune):
    user = _certified_user(client, commune)
    services.update_coordinates(user=user, first_name="Autre", last_name="NOM", city="Nouvelle")
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.city) == (
        "Angela Claire Louise",
        "DUBOIS",
        "Nouvelle",
    )
    page = client.get(url(commune, "mes_informations") + "?onglet=coordonnees")
    text = text_of(page)
    assert "Angela Claire Louise certifié par FranceConnect" in text
    assert 'name="first_name"' in page.content.decode()
    assert 'type="text" name="first_name"' not in page.content.decode()
    other = CitizenFactory(commune=commune)
    assert other.certified_fields == ()


# --- Logout at FranceConnect --------------------------------------------------------------------


def test_logout_goes_through_franceconnect(client, commune, franceconnect_provider):
    user = _certified_user(client, commune)
    id_token = client.session["parvis.franceconnect.id_token"]
    response = client.post(url(commune, "deconnexion"))
    assert response.status_code == 200
    assert not logged_in(client)
    link = re.search(r"<a[^>]*data-franceconnect-go[^>]*>", response.content.decode()).group(0)
    logout_url = re.search(r'href="([^"]+)"', link).group(1).replace("&amp;", "&")
    params = {k: v[0] for k, v in parse_qs(urlsplit(logout_url).query).items()}
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == (
        "http://testserver/fc-ville/franceconnect/deconnexion/"
    )
    assert params["state"]
    back = requests.get(logout_url, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    response = come_back(client, back.headers["Location"])
    assert response.status_code == 302
    assert "Vous êtes déconnecté de votre espace et de FranceConnect" in text_of(
        client.get(response["Location"])
    )
    # A way back with another state is not FranceConnect's answer to us.
    response = client.get(url(commune, "franceconnect_sortie") + "?state=autre")
    assert response.status_code == 302
    assert user.pk


def test_logout_without_franceconnect_stays_plain(client, commune):
    user = CitizenFactory(commune=commune)
    client.force_login(user)
    response = client.post(url(commune, "deconnexion"))
    assert response.status_code == 302


# --- Admin: the secret is never shown back ------------------------------------------------------


def test_the_admin_never_shows_the_secret_back(commune):
    operator = OperatorFactory()
    admin = Client()
    admin.force_login(operator)
    config = FranceConnectConfig.objects.get(commune=commune)
    change = reverse("admin:accounts_franceconnectconfig_change", args=[config.pk])
    page = admin.get(change).content.decode()
    assert CLIENT_SECRET not in page
    assert "••••••••" + CLIENT_SECRET[-4:] in page
    response = admin.post(
        change,
        {
            "commune": commune.pk,
            "enabled": "on",
            "platform": "integration",
            "client_id": "autre-client",
            "client_secret": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    config.refresh_from_db()
    assert (config.client_id, config.client_secret) == ("autre-client", CLIENT_SECRET)


def test_queries_of_a_returning_login_are_bounded(client, commune, django_assert_max_num_queries):
    _certified_user(Client(), commune)
    location = at_provider(start(client, commune))
    with django_assert_max_num_queries(15):
        response = come_back(client, location)
    assert response.status_code == 302 and logged_in(client)


def test_a_cancelled_request_spends_its_state(client, commune):
    params = start(client, commune)
    assert [key for key in client.session.keys() if key.startswith("_state_")]  # noqa: SIM118 — no __iter__
    come_back(client, at_provider(params, action="annuler"))
    assert not [key for key in client.session.keys() if key.startswith("_state_")]  # noqa: SIM118 — no __iter__


def test_a_commune_administrator_manages_only_their_communes_client(commune, settings):
    other = CommuneFactory()
    configure_franceconnect(other, client_id="client-de-l-autre")
    administrator = CommuneAdminFactory(commune=commune)
    admin = Client()
    admin.force_login(administrator)
    listing = admin.get(reverse("admin:accounts_franceconnectconfig_changelist"))
    assert listing.status_code == 200
    assert CLIENT_ID in listing.content.decode()
    assert "client-de-l-autre" not in listing.content.decode()
    theirs = FranceConnectConfig.objects.get(commune=other)
    change = reverse("admin:accounts_franceconnectconfig_change", args=[theirs.pk])
    assert admin.get(change).status_code in {302, 404}
    # One client per commune: no second one (never a server error).
    add = reverse("admin:accounts_franceconnectconfig_add")
    response = admin.post(add, {"platform": "production", "client_id": "x", "client_secret": "y"})
    assert response.status_code == 403
    assert FranceConnectConfig.objects.filter(commune=commune).count() == 1
    # The demo provider is offered only where it is on.
    mine = reverse(
        "admin:accounts_franceconnectconfig_change",
        args=[FranceConnectConfig.objects.get(commune=commune).pk],
    )
    assert '<option value="demo"' in admin.get(mine).content.decode()
    settings.PARVIS_FRANCECONNECT_DEMO = False
    assert '<option value="demo"' not in admin.get(mine).content.decode()
    # A commune without a client adds its own.
    FranceConnectConfig.objects.filter(commune=commune).delete()
    response = admin.post(add, {"platform": "production", "client_id": "x", "client_secret": "y"})
    assert response.status_code == 302
    assert FranceConnectConfig.objects.get(commune=commune).client_secret == "y"
