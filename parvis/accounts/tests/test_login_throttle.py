"""Login throttling that cannot be turned against users: failures lock a pair of identifier and
address, slow an identifier down everywhere but at its usual address (that of its last success),
and count per address for one door of one commune; an agent hears of failures from elsewhere."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts import services
from parvis.accounts.models import AgentRole, Attempt, AuditEntry
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import PASSWORD, AgentFactory, CitizenFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
T = datetime(2026, 3, 2, 14, 32, tzinfo=PARIS)
WRONG = "pas-le-bon-mot-de-passe"
CITIZEN_WAIT = "Trop d'essais infructueux. Réessayez"
AGENT_WAIT = "Trop de tentatives de connexion. Par sécurité, réessayez"
REFUSED = "Identifiant ou mot de passe incorrect."
NOTICE = "Des tentatives de connexion ont échoué sur votre compte"
HOME_ADDRESS = "192.0.2.10"  # the rightful user's usual address
ATTACKER = "203.0.113.66"


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return text.replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")


def botnet(n: int) -> str:
    """A different address for each attempt of a distributed attack."""
    return f"198.51.100.{n % 250 + 1}"


def citizen_login(commune, identifier, password, *, at, ip, client=None):
    """The response, with `logged_in` (the account id the session holds then)."""
    client = client or Client(REMOTE_ADDR=ip)
    with time_machine.travel(at, tick=False):
        response = client.post(
            reverse("accounts:connexion", kwargs={"commune": commune.slug}),
            {"username": identifier, "password": password},
        )
        session_user = client.session.get(SESSION_KEY)
    response.logged_in = int(session_user) if session_user else None
    return response


def agent_login(commune, username, password, *, at, ip, client=None):
    client = client or Client(REMOTE_ADDR=ip)
    with time_machine.travel(at, tick=False):
        response = client.post(
            reverse("backoffice:connexion", kwargs={"commune": commune.slug}),
            {"username": username, "password": password},
        )
        session_user = client.session.get(SESSION_KEY)
    response.logged_in = int(session_user) if session_user else None
    response.client = client
    return response


def guichet_home(response, *, at):
    """The page a successful agent login leads to (sessions live on the travelled clock)."""
    with time_machine.travel(at, tick=False):
        page = response.client.get(response["Location"])
    assert page.status_code == 200
    return page


@pytest.fixture
def commune():
    return CommuneFactory(slug="villebois")


@pytest.fixture
def citizen(commune):
    return CitizenFactory(commune=commune, email="parent@example.fr")


@pytest.fixture
def agent(commune):
    return AgentFactory(commune=commune, username="a-martin", email="a.martin@mairie.fr")


def test_the_wait_doubles_from_the_fifth_failure_and_is_capped():
    assert [services.slowdown(n).total_seconds() for n in (1, 4, 5, 6, 7, 12, 13, 14, 60)] == [
        0,
        0,
        2,
        4,
        8,
        256,
        300,
        300,
        300,
    ]


# --- A pair of identifier and address -------------------------------------------------------------


def test_an_attacker_is_locked_while_the_rightful_user_logs_in_from_elsewhere(commune, citizen):
    # Monday: the parent logs in from home (their usual address from then on).
    monday = T - timedelta(days=1)
    assert citizen_login(commune, citizen.email, PASSWORD, at=monday, ip=HOME_ADDRESS).logged_in
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(4):
        response = citizen_login(
            commune, citizen.email, WRONG, at=T + timedelta(seconds=n), ip=ATTACKER, client=attacker
        )
        assert REFUSED in text_of(response)
    fifth = citizen_login(
        commune, citizen.email, WRONG, at=T + timedelta(seconds=4), ip=ATTACKER, client=attacker
    )
    assert f"{CITIZEN_WAIT} après 14:48." in text_of(fifth)
    # The sixth is refused unchecked, even with the right password.
    sixth = citizen_login(
        commune, citizen.email, PASSWORD, at=T + timedelta(seconds=5), ip=ATTACKER, client=attacker
    )
    assert f"{CITIZEN_WAIT} après 14:48." in text_of(sixth)
    assert sixth.logged_in is None

    # Meanwhile the parent, at home, gets in at once…
    home = citizen_login(
        commune, citizen.email, PASSWORD, at=T + timedelta(seconds=5), ip=HOME_ADDRESS
    )
    assert home.status_code == 302
    assert home.logged_in == citizen.pk
    # …and their success does not free the attacker's address.
    later = citizen_login(
        commune, citizen.email, PASSWORD, at=T + timedelta(minutes=10), ip=ATTACKER, client=attacker
    )
    assert later.logged_in is None
    assert f"{CITIZEN_WAIT} après 14:48." in text_of(later)
    assert (
        list(Attempt.objects.filter(ip=ATTACKER).order_by("id").values_list("succeeded", "blocked"))
        == [(False, False)] * 5 + [(False, True)] * 2
    )


# --- An identifier from everywhere ----------------------------------------------------------------


def test_a_distributed_attack_slows_the_identifier_down_second_by_second(commune, citizen):
    for n in range(4):
        response = citizen_login(commune, citizen.email, WRONG, at=T, ip=botnet(n))
        assert REFUSED in text_of(response)
    fifth = citizen_login(commune, citizen.email, WRONG, at=T, ip=botnet(4))
    assert f"{CITIZEN_WAIT} dans 2 secondes." in text_of(fifth)

    # 2 s after the 5th failure: a second before, refused unchecked; at the second, checked.
    early = citizen_login(
        commune,
        citizen.email,
        PASSWORD,
        at=T + timedelta(seconds=1, microseconds=999999),
        ip=botnet(5),
    )
    assert early.logged_in is None
    assert f"{CITIZEN_WAIT} dans 1 seconde." in text_of(early)
    sixth = citizen_login(commune, citizen.email, WRONG, at=T + timedelta(seconds=2), ip=botnet(6))
    assert f"{CITIZEN_WAIT} dans 4 secondes." in text_of(sixth)
    early = citizen_login(
        commune,
        citizen.email,
        PASSWORD,
        at=T + timedelta(seconds=5, microseconds=999999),
        ip=botnet(7),
    )
    assert early.logged_in is None
    on_time = citizen_login(
        commune, citizen.email, PASSWORD, at=T + timedelta(seconds=6), ip=botnet(8)
    )
    assert on_time.logged_in == citizen.pk
    assert Attempt.objects.filter(blocked=True).count() == 2


def test_the_slowdown_never_exceeds_five_minutes_and_spares_the_usual_address(commune, citizen):
    assert citizen_login(
        commune, citizen.email, PASSWORD, at=T - timedelta(days=2), ip=HOME_ADDRESS
    ).logged_in
    at = T
    for n in range(30):  # each failure as soon as the previous wait allows
        response = citizen_login(commune, citizen.email, WRONG, at=at, ip=botnet(n))
        assert REFUSED in text_of(response) or CITIZEN_WAIT in text_of(response)
        at += services.slowdown(n + 1) or timedelta(seconds=1)
    assert Attempt.objects.filter(succeeded=False, blocked=False).count() == 30
    last_failure = Attempt.objects.order_by("-at").values_list("at", flat=True).first()
    # From a new address the rightful user waits at most five minutes…
    refused = citizen_login(
        commune,
        citizen.email,
        PASSWORD,
        at=last_failure + timedelta(minutes=4, seconds=59),
        ip="192.0.2.99",
    )
    assert refused.logged_in is None
    assert f"{CITIZEN_WAIT} dans 1 seconde." in text_of(refused)
    assert (
        citizen_login(
            commune,
            citizen.email,
            PASSWORD,
            at=last_failure + timedelta(minutes=5),
            ip="192.0.2.99",
        ).logged_in
        == citizen.pk
    )
    # …and from their usual address not at all, however many failures came from elsewhere.
    fresh = CitizenFactory(commune=commune, email="voisine@example.fr")
    assert citizen_login(
        commune, fresh.email, PASSWORD, at=T - timedelta(days=1), ip=HOME_ADDRESS
    ).logged_in
    for n in range(12):
        citizen_login(commune, fresh.email, WRONG, at=at + timedelta(minutes=5 * n), ip=botnet(n))
    home = citizen_login(
        commune, fresh.email, PASSWORD, at=at + timedelta(minutes=55), ip=HOME_ADDRESS
    )
    assert home.logged_in == fresh.pk


def test_the_usual_address_is_recognised_however_an_ipv6_address_is_written(commune, citizen):
    home = citizen_login(
        commune, citizen.email, PASSWORD, at=T - timedelta(days=1), ip="2001:db8::1"
    )
    assert home.logged_in == citizen.pk
    for n in range(8):
        citizen_login(commune, citizen.email, WRONG, at=T, ip=botnet(n))
    spelled_out = citizen_login(commune, citizen.email, PASSWORD, at=T, ip="2001:0db8:0000::0001")
    assert spelled_out.logged_in == citizen.pk


def test_an_unknown_identifier_gets_the_very_same_answers(commune, citizen):
    """Nothing tells whether an identifier has an account: same words, same waits."""

    def answers(identifier):
        texts = []
        for n in range(8):
            at = T + timedelta(days=1 if identifier == citizen.email else 2, seconds=3 * n)
            response = citizen_login(commune, identifier, WRONG, at=at, ip=botnet(n))
            texts.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text_of(response)))
        return texts

    known, unknown = answers(citizen.email), answers("personne@example.fr")
    assert known == unknown
    assert any(CITIZEN_WAIT in text for text in known)


# --- An address: per commune and per door ---------------------------------------------------------


def spray(door, commune, *, at, ip):
    """IP_MAX_FAILURES failures from `ip` at `door` of `commune`, each on another identifier."""
    login = citizen_login if door == "citizen" else agent_login
    for n in range(services.IP_MAX_FAILURES):
        login(commune, f"victime{n}@example.fr", WRONG, at=at + timedelta(seconds=10 * n), ip=ip)
    return at + timedelta(seconds=10 * (services.IP_MAX_FAILURES - 1))


def test_an_address_over_its_limit_at_the_guichet_locks_only_that_door_of_that_commune(
    commune, citizen
):
    town_hall = "192.0.2.200"  # the town hall's NAT: agents and the public wifi share it
    regular = AgentFactory(commune=commune, username="habituee")
    assert agent_login(
        commune, "habituee", PASSWORD, at=T - timedelta(days=1), ip=town_hall
    ).logged_in
    newcomer = AgentFactory(commune=commune, username="nouveau")
    other_commune = CommuneFactory(slug="autreville")
    other_agent = AgentFactory(commune=other_commune, username="voisin")

    last = spray("agent", commune, at=T, ip=town_hall)
    after = last + timedelta(minutes=1)
    # This door of this commune is locked for whoever never got in from there…
    locked = agent_login(commune, "nouveau", PASSWORD, at=after, ip=town_hall)
    assert locked.logged_in is None
    assert f"{AGENT_WAIT} après" in text_of(locked)
    # …but not for the agent whose usual address it is,
    assert (
        agent_login(commune, "habituee", PASSWORD, at=after, ip=town_hall).logged_in == regular.pk
    )
    # nor at the families' door of the same commune,
    assert (
        citizen_login(commune, citizen.email, PASSWORD, at=after, ip=town_hall).logged_in
        == citizen.pk
    )
    # nor at the guichet of another commune,
    assert (
        agent_login(other_commune, "voisin", PASSWORD, at=after, ip=town_hall).logged_in
        == other_agent.pk
    )
    # nor for the newcomer from another address.
    assert (
        agent_login(commune, "nouveau", PASSWORD, at=after, ip="192.0.2.201").logged_in
        == newcomer.pk
    )
    # The address is free again 15 minutes after its last failure.
    freed = agent_login(commune, "nouveau", PASSWORD, at=last + timedelta(minutes=15), ip=town_hall)
    assert freed.logged_in == newcomer.pk


def test_an_address_over_its_limit_at_the_families_door_leaves_the_guichet_open(commune, agent):
    nat = "192.0.2.201"
    stranger = CitizenFactory(commune=commune, email="inconnu@example.fr")
    last = spray("citizen", commune, at=T, ip=nat)
    after = last + timedelta(minutes=1)
    locked = citizen_login(commune, stranger.email, PASSWORD, at=after, ip=nat)
    assert locked.logged_in is None
    assert f"{CITIZEN_WAIT} après" in text_of(locked)
    assert agent_login(commune, agent.username, PASSWORD, at=after, ip=nat).logged_in == agent.pk
    twin_commune = CommuneFactory(slug="jumelle")
    twin = CitizenFactory(commune=twin_commune, email=stranger.email)
    assert citizen_login(twin_commune, twin.email, PASSWORD, at=after, ip=nat).logged_in == twin.pk


def test_the_key_and_sign_up_limits_of_an_address_are_per_commune(commune):
    other = CommuneFactory(slug="autreville")
    nat = "192.0.2.77"
    now = T
    Attempt.objects.bulk_create(
        [
            Attempt(
                commune=commune,
                kind=Attempt.Kind.SERVICE_KEY,
                identifier=f"user:{n}",
                ip=nat,
                at=now - timedelta(minutes=1),
            )
            for n in range(services.IP_MAX_FAILURES)
        ]
        + [
            Attempt(
                commune=commune,
                kind=Attempt.Kind.SIGNUP,
                identifier=f"nouveau{n}@example.fr",
                ip=nat,
                succeeded=True,
                at=now - timedelta(minutes=1),
            )
            for n in range(services.SIGNUP_MAX_PER_IP)
        ]
    )

    def key_locked(town):
        return services.locked_until(
            commune=town,
            kind=Attempt.Kind.SERVICE_KEY,
            identifier="user:999",
            ip=nat,
            now=now,
            max_failures=services.KEY_MAX_FAILURES,
        )

    assert key_locked(commune) == now - timedelta(minutes=1) + services.LOCK_DURATION
    assert key_locked(other) is None
    assert services.signup_rate_limited(commune=commune, ip=nat, now=now)
    assert not services.signup_rate_limited(commune=other, ip=nat, now=now)


# --- Queries per attempt --------------------------------------------------------------------------


def _long_attack(commune, kind, identifier):
    """Sixty failures on the identifier, half of them from one address."""
    Attempt.objects.bulk_create(
        Attempt(
            commune=commune,
            kind=kind,
            identifier=identifier,
            ip=botnet(1) if n % 2 else botnet(n),
            at=T + timedelta(minutes=1, seconds=n),
        )
        for n in range(60)
    )


def test_a_citizen_attempt_costs_the_same_queries_however_long_the_log(
    commune, citizen, django_assert_max_num_queries
):
    def queries(at, ip):
        with CaptureQueriesContext(connection) as captured:
            citizen_login(commune, citizen.email, WRONG, at=at, ip=ip)
        return len(captured)

    first = queries(T, botnet(0))
    _long_attack(commune, Attempt.Kind.LOGIN, citizen.email)
    assert queries(T + timedelta(hours=1), botnet(1)) == first
    # A success costs what it costs on an account without any past.
    newcomer = CitizenFactory(commune=commune, email="nouvelle@example.fr")
    with CaptureQueriesContext(connection) as fresh:
        citizen_login(commune, newcomer.email, PASSWORD, at=T + timedelta(hours=2), ip=botnet(1))
    with django_assert_max_num_queries(len(fresh)):
        response = citizen_login(
            commune, citizen.email, PASSWORD, at=T + timedelta(hours=2), ip=botnet(1)
        )
    assert response.logged_in == citizen.pk


def test_an_agent_attempt_costs_a_bounded_number_of_queries(
    commune, agent, django_assert_max_num_queries
):
    def queries(at, ip, password=WRONG):
        with CaptureQueriesContext(connection) as captured:
            agent_login(commune, agent.username, password, at=at, ip=ip)
        return len(captured)

    first = queries(T, botnet(0))
    _long_attack(commune, Attempt.Kind.AGENT_LOGIN, f"agent:{agent.username}")
    # The failure that tells the agent: finding, locking and marking the account on top.
    alerting = queries(T + timedelta(hours=1), botnet(1))
    assert first < alerting <= first + 7
    # Every later failure of the wave only checks that the agent was told.
    steady = queries(T + timedelta(hours=2), botnet(1))
    assert steady == first + 2
    assert queries(T + timedelta(hours=3), botnet(2)) == steady
    # A success counts the wave to tell of it: one query more than on an untroubled account.
    newcomer = AgentFactory(commune=commune, username="nouveau")
    with CaptureQueriesContext(connection) as fresh:
        agent_login(commune, "nouveau", PASSWORD, at=T + timedelta(hours=4), ip=botnet(3))
    with django_assert_max_num_queries(len(fresh)):
        response = agent_login(
            commune, agent.username, PASSWORD, at=T + timedelta(hours=4), ip=botnet(3)
        )
    assert response.logged_in == agent.pk
    assert newcomer.pk != agent.pk


# --- An agent hears of failures from elsewhere ----------------------------------------------------


def test_an_agent_is_told_once_per_wave(commune, agent, django_capture_on_commit_callbacks):
    office = "192.0.2.30"
    assert agent_login(
        commune, agent.username, PASSWORD, at=T - timedelta(days=1), ip=office
    ).logged_in
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            agent_login(commune, agent.username, WRONG, at=T + timedelta(seconds=n), ip=ATTACKER)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        fifth = agent_login(
            commune, agent.username, WRONG, at=T + timedelta(seconds=4), ip=ATTACKER
        )
    assert AGENT_WAIT in text_of(fifth)  # the attacker's address is locked now
    assert len(mail.outbox) == 1
    # More failures of the same wave, from other addresses: no second e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            agent_login(
                commune, agent.username, WRONG, at=T + timedelta(minutes=n + 1), ip=botnet(n)
            )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [agent.email]
    assert "des connexions ont échoué sur votre compte du guichet" in message.subject
    assert NOTICE in message.body
    assert "5 essais" in message.body
    assert "le 02/03/2026 à 14:32" in message.body
    assert "/villebois/guichet/connexion/" in message.body
    assert ATTACKER not in message.body
    alerts = AuditEntry.objects.filter(action="account.login_alert", target_id=str(agent.pk))
    assert alerts.count() == 1

    # At the next login (from the office, not slowed down), the notice, once.
    response = agent_login(
        commune, agent.username, PASSWORD, at=T + timedelta(minutes=5), ip=office
    )
    assert response.logged_in == agent.pk
    home = guichet_home(response, at=T + timedelta(minutes=5))
    assert f"{NOTICE} depuis votre dernière connexion : 8 essais" in text_of(home)
    assert "le dernier le 02/03/2026 à 14:35" in text_of(home)
    assert NOTICE not in text_of(guichet_home(response, at=T + timedelta(minutes=5)))
    again = agent_login(commune, agent.username, PASSWORD, at=T + timedelta(minutes=6), ip=office)
    assert NOTICE not in text_of(guichet_home(again, at=T + timedelta(minutes=6)))

    # A new wave after that login: a new e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            agent_login(
                commune,
                agent.username,
                WRONG,
                at=T + timedelta(hours=1, seconds=n),
                ip=botnet(10 + n),
            )
    assert len(mail.outbox) == 2
    assert alerts.count() == 2


def test_failures_from_the_usual_address_or_below_five_tell_nothing(
    commune, agent, django_capture_on_commit_callbacks
):
    office = "192.0.2.30"
    assert agent_login(
        commune, agent.username, PASSWORD, at=T - timedelta(days=1), ip=office
    ).logged_in
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):  # the agent mistyping at the office
            agent_login(commune, agent.username, WRONG, at=T + timedelta(seconds=n), ip=office)
        for n in range(4):  # and four from elsewhere
            agent_login(
                commune, agent.username, WRONG, at=T + timedelta(minutes=1, seconds=n), ip=botnet(n)
            )
    assert mail.outbox == []
    response = agent_login(
        commune, agent.username, PASSWORD, at=T + timedelta(minutes=20), ip=office
    )
    assert response.logged_in == agent.pk
    assert NOTICE not in text_of(guichet_home(response, at=T + timedelta(minutes=20)))


def test_no_alert_for_a_name_that_is_no_agent_of_the_commune(
    commune, django_capture_on_commit_callbacks
):
    elsewhere = AgentFactory(commune=CommuneFactory(slug="autreville"), username="ailleurs")
    citizen = CitizenFactory(commune=commune, username="parent-villebois", email="p@example.fr")
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("personne", elsewhere.username, citizen.username):
            for n in range(6):
                agent_login(commune, name, WRONG, at=T + timedelta(seconds=3 * n), ip=botnet(n))
        # Nor at the families' door, whose accounts are not agents.
        for n in range(6):
            citizen_login(
                commune, citizen.email, WRONG, at=T + timedelta(seconds=3 * n), ip=botnet(n)
            )
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action="account.login_alert").exists()
    assert AgentRole.objects.filter(user=elsewhere).exists()


def admin_login(username, password, *, at, ip):
    client = Client(REMOTE_ADDR=ip)
    with time_machine.travel(at, tick=False):
        return client.post(reverse("admin:login"), {"username": username, "password": password})


def test_an_agent_attacked_at_the_administrations_door_is_told_too(
    commune, agent, django_capture_on_commit_callbacks
):
    # The same account opens the guichet and, for an administrator, /admin/: an attacker who
    # picks the administration's door is not hidden from the agent.
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            admin_login(agent.username, WRONG, at=T + timedelta(seconds=n), ip=ATTACKER)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):  # the rest of the wave, from other addresses: one e-mail
            admin_login(agent.username, WRONG, at=T + timedelta(minutes=n + 1), ip=botnet(n))
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [agent.email]
    assert NOTICE in mail.outbox[0].body
    alert = AuditEntry.objects.get(action="account.login_alert")
    assert (alert.commune, alert.target_id) == (commune, str(agent.pk))


def test_the_operator_attacked_at_the_administrations_door_alerts_no_commune(
    django_capture_on_commit_callbacks,
):
    from parvis.communes.tests.factories import OperatorFactory

    OperatorFactory(username="op")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(6):
            response = admin_login("op", WRONG, at=T + timedelta(seconds=3 * n), ip=botnet(n))
            assert response.status_code == 200
    assert not AuditEntry.objects.filter(action="account.login_alert").exists()


def test_a_new_wave_at_the_administrations_door_is_told_after_a_login_at_the_guichet(
    commune, agent, django_capture_on_commit_callbacks
):
    office = "192.0.2.30"
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):  # a first wave, at the guichet
            agent_login(commune, agent.username, WRONG, at=T + timedelta(seconds=n), ip=ATTACKER)
    assert len(mail.outbox) == 1
    # The agent logs in at the guichet the next day (never at /admin/)…
    assert agent_login(
        commune, agent.username, PASSWORD, at=T + timedelta(days=1), ip=office
    ).logged_in
    # …then a new wave comes through the administration's door: a new e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            admin_login(agent.username, WRONG, at=T + timedelta(days=2, seconds=n), ip=botnet(n))
    assert len(mail.outbox) == 2
    assert AuditEntry.objects.filter(action="account.login_alert").count() == 2


def test_an_agents_own_mistakes_where_they_log_in_are_not_told_as_an_attack(commune, agent):
    office, home = "192.0.2.30", "192.0.2.44"
    assert agent_login(
        commune, agent.username, PASSWORD, at=T - timedelta(days=1), ip=office
    ).logged_in
    for n in range(5):  # from home, new to the account: mistyped five times…
        agent_login(commune, agent.username, WRONG, at=T + timedelta(seconds=n), ip=home)
    agent_login(commune, agent.username, WRONG, at=T + timedelta(seconds=5), ip=ATTACKER)
    # …then the right password there, once the pair's lock is over.
    response = agent_login(commune, agent.username, PASSWORD, at=T + timedelta(minutes=16), ip=home)
    assert response.logged_in == agent.pk
    assert NOTICE not in text_of(guichet_home(response, at=T + timedelta(minutes=16)))
