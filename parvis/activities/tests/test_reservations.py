"""reservations.move, the one writer of a booking's state: the transitions table is enforced, and
a move of many bookings costs the queries of a move of a few."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import RestrictedError
from django.test.utils import CaptureQueriesContext

from parvis.accounts.models import AuditEntry
from parvis.activities import reservations
from parvis.activities.models import BookingEvent, BookingStatus, Reservation, UnitDay
from parvis.activities.reservations import Move, NotAllowed
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_offres import MONDAY, NOW, Family
from parvis.communes.tests.factories import CommuneFactory

pytestmark = pytest.mark.django_db

# Mondays with school (no Christmas holidays of zone C).
MONDAYS = [MONDAY + timedelta(weeks=w) for w in (0, 1, 2, 5, 6, 7, 8, 9)]


@pytest.fixture
def setting():
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=1, offer_hours=24)
    holder, waiting = Family(commune, "HOLDER"), Family(commune, "WAITING")
    for person in (holder, waiting):
        register(person.child, activity)
    return activity, holder, waiting


def _new_bookings(activity, *families) -> list[Reservation]:
    """A booking not yet saved for each family's child, on the activity's unit, on MONDAY."""
    unit = activity.units.get()
    return [
        Reservation(commune=activity.commune, famille=p.famille, child=p.child, unit=unit,
                    day=MONDAY)
        for p in families
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "to"),
    [
        (BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE),
        (BookingStatus.RESERVEE, BookingStatus.LISTE_ATTENTE),
        (BookingStatus.LISTE_ATTENTE, BookingStatus.RESERVEE),  # jumping the queue
        (BookingStatus.LISTE_ATTENTE, BookingStatus.PROPOSEE),  # offers are move's own
        (None, BookingStatus.PROPOSEE),
    ],
)
def test_a_move_the_table_does_not_allow_writes_nothing(setting, status, to):
    activity, holder, _waiting = setting
    unit = activity.units.get()
    if status is None:
        reservation = Reservation(
            commune=activity.commune, famille=holder.famille, child=holder.child, unit=unit,
            day=MONDAY,
        )  # fmt: skip
    else:
        holder.book(activity, add=[MONDAY])
        reservation = holder.reservation()
        Reservation.objects.filter(pk=reservation.pk).update(status=status)
        reservation.refresh_from_db()

    with pytest.raises(NotAllowed):
        reservations.move([Move(reservation, to, "x")], actor=None, now=NOW)

    assert not BookingEvent.objects.filter(action="x").exists()
    assert Reservation.objects.filter(status=to).count() == 0


def test_a_move_inside_a_transaction_opens_no_savepoint_of_its_own(setting):
    """« Valider » calls move inside its own transaction: move's writes join it (two statements
    less than a savepoint and its release), and a move refused by the table leaves it usable
    (checked before move's transaction: the test's transaction is the caller's here)."""
    activity, holder, waiting = setting
    unit = activity.units.get()
    bookings = _new_bookings(activity, holder, waiting)
    with CaptureQueriesContext(connection) as queries:
        outcome = reservations.move(
            [Move(b, BookingStatus.RESERVEE, "added") for b in bookings], actor=None, now=NOW
        )
    assert len(outcome.created) == 2
    assert not [q for q in queries if "SAVEPOINT" in q["sql"].upper()]

    with pytest.raises(NotAllowed):
        reservations.move(
            [Move(outcome.created[0], BookingStatus.EN_ATTENTE, "x")], actor=None, now=NOW
        )
    # The caller's transaction goes on: what move wrote before is there, nothing of the refusal.
    assert Reservation.objects.filter(unit=unit, day=MONDAY).count() == 2
    assert not BookingEvent.objects.filter(action="x").exists()


def test_a_booking_beyond_the_seats_goes_to_the_waiting_list_and_a_seat_given_back_is_offered(
    setting,
):
    activity, holder, waiting = setting
    bookings = _new_bookings(activity, holder, waiting)
    outcome = reservations.move(
        [Move(b, BookingStatus.RESERVEE, "added") for b in bookings], actor=None, now=NOW
    )
    assert [r.status for r in outcome.created] == [
        BookingStatus.RESERVEE,
        BookingStatus.LISTE_ATTENTE,
    ]
    assert UnitDay.objects.get().taken == 1

    outcome = reservations.move([Move(bookings[0], None, "removed")], actor=None, now=NOW)

    assert outcome.offered == [bookings[1]]
    assert waiting.reservation().status == BookingStatus.PROPOSEE
    assert waiting.reservation().offer_expires_at == NOW + timedelta(hours=24)
    assert UnitDay.objects.get().taken == 1
    assert list(BookingEvent.objects.values_list("action", "status")) == [
        ("added", BookingStatus.RESERVEE),
        ("added", BookingStatus.LISTE_ATTENTE),
        ("removed", BookingStatus.RESERVEE),
        ("offered", BookingStatus.PROPOSEE),
    ]


def _queries(setting, days) -> tuple[int, int]:
    """Queries of booking `days` for two children (the second waits), then of giving the first
    child's seats back (each offered to the second), an audit row per booking moved."""
    activity, holder, waiting = setting
    unit = activity.units.get()

    def audit(outcome):
        return [
            dict(action="reservation.test", commune=activity.commune, target=r)
            for r in [*outcome.created, *outcome.removed]
        ]

    moves = [
        Move(Reservation(commune=activity.commune, famille=p.famille, child=p.child, unit=unit,
                         day=day), BookingStatus.RESERVEE, "added")
        for p in (holder, waiting)
        for day in days
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as booking:
        reservations.move(moves, actor=holder.user, now=NOW, audit=audit)
    held = list(
        Reservation.objects.filter(child=holder.child).select_related("unit__activity", "child")
    )
    with CaptureQueriesContext(connection) as giving_back:
        outcome = reservations.move(
            [Move(r, None, "removed") for r in held], actor=holder.user, now=NOW, audit=audit
        )
    assert len(outcome.offered) == len(days)
    # Two created a day (the holder, the waiting child), the holder's removed.
    assert AuditEntry.objects.filter(action="reservation.test").count() == 3 * len(days)
    Reservation.objects.all().delete()
    UnitDay.objects.all().delete()
    AuditEntry.objects.all().delete()
    return len(booking), len(giving_back)


def test_the_queries_do_not_grow_with_the_number_of_bookings(setting):
    assert _queries(setting, MONDAYS[:2]) == _queries(setting, MONDAYS)


@pytest.mark.django_db(transaction=True)
def test_load_booked_runs_outside_any_transaction(setting):
    # The bench calls it from a command, with no transaction open: on PostgreSQL its counters'
    # SELECT … FOR UPDATE needs one of its own.
    activity, holder, waiting = setting
    unit = activity.units.get()
    reservations.load_booked([
        Reservation(commune=activity.commune, famille=p.famille, child=p.child, unit=unit,
                    day=MONDAY)
        for p in (holder, waiting)
    ])  # fmt: skip
    assert UnitDay.objects.get(unit=unit, day=MONDAY).taken == 2
    assert Reservation.objects.filter(unit=unit, status=BookingStatus.RESERVEE).count() == 2


def test_a_family_or_a_child_with_bookings_is_not_deleted_behind_the_counters(setting):
    activity, holder, _waiting = setting
    holder.book(activity, add=[MONDAY])
    unit = activity.units.get()
    with pytest.raises(RestrictedError):
        holder.famille.delete()
    with pytest.raises(RestrictedError):
        holder.child.delete()
    assert UnitDay.objects.get(unit=unit, day=MONDAY).taken == 1 == Reservation.objects.count()
