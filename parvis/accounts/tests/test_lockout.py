"""Lockout at the families' door: 5 failures of an identifier from one address within 15 minutes
lock that pair for 15 minutes after the 5th, even against the right password; an identifier is
slowed down from everywhere else; an address (IP) is limited too (see test_login_throttle for the
rules between addresses, doors and communes). Every attempt is logged."""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from parvis.accounts import services
from parvis.accounts.models import Attempt, User
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import PASSWORD, CitizenFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
T = datetime(2026, 3, 2, 14, 32, tzinfo=PARIS)  # the 5th failure
WRONG = "pas-le-bon-mot-de-passe"
LOCKED = "Trop d'essais infructueux. Réessayez après"
WAIT = "Trop d'essais infructueux. Réessayez dans"


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


@pytest.fixture
def citizen():
    return CitizenFactory(commune=CommuneFactory(), email="parent@example.fr")


def login(client, user, password, *, at, identifier=None):
    """The response, with `logged_in`: the account id the session holds then (sessions expire
    on the travelled clock, so it is read there)."""
    with time_machine.travel(at, tick=False):
        response = client.post(
            reverse("accounts:connexion", kwargs={"commune": user.commune.slug}),
            {"username": identifier or user.email, "password": password},
        )
        session_user = client.session.get(SESSION_KEY)
    response.logged_in = int(session_user) if session_user else None
    return response


def fail_five_times(client, user, *, last=T, spacing=timedelta(minutes=3)):
    for n in range(services.ACCOUNT_MAX_FAILURES):
        response = login(client, user, WRONG, at=last - spacing * (4 - n))
    return response


def test_the_fifth_failure_locks_until_fifteen_minutes_later(client, citizen, caplog):
    caplog.set_level(logging.INFO, logger="parvis.security")
    fifth = fail_five_times(client, citizen)
    # The 5th failure already says until when.
    assert f"{LOCKED} 14:47." in text_of(fifth)

    refused = login(client, citizen, PASSWORD, at=T + timedelta(minutes=14))
    assert refused.status_code == 200
    assert "Trop d'essais infructueux. Réessayez après 14:47." in text_of(refused)
    assert refused.logged_in is None
    # In the last minute, the wait is said in seconds.
    last_second = login(client, citizen, PASSWORD, at=T + timedelta(minutes=14, seconds=59))
    assert "Trop d'essais infructueux. Réessayez dans 1 seconde." in text_of(last_second)
    assert last_second.logged_in is None

    accepted = login(client, citizen, PASSWORD, at=T + timedelta(minutes=15))
    assert accepted.status_code == 302
    assert accepted.logged_in == citizen.pk

    outcomes = list(
        Attempt.objects.order_by("id").values_list("succeeded", "blocked", "identifier")
    )
    assert outcomes == [(False, False, "parent@example.fr")] * 5 + [
        (False, True, "parent@example.fr"),
        (False, True, "parent@example.fr"),
        (True, False, "parent@example.fr"),
    ]
    messages = [r.getMessage() for r in caplog.records if r.name == "parvis.security"]
    assert sum(m.startswith("login throttled") for m in messages) == 1
    assert sum(m.startswith("login blocked") for m in messages) == 2
    assert sum(m.startswith("login failed") for m in messages) == 5


def test_the_lock_shows_the_local_time_rounded_up(client, citizen):
    fail_five_times(client, citizen, last=T + timedelta(seconds=20))
    # Locked until 14:47:20: « après 14:47 » would be false at 14:47:10.
    refused = login(client, citizen, PASSWORD, at=T + timedelta(minutes=13, seconds=10))
    assert f"{LOCKED} 14:48." in text_of(refused)
    # Within its last minute the same lock is said in seconds, rounded up as well.
    refused = login(
        client, citizen, PASSWORD, at=T + timedelta(minutes=15, seconds=10, microseconds=1)
    )
    assert f"{WAIT} 10 secondes." in text_of(refused)
    # In winter, Paris is UTC+1; the UTC time is never shown.
    winter = datetime(2026, 1, 15, 9, 0, tzinfo=PARIS)
    other = CitizenFactory(commune=citizen.commune, email="autre@example.fr")
    fail_five_times(Client(), other, last=winter)
    assert f"{LOCKED} 09:15." in text_of(login(Client(), other, PASSWORD, at=winter))


