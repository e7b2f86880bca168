"""The agents' login at /<commune>/guichet/connexion/: who gets in, who does not, the lockout
(the rules between addresses, doors and communes: accounts/tests/test_login_throttle.py)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from parvis.accounts.models import AgentRole, Attempt
from parvis.backoffice.tests.conftest import make_agent, text_of
from parvis.communes.tests.factories import CommuneFactory, OperatorFactory, StaffFactory
from parvis.families.tests.factories import PASSWORD, CitizenFactory

pytestmark = pytest.mark.django_db

LOGIN = "/villebois/guichet/connexion/"
HOME = "/villebois/guichet/"
REFUSED = "Identifiant ou mot de passe incorrect."
LOCKED = "Trop de tentatives de connexion"


def log_in(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_an_agent_logs_in_with_a_new_session(client, commune, enfance_agent):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert "Connexion au guichet des agents" in text_of(response)
    session = client.session
    session["avant-connexion"] = True
    session.save()
    before = session.session_key

    response = log_in(client, enfance_agent.username)

    assert response.status_code == 302
    assert response["Location"] == HOME
    assert logged_in_user_id(client) == str(enfance_agent.pk)
    assert client.session.session_key != before  # no session fixation
    assert client.get(HOME).status_code == 200
    attempt = Attempt.objects.get()
    assert (attempt.kind, attempt.identifier, attempt.succeeded, attempt.commune) == (
        Attempt.Kind.AGENT_LOGIN,
        f"agent:{enfance_agent.username}",
        True,
        commune,
    )


def test_the_login_page_is_not_cached(client, commune):
    assert "no-store" in client.get(LOGIN)["Cache-Control"]


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/villebois/guichet/familles/1/", "/villebois/guichet/familles/1/"),
        ("https://ailleurs.example/villebois/guichet/", HOME),
        ("//ailleurs.example/villebois/guichet/", HOME),
        ("/villebois/", HOME),  # outside the guichet
    ],
)
def test_next_is_followed_only_inside_the_guichet(client, enfance_agent, next_url, expected):
    response = log_in(client, enfance_agent.username, next=next_url)
    assert response["Location"] == expected


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_back(client, famille, enfance_agent):
    response = client.get("/villebois/guichet/familles/1/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Fvillebois%2Fguichet%2Ffamilles%2F1%2F"
    response = client.get(response["Location"])
    assert 'value="/villebois/guichet/familles/1/"' in response.content.decode()
    response = log_in(client, enfance_agent.username, next="/villebois/guichet/familles/1/")
    assert response["Location"] == "/villebois/guichet/familles/1/"


def _citizen(commune):
    return CitizenFactory(commune=commune, username="parent-villebois")


def _other_communes_agent(commune):
    return make_agent(CommuneFactory(slug="autreville"), AgentRole.Role.ADMINISTRATEUR)


def _staff_without_role(commune):
    return StaffFactory(commune=commune, username="sans-role")


def _inactive_agent(commune):
    return make_agent(commune, AgentRole.Role.ENFANCE, is_active=False)


def _operator(commune):
    return OperatorFactory(username="operatrice")


@pytest.mark.parametrize(
    "make_user",
    [_citizen, _other_communes_agent, _staff_without_role, _inactive_agent, _operator],
    ids=["citizen", "agent-of-another-commune", "staff-without-role", "inactive", "operator"],
)
def test_only_agents_of_the_commune_get_in_with_the_same_answer(client, commune, make_user):
    user = make_user(commune)
    assert user.check_password(PASSWORD)

    response = log_in(client, user.username)

    assert response.status_code == 200
    assert REFUSED in text_of(response)
    assert logged_in_user_id(client) is None
    assert Attempt.objects.get().succeeded is False


def test_a_wrong_password_or_an_unknown_name_get_the_same_answer(client, enfance_agent):
    wrong = log_in(client, enfance_agent.username, password="pas-le-bon-mot-de-passe")
    unknown = log_in(client, "personne-de-ce-nom")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert REFUSED in text_of(response)
    assert logged_in_user_id(client) is None
    # The entry is re-displayed, the password never.
    assert f'value="{enfance_agent.username}"' in wrong.content.decode()
    assert "pas-le-bon-mot-de-passe" not in wrong.content.decode()


def test_an_empty_form_says_which_fields_are_missing(client, commune):
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 200
    # Next to each field, and in the summary's link to it.
    assert text_of(response).count("Ce champ est obligatoire.") == 4
    assert 'href="#id_username"' in response.text and 'href="#id_password"' in response.text
    assert not Attempt.objects.exists()


def test_five_failures_lock_the_name_from_that_address_for_fifteen_minutes(client, enfance_agent):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(4):
            response = log_in(client, enfance_agent.username, password="mauvais")
            assert REFUSED in text_of(response)
        fifth = log_in(client, enfance_agent.username, password="mauvais")
        assert LOCKED in text_of(fifth)
        # The sixth attempt is refused unchecked, even with the right password.
        sixth = log_in(client, enfance_agent.username)
        assert LOCKED in text_of(sixth)
        assert logged_in_user_id(client) is None
    # The same name from another address (the agent at another desk) is only slowed down: 2
    # seconds after the 5th failure, it gets in.
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    with time_machine.travel(start + timedelta(seconds=1), tick=False):
        slowed = log_in(elsewhere, enfance_agent.username)
    assert f"{LOCKED}. Par sécurité, réessayez dans 1 seconde." in text_of(slowed)
    with time_machine.travel(start + timedelta(seconds=2), tick=False):
        assert log_in(elsewhere, enfance_agent.username).status_code == 302
        # …while the address of the failures stays locked.
        assert LOCKED in text_of(log_in(client, enfance_agent.username))
    assert Attempt.objects.filter(blocked=True).count() == 3
    assert Attempt.objects.filter(identifier=f"agent:{enfance_agent.username}").count() == 9

    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        response = log_in(client, enfance_agent.username)
    assert response.status_code == 302
    assert logged_in_user_id(client) == str(enfance_agent.pk)


def test_the_lock_is_per_name(client, commune, enfance_agent):
    other = make_agent(commune, AgentRole.Role.SCOLAIRE)
    for _ in range(5):
        log_in(client, enfance_agent.username, password="mauvais")
    assert log_in(client, other.username).status_code == 302


def test_an_agent_logs_out_with_a_post_only(client, enfance_agent):
    client.force_login(enfance_agent)
    assert client.get("/villebois/guichet/deconnexion/").status_code == 405
    assert logged_in_user_id(client) == str(enfance_agent.pk)
    response = client.post("/villebois/guichet/deconnexion/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert logged_in_user_id(client) is None
    assert client.get(HOME).status_code == 302


def test_a_logged_in_agent_visiting_the_login_page_goes_to_the_guichet(client, enfance_agent):
    client.force_login(enfance_agent)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == HOME


def test_csrf_is_enforced_on_login_and_logout(enfance_agent):
    client = Client(enforce_csrf_checks=True)
    assert log_in(client, enfance_agent.username).status_code == 403
    assert logged_in_user_id(client) is None
    client.force_login(enfance_agent)
    assert client.post("/villebois/guichet/deconnexion/").status_code == 403
    assert logged_in_user_id(client) == str(enfance_agent.pk)
