"""Agents' sessions (issue 24 §1): a browser-session cookie, PARVIS_AGENT_IDLE_TIMEOUT without a
request, PARVIS_AGENT_SESSION_MAX_AGE at most, and a warning page that gives back what was typed.
Citizens keep their session length."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from parvis.accounts import middleware
from parvis.accounts.models import AgentRole
from parvis.communes.tests.factories import CommuneFactory, OperatorFactory
from parvis.families.models import Famille
from parvis.families.tests.factories import PASSWORD, CitizenFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

LOGIN = "/villebois/guichet/connexion/"
HOME = "/villebois/guichet/"
NEW_FAMILY = "/villebois/guichet/familles/nouvelle/"
MORNING = datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo("Europe/Paris"))
EXPIRED = "Votre session a expiré"


@pytest.fixture
def commune(db):
    return CommuneFactory(name="Villebois", slug="villebois")


@pytest.fixture
def enfance_agent(commune):
    return make_agent(commune, AgentRole.Role.ENFANCE)


def log_in(client, agent):
    response = client.post(LOGIN, {"username": agent.username, "password": PASSWORD})
    assert response.status_code == 302, text_of(response)
    return response


def at(moment):
    return time_machine.travel(moment, tick=False)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_an_agents_cookie_ends_with_the_browser(client, enfance_agent):
    response = log_in(client, enfance_agent)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""


def test_a_citizens_cookie_keeps_its_length(client, commune):
    citizen = CitizenFactory(commune=commune)
    response = client.post(
        "/villebois/connexion/", {"username": citizen.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE


def test_idle_the_minute_before_and_after(client, enfance_agent):
    with at(MORNING):
        log_in(client, enfance_agent)
    with at(MORNING + timedelta(minutes=29)):
        assert client.get(HOME).status_code == 200
    # Idle counts from the last request, not from the login.
    with at(MORNING + timedelta(minutes=29 + 29)):
        assert client.get(HOME).status_code == 200
    with at(MORNING + timedelta(minutes=29 + 29 + 31)):
        response = client.get(HOME)
    assert response.status_code == 200
    assert EXPIRED in text_of(response)
    assert "Vous n'avez rien fait depuis plus de 30 minutes" in text_of(response)
    assert f'href="{LOGIN}?next=%2Fvillebois%2Fguichet%2F"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert not logged_in(client)
    # Afterwards the guichet asks for the login as for any visitor.
    assert client.get(HOME)["Location"].startswith(LOGIN)


def test_a_working_day_at_most_even_when_active(client, enfance_agent):
    with at(MORNING):
        log_in(client, enfance_agent)
    moment = MORNING
    while moment < MORNING + timedelta(hours=7, minutes=59):
        moment += timedelta(minutes=20)
        with at(min(moment, MORNING + timedelta(hours=7, minutes=59))):
            assert client.get(HOME).status_code == 200
            assert EXPIRED not in text_of(client.get(HOME))
    with at(MORNING + timedelta(hours=8, minutes=1)):
        response = client.get(HOME)
    assert EXPIRED in text_of(response)
    assert "Une session dure 8 heures au plus" in text_of(response)
    assert not logged_in(client)


def test_the_limits_are_settings(client, enfance_agent, settings):
    settings.PARVIS_AGENT_IDLE_TIMEOUT = 5 * 60
    with at(MORNING):
        log_in(client, enfance_agent)
    with at(MORNING + timedelta(minutes=6)):
        assert EXPIRED in text_of(client.get(HOME))


def test_a_form_sent_after_expiry_is_given_back_not_saved(client, enfance_agent):
    with at(MORNING):
        log_in(client, enfance_agent)
        token = client.get(NEW_FAMILY).context["csrf_token"]
    with at(MORNING + timedelta(minutes=45)):
        response = client.post(
            NEW_FAMILY,
            {
                "csrfmiddlewaretoken": str(token),
                "name": "LEBRUN",
                "address": "12 rue des Écoles",
                "postal_code": "78955",
                "city": "Villebois",
                "password": "ne-pas-montrer",
            },
        )
    text = text_of(response)
    assert response.status_code == 200
    assert EXPIRED in text
    assert "Ce que vous aviez saisi n'a pas été enregistré" in text
    for typed in ("LEBRUN", "12 rue des Écoles", "78955", "postal code"):
        assert typed in text
    assert "ne-pas-montrer" not in text and str(token) not in text
    assert not Famille.objects.filter(name="LEBRUN").exists()
    assert not logged_in(client)


def test_a_citizen_is_not_logged_out_after_half_an_hour(client, commune):
    citizen = CitizenFactory(commune=commune)
    with at(MORNING):
        client.force_login(citizen, backend="parvis.accounts.backends.CommuneBackend")
    with at(MORNING + timedelta(hours=3)):
        response = client.get("/villebois/mon-espace/")
    assert EXPIRED not in text_of(response)
    assert logged_in(client)


def test_the_administrations_sessions_too(client, db):
    operator = OperatorFactory()
    with at(MORNING):
        client.force_login(operator)
        assert client.get("/admin/").status_code == 200
    with at(MORNING + timedelta(minutes=31)):
        response = client.get("/admin/")
    assert EXPIRED in text_of(response)
    assert 'href="/admin/login/?next=%2Fadmin%2F"' in response.content.decode()
    assert not logged_in(client)


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        ("secret", True),  # a payment provider's signing key (the admin's provider form)
        ("hmac_key", True),
        ("new_password1", True),
        ("mot_de_passe", True),
        ("service_key", True),
        ("cle", True),
        ("code", True),  # a tracking code
        ("code_famille", True),
        ("iban", True),
        ("token", True),
        ("postal_code", False),  # not a secret: given back
        ("name", False),
        ("city", False),
        ("public_note", False),
    ],
)
def test_secrets_are_never_given_back(name, hidden):
    assert middleware.is_hidden(name) is hidden