def test_four_failures_then_a_success_reset_the_count(client, citizen):
    for n in range(4):
        login(client, citizen, WRONG, at=T + timedelta(minutes=n))
    assert login(client, citizen, PASSWORD, at=T + timedelta(minutes=4)).status_code == 302
    client.post(reverse("accounts:deconnexion", kwargs={"commune": citizen.commune.slug}))
    for n in range(4):
        response = login(client, citizen, WRONG, at=T + timedelta(minutes=5 + n))
        assert LOCKED not in text_of(response)
    assert login(client, citizen, PASSWORD, at=T + timedelta(minutes=9)).status_code == 302


def test_failures_sixteen_minutes_apart_do_not_lock(client, citizen):
    for n in range(8):
        response = login(client, citizen, WRONG, at=T + timedelta(minutes=16 * n))
        assert LOCKED not in text_of(response)
    assert login(client, citizen, PASSWORD, at=T + timedelta(minutes=16 * 8)).status_code == 302


def test_five_failures_spread_over_exactly_fifteen_minutes_lock(client, citizen):
    fail_five_times(client, citizen, spacing=timedelta(minutes=3, seconds=45))
    assert LOCKED in text_of(login(client, citizen, PASSWORD, at=T + timedelta(minutes=1)))


def test_an_unknown_identifier_locks_the_same_way(client, citizen):
    """No difference between known and unknown identifiers, locked or not."""
    for n in range(5):
        response = login(
            client, citizen, WRONG, at=T + timedelta(minutes=n), identifier="nobody@example.fr"
        )
    assert "Trop d'essais infructueux. Réessayez après 14:51." in text_of(response)


def test_the_lock_is_per_identifier_and_commune(client, citizen):
    fail_five_times(client, citizen)
    other = CitizenFactory(commune=citizen.commune, email="voisin@example.fr")
    assert login(Client(), other, PASSWORD, at=T + timedelta(minutes=1)).status_code == 302
    # Same address in another commune: another account, not locked.
    twin = CitizenFactory(commune=CommuneFactory(), email=citizen.email)
    assert login(Client(), twin, PASSWORD, at=T + timedelta(minutes=1)).status_code == 302


def test_an_address_is_limited_across_identifiers(citizen):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(services.IP_MAX_FAILURES):
        login(
            attacker,
            citizen,
            WRONG,
            at=T + timedelta(seconds=20 * n),
            identifier=f"victime{n}@example.fr",
        )
    last_failure = T + timedelta(seconds=20 * (services.IP_MAX_FAILURES - 1))
    # From that address, even the right password of an untouched account is refused…
    refused = login(attacker, citizen, PASSWORD, at=last_failure + timedelta(minutes=1))
    assert LOCKED in text_of(refused)
    assert refused.logged_in is None
    # …while the account itself is not locked for others.
    elsewhere = Client(REMOTE_ADDR="198.51.100.4")
    assert (
        login(elsewhere, citizen, PASSWORD, at=last_failure + timedelta(minutes=1)).status_code
        == 302
    )
    # And the address is free again 15 minutes after its last failure.
    later = login(attacker, citizen, PASSWORD, at=last_failure + timedelta(minutes=15))
    assert later.status_code == 302
    assert Attempt.objects.filter(ip="203.0.113.9", blocked=True).count() == 1


# --- Any sequence of attempts --------------------------------------------------------------------


