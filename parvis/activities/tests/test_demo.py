"""The demo activities: the school year's period, the DURAND children's inscriptions and bookings
in the states the issue asks for, seat counters that match the bookings, and a second load that
changes nothing."""

from datetime import date

import pytest

from parvis.activities import demo
from parvis.activities.models import (
    SEAT_HOLDING,
    BookingEvent,
    BookingStatus,
    Inscription,
    InscriptionStatus,
    Reservation,
    UnitDay,
)
from parvis.activities.services import waiting_rank

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 22)  # a Sunday in term


@pytest.fixture
def loaded(demo_communes):
    from parvis.families import demo as families_demo

    families_demo.load()
    return demo.load(today=TODAY)


def test_period_runs_from_september_to_the_first_saturday_of_july():
    assert demo.school_year_period(date(2026, 11, 22)) == (date(2026, 9, 1), date(2027, 7, 3))
    assert demo.school_year_period(date(2027, 3, 1)) == (date(2026, 9, 1), date(2027, 7, 3))
    # Once the year is over, the coming one.
    assert demo.school_year_period(date(2027, 8, 10)) == (date(2027, 9, 1), date(2028, 7, 1))


def test_activities_units_and_inscriptions(loaded):
    peri = loaded["peri-maternelle"]
    assert peri.name == "Accueil Périscolaire Maternelle"
    assert [(u.code, u.label, u.capacity) for u in peri.units.all()] == [
        ("PERI_AM_M", "Acc Matin", 20),
        ("PERI_PM_M", "Acc Soir", 20),
    ]
    assert loaded["restauration"].units.get().capacity is None
    mercredi = loaded["loisirs-mercredi"]
    assert mercredi.needs_instruction
    assert mercredi.units.get().weekdays == [2]
    registered = {
        (i.child.first_names, i.activity.slug)
        for i in Inscription.objects.filter(
            commune__slug=demo.SLUG, famille__number=1
        ).select_related("child", "activity")
    }
    assert registered == {
        ("Léa", "peri-maternelle"),
        ("Léa", "restauration"),
        ("Léa", "loisirs-mercredi"),
        ("Hugo", "restauration"),
        ("Hugo", "loisirs-mercredi"),
    }
    assert not Inscription.objects.exclude(status=InscriptionStatus.ACCEPTEE).exists()


def test_bookings_in_the_coming_weeks_with_a_waiting_list_and_a_pending_day(loaded):
    lea = Reservation.objects.filter(child__first_names="Léa")
    assert lea.filter(unit__code="REPAS", day__gt=TODAY).count() >= 8
    assert lea.filter(unit__code="PERI_AM_M").exists()
    assert not Reservation.objects.filter(day__lte=TODAY).exists()
    # No meal on a Wednesday, no booking on a school holiday (Christmas starts 19/12/2026).
    assert not Reservation.objects.filter(unit__code="REPAS", day__week_day=4).exists()

    waiting = lea.get(unit__code="ALSH_MER")
    assert waiting.status == BookingStatus.LISTE_ATTENTE
    assert waiting_rank(waiting) == 1
    full_day = Reservation.objects.filter(unit__code="ALSH_MER", day=waiting.day)
    assert sorted(full_day.filter(status=BookingStatus.RESERVEE).values_list(
        "child__first_names", flat=True
    )) == ["Inès", "Nathan"]  # fmt: skip
    pending = Reservation.objects.get(child__first_names="Hugo", unit__code="ALSH_MER")
    assert pending.status == BookingStatus.EN_ATTENTE
    assert pending.day > waiting.day


def _counters():
    return {(row.unit_id, row.day): row.taken for row in UnitDay.objects.all() if row.taken}


def _holding():
    counts = {}
    for unit_id, day in Reservation.objects.filter(
        status__in=SEAT_HOLDING, unit__capacity__isnull=False
    ).values_list("unit_id", "day"):
        counts[(unit_id, day)] = counts.get((unit_id, day), 0) + 1
    return counts


def test_seat_counters_match_the_bookings(loaded):
    assert _counters() == _holding()


def test_loading_again_changes_nothing(loaded):
    before = (
        list(Reservation.objects.order_by("pk").values_list("pk", "status")),
        _counters(),
        BookingEvent.objects.count(),
        Inscription.objects.count(),
    )
    demo.load(today=TODAY)
    demo.load(today=date(2026, 11, 25))  # a later day: the households already have bookings
    after = (
        list(Reservation.objects.order_by("pk").values_list("pk", "status")),
        _counters(),
        BookingEvent.objects.count(),
        Inscription.objects.count(),
    )
    assert after == before
