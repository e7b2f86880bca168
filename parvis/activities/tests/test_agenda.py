"""« Agenda et rappels » and the iCalendar feed: the link created, shown and revoked (the old one
404s), the reminders' opt-out, and the feed read back like a calendar app would (unfolded lines,
fields, RFC 5545 escaping, CRLF, 75-octet lines), answered only for a valid token of an account
of the commune in the URL, in a constant number of queries."""

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.activities import ical
from parvis.activities.models import BookingPreferences, BookingStatus, Reservation
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)  # Thursday
MONDAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family():
    commune = CommuneFactory()
    famille = FamilleFactory(commune=commune, name="DURAND")
    lea = ChildFactory(famille=famille, first_names="Léa")
    tom = ChildFactory(famille=famille, first_names="Tom")
    user = FamilyAccessFactory(famille=famille).user
    activity = make_activity(commune)
    for child in (lea, tom):
        register(child, activity)
    return {
        "commune": commune, "famille": famille, "lea": lea, "tom": tom, "user": user,
        "activity": activity, "unit": activity.units.get(),
    }  # fmt: skip


@pytest.fixture
def logged(client, family):
    client.force_login(family["user"], backend=BACKEND)
    return client


def book(family, child, day, status=BookingStatus.RESERVEE, unit=None, **extra):
    return Reservation.objects.create(
        commune=family["commune"], famille=child.famille, child=child,
        unit=unit or family["unit"], day=day, status=status, **extra,
    )  # fmt: skip


def agenda_url(commune):
    return reverse("activities:agenda", kwargs={"commune": commune.slug})


def feed_path(commune, token):
    return reverse("activities:agenda_ics", kwargs={"commune": commune.slug, "token": token})


def token_of(user) -> str:
    return BookingPreferences.objects.get(user=user).feed_token


def text_of(response) -> str:
    html = response.content.decode()
    text = re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", text)


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse(body: bytes):
    """(the unfolded lines, the VEVENTs as {name with parameters: value}), checking the
    wire format on the way: CRLF only, no line over 75 octets."""
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    for raw in text.split("\r\n"):
        assert len(raw.encode("utf-8")) <= 75, raw
    lines = text.replace("\r\n ", "").split("\r\n")[:-1]
    events, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, value = line.split(":", 1)
            current[name] = value
    return lines, events


def create_link(client, family) -> str:
    response = client.post(agenda_url(family["commune"]), {"action": "creer"})
    assert response.status_code == 302
    return token_of(family["user"])


# --- The settings page -------------------------------------------------------------------------


def test_the_page_creates_then_shows_the_private_link(logged, family):
    commune = family["commune"]
    response = logged.get(agenda_url(commune))
    assert response.status_code == 200
    assert "Créer mon lien d'agenda" in text_of(response)
    assert ".ics" not in response.content.decode()
    assert not BookingPreferences.objects.exists()

    token = create_link(logged, family)
    assert len(token) == 43  # secrets.token_urlsafe(32)
    response = logged.get(agenda_url(commune))
    html = response.content.decode()
    assert f'value="http://testserver{feed_path(commune, token)}"' in html
    assert f'href="webcal://testserver{feed_path(commune, token)}"' in html
    assert "Révoquer ce lien" in text_of(response)
    assert "Créer mon lien d'agenda" not in text_of(response)
    assert AuditEntry.objects.filter(action="agenda.feed_created").count() == 1


def test_revoking_replaces_the_link_and_the_old_one_404s(client, logged, family):
    commune = family["commune"]
    old = create_link(logged, family)
    assert client.get(feed_path(commune, old)).status_code == 200
    response = logged.post(agenda_url(commune), {"action": "revoquer"}, follow=True)
    assert "L'ancien lien est révoqué" in text_of(response)
    new = token_of(family["user"])
    assert new != old
    logged.logout()
    assert client.get(feed_path(commune, old)).status_code == 404
    assert client.get(feed_path(commune, new)).status_code == 200
    assert AuditEntry.objects.filter(action="agenda.feed_revoked").count() == 1


def test_the_reminders_can_be_turned_off_and_on(logged, family):
    commune = family["commune"]
    response = logged.get(agenda_url(commune))
    assert 'name="deadline_reminders"' in response.content.decode()
    assert response.context["form"]["deadline_reminders"].value() is True  # no row: on
    response = logged.post(agenda_url(commune), {"action": "rappels"}, follow=True)
    assert "Vous ne recevrez plus les rappels" in text_of(response)
    assert BookingPreferences.objects.get(user=family["user"]).deadline_reminders is False
    assert response.context["form"]["deadline_reminders"].value() is False
    logged.post(agenda_url(commune), {"action": "rappels", "deadline_reminders": "on"})
    assert BookingPreferences.objects.get(user=family["user"]).deadline_reminders is True
    assert AuditEntry.objects.filter(action="agenda.reminders").count() == 2


def test_the_page_asks_to_log_in(client, family):
    response = client.get(agenda_url(family["commune"]))
    assert response.status_code == 302 and "/connexion/" in response["Location"]
    response = client.post(agenda_url(family["commune"]), {"action": "creer"})
    assert response.status_code == 302
    assert not BookingPreferences.objects.exists()


# --- The feed ----------------------------------------------------------------------------------


