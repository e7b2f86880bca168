"""Issue 23 §1: « Valider » and the other bulk writes on bookings cost a constant number of
queries whatever the number of changes (1, 10, 112), at most 25 — with seats running out, so
that the waiting list (and its ranks) is part of every measure."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.calendar import closed_reason
from parvis.activities.models import BookingStatus, Reservation, Unit, UnitDay
from parvis.activities.reservations import load_booked
from parvis.activities.services import accept_bookings, validate_basket
from parvis.activities.services_foyer import ChildBasket, validate_household_basket
from parvis.activities.services_instruction import close_day, refuse_bookings
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_offres import NOW, Family
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory

pytestmark = pytest.mark.django_db

SIZES = (1, 10, 112)
LIMIT = 25
# The families' « Valider » (one basket, a household's, a period cancelled): 15 at most since
# the grid is no longer read and the counters are locked once (issue 23, « Valider » under half
# its CPU; the test savepoints included).
BASKET_LIMIT = 15


def constant(counts: list[int], limit: int = LIMIT) -> bool:
    """The same count for every size, at most `limit`. SQLite splits a bulk statement of more
    than 999 variables in two (Django's batches): for 112 rows, one more query there for each
    bulk statement of 9 columns or more (the bookings' updates, their history rows since they
    carry commune_id, issue 18 §2)."""
    slack = 0 if connection.vendor == "postgresql" else 2
    return counts[0] == counts[1] and counts[1] <= counts[2] <= counts[1] + slack <= limit + slack


def school_days(count: int) -> list[date]:
    """The first `count` Mondays, Tuesdays, Thursdays and Fridays with school from Monday
    30 November (bookable at NOW)."""
    days, day = [], date(2026, 11, 30)
    while len(days) < count:
        closed = closed_reason(
            day, zone="C", weekdays=[0, 1, 3, 4], during="school",
            start=date(2026, 9, 1), end=date(2027, 7, 3), closures={},
        )  # fmt: skip
        if closed is None:
            days.append(day)
        day += timedelta(days=1)
    return days


@pytest.fixture
def rush():
    """A care unit of 3 seats already full (seats run out: every change of the measures goes to
    the waiting list or takes a seat given back) and a canteen without limit."""
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=3)
    care = activity.units.get()
    days = school_days(56)
    for n in range(3):
        holder = Family(commune, f"HOLDER{n}")
        register(holder.child, activity)
        holder.book(activity, add=days)
    canteen = Unit.objects.create(
        commune=commune, activity=activity, code="REPAS", label="Restauration",
        starts_at=time(11, 30), ends_at=time(13, 30), weekdays=[0, 1, 3, 4], position=2,
    )  # fmt: skip
    return activity, care, canteen, days


def _changes(care, canteen, days, size):
    """`size` changes: half on the full care unit (waiting list), half on the canteen."""
    changes = [(unit, day) for day in days for unit in (care, canteen)]
    return changes[:size]


def test_validate_basket_costs_the_same_queries_for_1_10_and_112_changes(rush):
    activity, care, canteen, days = rush
    commune = activity.commune
    counts, queued = [], {day: 0 for day in days}  # who waits already on each care day
    for size in SIZES:
        person = Family(commune, f"RUSH{size}")
        register(person.child, activity)
        add = _changes(care, canteen, days, size)
        with CaptureQueriesContext(connection) as queries:
            result = validate_basket(
                famille=person.famille, child=person.child, activity=activity, add=add,
                remove=[], actor=person.user, now=NOW,
            )  # fmt: skip
        counts.append(len(queries))
        waiting = result.waiting
        assert len(result.added) + len(waiting) == size
        assert {r.day for r in waiting} == {day for unit, day in add if unit == care}
        for reservation in waiting:
            queued[reservation.day] += 1
        assert {r.day: result.ranks[r.pk] for r in waiting} == {
            r.day: queued[r.day] for r in waiting
        }
    assert constant(counts, BASKET_LIMIT), counts


def test_the_household_basket_costs_the_same_queries_for_1_10_and_112_changes(rush):
    """Two children of one household, the changes shared between them."""
    activity, care, canteen, days = rush
    commune = activity.commune
    counts = []
    for size in SIZES:
        person = Family(commune, f"RUSH{size}")
        sister = ChildFactory(famille=person.famille, first_names="Soeur")
        register(person.child, activity)
        register(sister, activity)
        add = _changes(care, canteen, days, size)
        baskets = [
            ChildBasket(child=child, activity=activity, add=add[half::2])
            for half, child in enumerate([person.child, sister])
        ]
        baskets = [basket for basket in baskets if basket.add]
        with CaptureQueriesContext(connection) as queries:
            validate_household_basket(baskets=baskets, actor=person.user, now=NOW)
        counts.append(len(queries))
        # One transaction, validate_baskets' (a savepoint here, inside the test's; BEGIN in
        # production): neither the household's service nor reservations.move opens its own.
        opened = [q["sql"] for q in queries if q["sql"].upper().startswith("SAVEPOINT")]
        assert len(opened) == 1, opened
        assert Reservation.objects.filter(famille=person.famille).count() == size
        assert all(basket.result is not None for basket in baskets)
    assert constant(counts, BASKET_LIMIT), counts
    for unit_day in UnitDay.objects.filter(unit=care):
        assert (
            unit_day.taken
            == Reservation.objects.filter(
                unit=care, day=unit_day.day, status=BookingStatus.RESERVEE
            ).count()
            == 3
        )


def test_cancelling_a_period_costs_the_same_queries_for_1_10_and_112_days(rush):
    """A family cancels 1, 10 or 112 days, half of them on the waiting list of a full unit (so the
    list is read and locked), in constant queries."""
    activity, care, canteen, days = rush
    commune = activity.commune
    waiting = Family(commune, "WAITING")
    register(waiting.child, activity)
    validate_basket(
        famille=waiting.famille,
        child=waiting.child,
        activity=activity,
        add=[(care, day) for day in days],
        remove=[],
        actor=waiting.user,
        now=NOW,
    )  # fmt: skip  (on every care day's waiting list: 3 seats taken)
    counts = []
    for size in SIZES:
        person = Family(commune, f"CANCEL{size}")
        register(person.child, activity)
        changes = _changes(care, canteen, days, size)
        validate_basket(famille=person.famille, child=person.child, activity=activity,
                        add=changes, remove=[], actor=person.user, now=NOW)  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            result = validate_basket(
                famille=person.famille, child=person.child, activity=activity, add=[],
                remove=changes, actor=person.user, now=NOW,
            )  # fmt: skip
        counts.append(len(queries))
        assert len(result.removed) == size
        assert not Reservation.objects.filter(child=person.child).exists()
    assert constant(counts, BASKET_LIMIT), counts


def _pending(size: int):
    """`size` bookings « en attente d'instruction » on a unit of 3 seats, of two children
    (the school year has fewer than 112 days left on one unit)."""
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=3, needs_instruction=True)
    days = school_days(56)
    for n, share in enumerate((size - size // 2, size // 2)):
        person = Family(commune, f"PENDING{n}")
        register(person.child, activity)
        if share:
            person.book(activity, add=days[:share])
    ids = list(Reservation.objects.filter(commune=commune).values_list("pk", flat=True))
    assert len(ids) == size
    return commune, activity, ids


@pytest.mark.parametrize("decision", ["accept", "refuse"])
def test_an_agents_bulk_decision_costs_the_same_queries_for_1_10_and_112_bookings(decision):
    counts = []
    for size in SIZES:
        commune, activity, ids = _pending(size)
        with CaptureQueriesContext(connection) as queries:
            if decision == "accept":
                done = accept_bookings(commune=commune, actor=None, ids=ids, activities=[activity])
            else:
                done = refuse_bookings(commune=commune, actor=None, ids=ids,
                                       activities=[activity], reason="Complet")  # fmt: skip
        counts.append(len(queries))
        assert done == size
    assert constant(counts), counts


def test_closing_a_day_costs_the_same_queries_for_1_10_and_112_bookings():
    counts = []
    day = school_days(1)[0]
    for size in SIZES:
        commune = CommuneFactory()
        activity = make_activity(commune, capacity=size)
        unit = activity.units.get()
        famille = FamilleFactory(commune=commune)
        children = [ChildFactory(famille=famille) for _ in range(size)]
        load_booked([
            Reservation(commune=commune, famille=famille, child=child, unit=unit, day=day)
            for child in children
        ])  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            close_day(commune=commune, activity=activity, day=day, reason="Grève", actor=None)
        counts.append(len(queries))
        assert not Reservation.objects.filter(unit=unit).exists()
        assert UnitDay.objects.get(unit=unit, day=day).taken == 0
    assert constant(counts), counts
