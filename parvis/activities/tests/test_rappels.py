"""The deadline reminders: sent when next week's booking deadline is within 24 hours (at its
minute, not the minute before nor at the deadline), only for registered children with nothing
booked that week, to each linked account that did not opt out, once, per commune; a holiday week
(no open day) sends nothing."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from parvis.activities.models import (
    ActivityClosure,
    BookingPreferences,
    BookingStatus,
    InscriptionStatus,
    ReminderSent,
    Reservation,
    Runs,
)
from parvis.activities.rules import PARIS
from parvis.activities.services_rappels import send_booking_reminders, week_deadline
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

pytestmark = pytest.mark.django_db

# Next week starts Monday 30 November 2026; Monday's deadline is the working day before at
# 09:00, Friday 27 November: the reminder goes from Thursday 26 09:00 until Friday 27 08:59.
MONDAY = date(2026, 11, 30)
DEADLINE = datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)
THURSDAY_10H = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)


@pytest.fixture
def family():
    commune = CommuneFactory(name="Carrières-sous-Poissy")
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
def run(django_capture_on_commit_callbacks):
    def run(now, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send_booking_reminders(now=now, **kwargs)

    return run


def book(family, child, day, status=BookingStatus.RESERVEE):
    return Reservation.objects.create(
        commune=family["commune"], famille=child.famille, child=child, unit=family["unit"],
        day=day, status=status,
    )  # fmt: skip


def test_the_reminder_lists_the_children_the_deadline_and_the_links(run, family):
    assert run(THURSDAY_10H) == 1
    (message,) = mail.outbox
    assert message.to == [family["user"].email]
    assert "Carrières-sous-Poissy" in message.subject
    assert "lundi 30 novembre 2026" in message.subject
    body = message.body
    assert "semaine du lundi 30 novembre 2026" in body
    assert "« Accueil Périscolaire Maternelle »" in body
    assert (
        "Date limite pour réserver : vendredi 27 novembre 2026 à 09:00 (pour le lundi 30 "
        "novembre 2026, premier jour d'accueil de la semaine" in body
    )
    slug, activity = family["commune"].slug, family["activity"].slug
    for child in (family["lea"], family["tom"]):
        assert (
            f"- {child.first_names} DURAND : http://testserver/{slug}/mon-espace/reservations/"
            f"{activity}/{child.pk}/#semaine-2026-11-30"
        ) in body
    assert f"http://testserver/{slug}/mon-espace/agenda/" in body
    row = ReminderSent.objects.get()
    assert (row.user, row.activity, row.week) == (family["user"], family["activity"], MONDAY)


@pytest.mark.parametrize(
    ("now", "sent"),
    [
        (DEADLINE - timedelta(hours=24, minutes=1), 0),  # the minute before the window
        (DEADLINE - timedelta(hours=24), 1),  # the window opens: deadline in exactly 24 h
        (DEADLINE - timedelta(minutes=1), 1),  # the last minute to book
        (DEADLINE, 0),  # the deadline itself: too late to book, nothing to remind
        (DEADLINE + timedelta(minutes=1), 0),
    ],
)
def test_the_24_hour_window_at_its_minutes(run, family, now, sent):
    assert run(now) == sent
    assert len(mail.outbox) == sent


def test_a_week_with_any_booking_of_the_child_is_not_reminded(run, family):
    book(family, family["lea"], date(2026, 12, 3), BookingStatus.LISTE_ATTENTE)
    assert run(THURSDAY_10H) == 1
    (message,) = mail.outbox
    assert "Tom DURAND" in message.body
    assert "Léa DURAND" not in message.body
    mail.outbox.clear()
    ReminderSent.objects.all().delete()
    book(family, family["tom"], MONDAY, BookingStatus.EN_ATTENTE)
    assert run(THURSDAY_10H) == 0
    assert mail.outbox == []


def test_a_booking_outside_next_week_does_not_count(run, family):
    book(family, family["lea"], MONDAY - timedelta(days=1))  # Sunday: this week
    book(family, family["tom"], MONDAY + timedelta(days=7))  # the week after
    assert run(THURSDAY_10H) == 1


def test_only_accepted_inscriptions_are_reminded(run, family):
    family["lea"].inscriptions.update(status=InscriptionStatus.EN_ATTENTE)
    family["tom"].inscriptions.update(status=InscriptionStatus.REFUSEE)
    assert run(THURSDAY_10H) == 0


def test_opting_out_stops_the_reminder_for_that_account_only(run, family):
    BookingPreferences.objects.create(
        commune=family["commune"], user=family["user"], deadline_reminders=False
    )
    other = FamilyAccessFactory(famille=family["famille"]).user  # the other parent, no row
    assert run(THURSDAY_10H) == 1
    (message,) = mail.outbox
    assert message.to == [other.email]


def test_a_holiday_week_has_no_deadline_and_sends_nothing(run, family):
    # Monday 21 December 2026: Christmas holidays in zone C, no school-time care all week.
    thursday = datetime(2026, 12, 17, 10, 0, tzinfo=PARIS)
    assert week_deadline(family["activity"], date(2026, 12, 21)) is None
    assert run(thursday) == 0
    # A holiday centre runs that week: its reminder does go (same day, same rule).
    centre = make_activity(
        family["commune"], name="Centre de loisirs", slug="centre", runs=Runs.HOLIDAYS
    )
    register(family["lea"], centre)
    assert run(thursday) == 1
    (message,) = mail.outbox
    assert "Centre de loisirs" in message.body
    assert "vendredi 18 décembre 2026 à 09:00" in message.body


def test_a_closed_monday_moves_the_deadline_to_tuesdays(run, family):
    ActivityClosure.objects.create(commune=family["commune"], day=MONDAY, reason="grève")
    assert run(THURSDAY_10H) == 0  # Tuesday's deadline is Monday 09:00, days away
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=PARIS)
    assert run(sunday) == 1
    assert "lundi 30 novembre 2026 à 09:00" in mail.outbox[0].body


def test_a_second_run_sends_nothing(run, family):
    assert run(THURSDAY_10H) == 1
    assert run(THURSDAY_10H + timedelta(hours=2)) == 0
    assert len(mail.outbox) == 1
    assert ReminderSent.objects.count() == 1


def test_one_commune_at_a_time_leaves_the_others_untouched(run, family):
    elsewhere = CommuneFactory()
    famille = FamilleFactory(commune=elsewhere)
    child = ChildFactory(famille=famille)
    user = FamilyAccessFactory(famille=famille).user
    register(child, make_activity(elsewhere))
    assert run(THURSDAY_10H, commune=family["commune"]) == 1
    assert [m.to for m in mail.outbox] == [[family["user"].email]]
    assert not ReminderSent.objects.filter(user=user).exists()
    assert run(THURSDAY_10H) == 1  # then the other commune, and nobody twice
    assert [m.to for m in mail.outbox] == [[family["user"].email], [user.email]]


def test_an_offline_commune_is_not_reminded(run, family):
    family["commune"].is_active = False
    family["commune"].save()
    assert run(THURSDAY_10H) == 0


def test_the_command(family, capsys, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(THURSDAY_10H, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("send_booking_reminders", "--commune", family["commune"].slug)
        call_command("send_booking_reminders")
    assert capsys.readouterr().out.splitlines() == [
        "1 rappel(s) envoyé(s).",
        "0 rappel(s) envoyé(s).",
    ]
    assert len(mail.outbox) == 1
    with pytest.raises(CommandError):
        call_command("send_booking_reminders", "--commune", "nulle-part")