def test_the_feed_lists_the_households_bookings(client, logged, family):
    commune, lea, tom = family["commune"], family["lea"], family["tom"]
    booked = book(family, lea, MONDAY)
    pending = book(family, tom, MONDAY, BookingStatus.EN_ATTENTE)
    offered = book(
        family, tom, date(2026, 12, 1), BookingStatus.PROPOSEE,
        offer_expires_at=NOW + timedelta(hours=24),
    )  # fmt: skip
    book(family, lea, date(2026, 12, 1), BookingStatus.LISTE_ATTENTE)  # not a booking
    month_ago = book(family, lea, date(2026, 10, 27))  # 30 days before today: shown
    book(family, lea, date(2026, 10, 26))  # 31 days: not shown
    stranger = ChildFactory(famille=FamilleFactory(commune=commune), first_names="Zoé")
    book(family, stranger, MONDAY)  # another family's
    token = create_link(logged, family)
    logged.logout()

    response = client.get(feed_path(commune, token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"].startswith("private")
    lines, events = parse(response.content)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert "BEGIN:VTIMEZONE" in lines and "TZID:Europe/Paris" in lines
    by_uid = {event["UID"]: event for event in events}
    assert sorted(by_uid) == sorted(
        f"reservation-{r.pk}@testserver" for r in (booked, pending, offered, month_ago)
    )
    first = by_uid[f"reservation-{booked.pk}@testserver"]
    assert first["DTSTART;TZID=Europe/Paris"] == "20261130T073000"
    assert first["DTEND;TZID=Europe/Paris"] == "20261130T082000"
    assert unescape(first["SUMMARY"]) == "Léa — Acc Matin (Accueil Périscolaire Maternelle)"
    assert first["STATUS"] == "CONFIRMED"
    assert re.fullmatch(r"\d{8}T\d{6}Z", first["DTSTAMP"])
    waiting = by_uid[f"reservation-{pending.pk}@testserver"]
    assert waiting["STATUS"] == "TENTATIVE"
    assert unescape(waiting["SUMMARY"]).startswith("Tom — Acc Matin")
    assert "En attente d'instruction" in unescape(waiting["DESCRIPTION"])
    proposed = by_uid[f"reservation-{offered.pk}@testserver"]
    assert proposed["STATUS"] == "TENTATIVE"
    assert unescape(proposed["SUMMARY"]) == (
        "Place proposée : Tom — Acc Matin (Accueil Périscolaire Maternelle)"
    )
    assert "À accepter avant le vendredi 27 novembre 2026 à 10:00." in unescape(
        proposed["DESCRIPTION"]
    )
    assert proposed["URL"].endswith(f"/places-proposees/{offered.pk}/")


def test_the_uid_is_stable_from_one_fetch_to_the_next(client, logged, family):
    booking = book(family, family["lea"], MONDAY)
    token = create_link(logged, family)
    _lines, first = parse(client.get(feed_path(family["commune"], token)).content)
    book(family, family["tom"], MONDAY)
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        _lines, second = parse(client.get(feed_path(family["commune"], token)).content)
    uid = f"reservation-{booking.pk}@testserver"
    assert uid in {e["UID"] for e in first} and uid in {e["UID"] for e in second}


def test_commas_semicolons_and_long_lines_are_escaped_and_folded(client, logged, family):
    commune = family["commune"]
    name = "Centre de loisirs, été; semaine « découverte » \\ nature et sciences de la vie"
    activity = make_activity(commune, name=name, slug="centre")
    register(family["lea"], activity)
    book(family, family["lea"], MONDAY, unit=activity.units.get())
    token = create_link(logged, family)
    body = client.get(feed_path(commune, token)).content
    _lines, (event,) = parse(body)
    assert "Centre de loisirs\\, été\\; semaine « découverte » \\\\ nature" in event["SUMMARY"]
    assert unescape(event["SUMMARY"]) == f"Léa — Acc Matin ({name})"
    assert b"\r\n " in body  # the long SUMMARY was folded


def test_another_communes_address_with_a_valid_token_is_404(client, logged, family):
    token = create_link(logged, family)
    elsewhere = CommuneFactory()
    assert client.get(feed_path(elsewhere, token)).status_code == 404
    assert client.get(feed_path(family["commune"], token)).status_code == 200


def test_unknown_tokens_and_closed_accounts_are_404(client, logged, family):
    commune = family["commune"]
    token = create_link(logged, family)
    for wrong in ("x", token[:-1], token + "a", "a" * 300, token.upper()):
        if wrong == token:
            continue
        assert client.get(feed_path(commune, wrong)).status_code == 404
    family["user"].is_active = False
    family["user"].save()
    assert client.get(feed_path(commune, token)).status_code == 404


def test_the_feed_only_answers_get(client, logged, family):
    token = create_link(logged, family)
    assert client.post(feed_path(family["commune"], token)).status_code == 405


def test_the_feed_costs_the_same_whatever_the_number_of_bookings(
    client, logged, family, django_assert_max_num_queries
):
    commune = family["commune"]
    token = create_link(logged, family)
    logged.logout()
    book(family, family["lea"], MONDAY)
    with CaptureQueriesContext(connection) as one:
        client.get(feed_path(commune, token))
    day = MONDAY
    for _ in range(30):
        day += timedelta(days=1)
        for child in (family["lea"], family["tom"]):
            book(family, child, day)
    with django_assert_max_num_queries(len(one)):
        response = client.get(feed_path(commune, token))
    _lines, events = parse(response.content)
    assert len(events) == 61


# --- The writer on its own ---------------------------------------------------------------------


def test_escape_text():
    assert ical.escape_text("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"
    assert ical.escape_text("bell\x07") == "bell"


def test_fold_never_splits_a_character_and_unfolds_back():
    line = "SUMMARY:" + "é" * 100
    folded = ical.fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 1
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert folded.replace("\r\n ", "") == line
    assert ical.fold("short") == "short"
    exact = "X" * 75
    assert ical.fold(exact) == exact
    assert ical.fold(exact + "Y") == exact + "\r\n Y"