@dataclass
class Reference:
    """The rules for one identifier tried from one address, written from the issue: a lock
    starts at the 5th failure within 15 minutes and lasts 15 minutes; until the identifier's
    first success (which makes this address its usual one, never slowed down), from its 5th
    failure each attempt waits 2 s, 4 s, 8 s… after the last failure, at most 5 minutes.
    Failures before the last success don't count; refused attempts are no failures."""

    failures: list[datetime] = field(default_factory=list)
    succeeded_once: bool = False

    def locked_until(self, now: datetime) -> datetime | None:
        candidates = []
        recent = sorted(self.failures)[-5:]
        if len(recent) == 5 and recent[-1] - recent[0] <= timedelta(minutes=15):
            candidates.append(recent[-1] + timedelta(minutes=15))
        n = len(self.failures)
        if not self.succeeded_once and n >= 5:
            wait = min(timedelta(seconds=2 ** (n - 4)), timedelta(minutes=5))
            candidates.append(max(self.failures) + wait)
        until = max(candidates, default=None)
        return until if until is not None and until > now else None


gaps = st.one_of(st.integers(1, 40), st.integers(41, 20 * 60))
attempts = st.lists(st.tuples(gaps, st.booleans()), min_size=1, max_size=16)


@settings(max_examples=60, deadline=None)
@given(sequence=attempts)
def test_no_sequence_lets_a_locked_account_in_before_its_time(sequence):
    # One database transaction for all the examples: start each from a clean log.
    Attempt.objects.all().delete()
    commune = CommuneFactory(slug="hypothese")
    user = User.objects.filter(commune=commune).first() or CitizenFactory(commune=commune)
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.1")
    reference = Reference()
    now = T
    for gap, right in sequence:
        now += timedelta(seconds=gap)
        expected_lock = reference.locked_until(now)
        with time_machine.travel(now, tick=False):
            result = services.attempt_login(
                request=request,
                commune=commune,
                identifier=user.email,
                password=PASSWORD if right else WRONG,
            )
        if expected_lock is not None:
            # Locked: refused even with the right password, with the time of the end.
            assert result.user is None
            assert result.locked_until == expected_lock
            continue
        if right:
            assert result.user == user
            reference.failures.clear()
            reference.succeeded_once = True
        else:
            assert result.user is None
            reference.failures.append(now)
            assert result.locked_until == reference.locked_until(now)


# --- The current password asked again in the personal space ---------------------------------------
# (« Modification de votre espace »: password and e-mail changes; « Supprimer mon espace »)

NEW_PASSWORD = "Un-nouveau-mot-de-passe-2026"
ESPACE_LOCKED = "Trop d'essais infructueux. Réessayez après"
NOT_CURRENT = "Ce n'est pas votre mot de passe actuel."


def espace_client(user) -> Client:
    """A session opened before T (sessions live on the travelled clock)."""
    client = Client()
    with time_machine.travel(T - timedelta(hours=1), tick=False):
        client.force_login(user, backend="parvis.accounts.backends.CommuneBackend")
    return client


def espace_post(client, user, form: str, password: str, *, at):
    """Post `form` (« mdp », « courriel » or « suppression ») with `password` as the current
    password, at `at`."""
    slug = user.commune.slug
    if form == "mdp":
        path = reverse("accounts:modifier_espace", kwargs={"commune": slug})
        data = {
            "section": "authentification",
            "mdp-old_password": password,
            "mdp-new_password1": NEW_PASSWORD,
            "mdp-new_password2": NEW_PASSWORD,
        }
    elif form == "courriel":
        path = reverse("accounts:modifier_espace", kwargs={"commune": slug})
        data = {
            "section": "courriel",
            "courriel-new_email": "nouvelle@example.fr",
            "courriel-password": password,
        }
    else:
        path = reverse("accounts:supprimer_espace", kwargs={"commune": slug})
        data = {"suppression-password": password}
    with time_machine.travel(at, tick=False):
        return client.post(path, data)


