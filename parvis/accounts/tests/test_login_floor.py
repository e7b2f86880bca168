"""The login's floor (issue 23): the throttle's four lists read in one statement, the session
written once at the response under a new key, the login's time and the previous one in one
UPDATE. The same rules, rotation and records as before."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from parvis.accounts import services, sessions
from parvis.accounts.models import Attempt, User
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import PASSWORD, AgentFactory, CitizenFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 14, 32, tzinfo=PARIS)


def reference_throttle(*, commune, kind, identifier, ip, now):
    """login_throttle as the ORM wrote it before (four querysets): the statement must agree."""
    of_identifier = Attempt.objects.filter(commune=commune, kind=kind, identifier=identifier)
    last_success = (
        of_identifier.filter(succeeded=True).order_by("-at", "-id").values_list("at", "ip").first()
    )
    since = now - services.FAILURE_WINDOW - services.LOCK_DURATION
    same_ip = {"ip": ip} if ip else {"ip__isnull": True}
    pair = []
    for at, succeeded in (
        of_identifier.filter(blocked=False, at__gte=since, **same_ip)
        .order_by("-at", "-id")
        .values_list("at", "succeeded")[: services.PAIR_MAX_FAILURES]
    ):
        if succeeded:
            break
        pair.append(at)
    elsewhere = Attempt.objects.filter(
        commune=commune, kind=kind, identifier=identifier, succeeded=False, blocked=False
    )
    if last_success is not None:
        at, usual_ip = last_success
        elsewhere = elsewhere.filter(at__gt=at)
        elsewhere = (
            elsewhere.exclude(ip__isnull=True)
            if usual_ip is None
            else elsewhere.exclude(ip=usual_ip)
        )
    by_ip = Attempt.objects.filter(kind=kind, succeeded=False, blocked=False, at__gte=since)
    if commune is not None:
        by_ip = by_ip.filter(commune=commune)
    by_ip = by_ip.filter(ip=ip) if ip else by_ip.none()
    newest = ("-at", "-id")
    return services.LoginThrottle(
        now=now,
        ip=ip,
        last_success=tuple(last_success) if last_success is not None else None,
        pair_failures=tuple(pair),
        failures_elsewhere=tuple(
            elsewhere.order_by(*newest).values_list("at", flat=True)[: services._SLOWDOWN_ROWS]
        ),
        ip_failures=tuple(
            by_ip.order_by(*newest).values_list("at", flat=True)[: services.IP_MAX_FAILURES]
        ),
    )


@pytest.mark.parametrize("seed", range(6))
def test_the_throttles_statement_reads_what_the_four_querysets_read(seed):
    rng = random.Random(seed)
    communes = [CommuneFactory(), CommuneFactory(), None]
    kinds = [Attempt.Kind.LOGIN, Attempt.Kind.AGENT_LOGIN]
    identifiers = ["parent@ex.fr", "agent", "autre@ex.fr"]
    ips = [None, "192.0.2.10", "203.0.113.66", "2001:db8::1"]
    times = [NOW - timedelta(minutes=rng.choice([0, 1, 5, 14, 16, 29, 31, 45])) for _ in range(9)]
    Attempt.objects.bulk_create(
        Attempt(
            commune=rng.choice(communes),
            kind=rng.choice(kinds),
            identifier=rng.choice(identifiers),
            ip=rng.choice(ips),
            succeeded=(succeeded := rng.random() < 0.25),
            blocked=not succeeded and rng.random() < 0.15,
            at=rng.choice(times),  # ties on purpose: the newest is the latest id
        )
        for _ in range(300)
    )
    for commune in communes:
        for kind in kinds:
            for identifier in identifiers:
                for ip in ips:
                    arguments = {
                        "commune": commune, "kind": kind, "identifier": identifier, "ip": ip,
                        "now": NOW,
                    }  # fmt: skip
                    expected = reference_throttle(**arguments)
                    with CaptureQueriesContext(connection) as queries:
                        got = services.login_throttle(**arguments)
                    assert got == expected, arguments
                    assert got.until() == expected.until()
                    assert len(queries) == 1


def login(client, commune, identifier):
    return client.post(
        reverse("accounts:connexion", kwargs={"commune": commune.slug}),
        {"username": identifier, "password": PASSWORD},
    )


def test_a_login_writes_its_session_once_under_a_new_key_and_deletes_the_old_one():
    commune = CommuneFactory()
    citizen = CitizenFactory(commune=commune)
    client = Client()
    session = client.session  # a session from before the login (an anonymous visitor's)
    session["choix"] = "gardé"
    session.save()
    old_key = session.session_key
    with CaptureQueriesContext(connection) as queries:
        response = login(client, commune, citizen.email)
    assert response.status_code == 302
    statements = [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]
    # Before: the old row read, a free key looked for, an empty row inserted, then updated.
    assert [s.split()[0] for s in statements] == ["SELECT", "DELETE", "INSERT"]
    new_key = client.cookies["sessionid"].value
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    data = Session.objects.get(session_key=new_key).get_decoded()
    assert data[SESSION_KEY] == str(citizen.pk)
    assert data["choix"] == "gardé"


def test_a_login_whose_session_is_saved_by_hand_has_its_key_then():
    citizen = CitizenFactory()
    client = Client()
    client.force_login(citizen)  # login() then save(), as Django's test client does
    key = client.cookies["sessionid"].value
    assert Session.objects.get(session_key=key).get_decoded()[SESSION_KEY] == str(citizen.pk)


def test_a_key_already_taken_is_drawn_again(monkeypatch):
    taken = Session.objects.create(
        session_key="k" * 32, session_data="x", expire_date=timezone.now() + timedelta(days=1)
    )
    draws = iter(["k" * 32, "n" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda *args: next(draws))
    store = sessions.SessionStore()
    store["a"] = 1
    store.save()
    assert store.session_key == "n" * 32
    assert Session.objects.get(pk="n" * 32).get_decoded() == {"a": 1}
    taken.refresh_from_db()
    assert taken.session_data == "x"  # the other session untouched


def test_a_session_gone_meanwhile_is_not_written_again():
    from django.contrib.sessions.backends.base import UpdateError

    store = sessions.SessionStore()
    store["a"] = 1
    store.save()
    Session.objects.filter(pk=store.session_key).delete()  # a logout elsewhere, a purge
    store["a"] = 2
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.exists()


def test_a_citizens_login_keeps_the_previous_one_in_the_same_update():
    commune = CommuneFactory()
    before = timezone.now() - timedelta(days=3)
    citizen = CitizenFactory(commune=commune, last_login=before)
    with CaptureQueriesContext(connection) as queries:
        assert login(Client(), commune, citizen.email).status_code == 302
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len([s for s in updates if "accounts_user" in s]) == 1
    citizen.refresh_from_db()
    assert citizen.previous_login == before
    assert citizen.last_login > before


def test_an_agents_login_records_its_time_and_nothing_else():
    before = timezone.now() - timedelta(days=3)
    agent = AgentFactory(last_login=before)
    Client().force_login(agent)
    agent.refresh_from_db()
    assert agent.last_login > before
    assert agent.previous_login is None


@pytest.mark.django_db(transaction=True)  # autocommit, as served: no savepoint around writes
def test_the_login_post_reads_and_writes_six_times(django_assert_max_num_queries):
    commune = CommuneFactory()
    citizen = CitizenFactory(commune=commune)
    # the commune, the throttle (one statement), the account, the attempt, the account's
    # login times, the session (16 before: four throttle reads, two updates of the account,
    # the session looked for, inserted empty and updated, each write in BEGIN/COMMIT)
    with django_assert_max_num_queries(6):
        assert login(Client(), commune, citizen.email).status_code == 302
    assert User.objects.get(pk=citizen.pk).last_login is not None


def test_the_franceconnect_button_reads_each_communes_own_client_with_sql_written_once(
    franceconnect_provider,
):
    from parvis.accounts import franceconnect
    from parvis.accounts.tests.conftest import configure_franceconnect

    on, off, without = CommuneFactory(), CommuneFactory(), CommuneFactory()
    configure_franceconnect(on)
    configure_franceconnect(off, enabled=False)
    franceconnect._ENABLED_CONFIG._local.__dict__.clear()
    assert franceconnect.config_for(on).commune_id == on.pk
    assert franceconnect.config_for(off) is None
    assert franceconnect.config_for(without) is None
    kept = [c for c in franceconnect._ENABLED_CONFIG._local.compiled.values() if c]
    assert len(kept) == 1  # compiled once, run for the three communes
    for commune, shown in ((on, True), (off, False)):
        page = Client().get(reverse("accounts:connexion", kwargs={"commune": commune.slug}))
        assert ("FranceConnect" in page.content.decode()) is shown


def test_the_citizen_of_a_login_is_read_in_its_own_commune_with_sql_written_once():
    first, second = CommuneFactory(), CommuneFactory()
    mine = CitizenFactory(commune=first, email="meme@ex.fr")
    theirs = CitizenFactory(commune=second, email="meme@ex.fr")
    CitizenFactory(commune=second, email="agent@ex.fr", is_staff=True)
    services._CITIZEN_BY_EMAIL._local.__dict__.clear()
    assert services.find_citizen(commune=first, identifier="MEME@ex.fr") == mine
    assert services.find_citizen(commune=second, identifier="meme@ex.fr") == theirs
    assert services.find_citizen(commune=second, identifier="agent@ex.fr") is None
    assert services.find_citizen(commune=first, identifier="m_me@ex.fr") is None  # no LIKE
    kept = [c for c in services._CITIZEN_BY_EMAIL._local.compiled.values() if c]
    # SQLite's __iexact escapes its value for LIKE: that shape stays the ORM's there.
    assert len(kept) == (1 if connection.vendor == "postgresql" else 0)


def test_an_attempt_is_logged_in_one_insert_as_the_model_stored_it():
    commune = CommuneFactory()
    with CaptureQueriesContext(connection) as queries:
        services._record_attempt(
            commune=commune, kind=Attempt.Kind.LOGIN, identifier="a@ex.fr",
            ip="2001:DB8:0::0:1", succeeded=True, now=NOW,
        )  # fmt: skip
        services._record_attempt(commune=None, kind=Attempt.Kind.ADMIN_LOGIN, blocked=True)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "INSERT"]
    logged = Attempt.objects.get(commune=commune)
    assert (logged.kind, logged.identifier, logged.ip) == ("login", "a@ex.fr", "2001:db8::1")
    assert (logged.succeeded, logged.blocked, logged.at) == (True, False, NOW)
    admin = Attempt.objects.get(commune=None)
    assert (admin.kind, admin.identifier, admin.ip) == ("admin_login", "", None)
    assert admin.blocked