def test_five_wrong_current_passwords_lock_the_forms_for_fifteen_minutes(citizen):
    client = espace_client(citizen)
    for n in range(4):
        response = espace_post(client, citizen, "mdp", WRONG, at=T - timedelta(minutes=4 - n))
        assert NOT_CURRENT in text_of(response)
        assert ESPACE_LOCKED not in text_of(response)
    # The 5th wrong password already says until when, next to the field.
    fifth = espace_post(client, citizen, "mdp", WRONG, at=T)
    assert f"{ESPACE_LOCKED} 14:47." in text_of(fifth)
    assert 'aria-invalid="true"' in re.search(r"<input[^>]*mdp-old_password[^>]*>", fifth.text)[0]

    # The 6th, even with the right password, is refused without being checked.
    sixth = espace_post(client, citizen, "mdp", PASSWORD, at=T + timedelta(minutes=14, seconds=59))
    assert sixth.status_code == 200
    assert f"{ESPACE_LOCKED} 14:47." in text_of(sixth)
    citizen.refresh_from_db()
    assert citizen.check_password(PASSWORD)

    accepted = espace_post(client, citizen, "mdp", PASSWORD, at=T + timedelta(minutes=15))
    assert accepted.status_code == 302
    citizen.refresh_from_db()
    assert citizen.check_password(NEW_PASSWORD)

    outcomes = list(
        Attempt.objects.order_by("id").values_list("kind", "identifier", "succeeded", "blocked")
    )
    kind, identifier = Attempt.Kind.CURRENT_PASSWORD, f"user:{citizen.pk}"
    assert outcomes == [(kind, identifier, False, False)] * 5 + [
        (kind, identifier, False, True),
        (kind, identifier, True, False),
    ]


def test_the_lock_covers_the_email_change_and_the_account_deletion(citizen):
    client = espace_client(citizen)
    for n in range(services.ACCOUNT_MAX_FAILURES):
        form = ("courriel", "suppression", "mdp")[n % 3]  # failures of any form count
        espace_post(client, citizen, form, WRONG, at=T - timedelta(minutes=4 - n))
    at = T + timedelta(minutes=10)
    email = espace_post(client, citizen, "courriel", PASSWORD, at=at)
    assert f"{ESPACE_LOCKED} 14:47." in text_of(email)
    deletion = espace_post(client, citizen, "suppression", PASSWORD, at=at)
    assert f"{ESPACE_LOCKED} 14:47." in text_of(deletion)
    citizen.refresh_from_db()
    assert citizen.pending_email == ""
    assert User.objects.filter(pk=citizen.pk).exists()


def test_four_wrong_current_passwords_then_the_right_one_reset_the_count(citizen):
    client = espace_client(citizen)
    for n in range(4):
        espace_post(client, citizen, "courriel", WRONG, at=T + timedelta(minutes=n))
    response = espace_post(client, citizen, "courriel", PASSWORD, at=T + timedelta(minutes=4))
    assert response.status_code == 302
    for n in range(4):
        response = espace_post(client, citizen, "mdp", WRONG, at=T + timedelta(minutes=5 + n))
        assert ESPACE_LOCKED not in text_of(response)


def test_the_personal_space_lock_does_not_lock_the_login_page(citizen):
    client = espace_client(citizen)
    for n in range(services.ACCOUNT_MAX_FAILURES):
        espace_post(client, citizen, "mdp", WRONG, at=T - timedelta(minutes=4 - n))
    assert ESPACE_LOCKED in text_of(espace_post(client, citizen, "mdp", PASSWORD, at=T))
    # The owner, on another device, still logs in.
    other_device = login(Client(), citizen, PASSWORD, at=T + timedelta(minutes=1))
    assert other_device.status_code == 302
    assert other_device.logged_in == citizen.pk


def test_the_login_page_does_not_lock_the_personal_space(citizen):
    # Wrong passwords on the login page, for the account's e-mail and for the identifier the
    # personal space's checks use: neither locks those checks.
    for identifier in (citizen.email, f"user:{citizen.pk}"):
        for n in range(services.ACCOUNT_MAX_FAILURES):
            login(Client(), citizen, WRONG, at=T - timedelta(minutes=4 - n), identifier=identifier)
    assert LOCKED in text_of(login(Client(), citizen, PASSWORD, at=T))
    client = espace_client(citizen)
    response = espace_post(client, citizen, "mdp", PASSWORD, at=T + timedelta(minutes=1))
    assert response.status_code == 302
