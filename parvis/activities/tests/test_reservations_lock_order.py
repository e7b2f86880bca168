"""Every writer of a reservation locks its seat counter before the row (issue 16 §1): a basket or
a closure holds the counter and waits for the family's row; an agent's decision or an offer that
took the row first would wait for that counter — a deadlock PostgreSQL breaks by failing one of
them. Checked on PostgreSQL: while a transaction holds the counter, the decision waits on it
without holding the row, so the row can still be taken at once (NOWAIT)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, connection, connections, transaction

from parvis.activities import services_offres
from parvis.activities.models import BookingStatus, Reservation, UnitDay
from parvis.activities.services import accept_bookings
from parvis.activities.services_instruction import refuse_bookings
from parvis.activities.services_offres import decline_offer, expire_offers
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_offres import MONDAY, NOW, Family
from parvis.communes.tests.factories import CommuneFactory


def waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def setup(*, needs_instruction: bool):
    commune = CommuneFactory()
    activity = make_activity(
        commune, capacity=1, needs_instruction=needs_instruction, offer_hours=24
    )
    holder, waiting = Family(commune, "HOLDER"), Family(commune, "WAITING")
    for person in (holder, waiting):
        register(person.child, activity)
        person.book(activity, add=[MONDAY])
    return commune, activity, holder, waiting


DECISIONS = {
    "accept_bookings": lambda commune, activity, booking, people: accept_bookings(
        commune=commune, actor=None, ids=[booking.pk], activities=[activity]
    ),
    "refuse_bookings": lambda commune, activity, booking, people: refuse_bookings(
        commune=commune, actor=None, ids=[booking.pk], activities=[activity], reason="Complet"
    ),
    "decline_offer": lambda commune, activity, booking, people: decline_offer(
        reservation=booking, actor=people[1].user, now=NOW
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("decision", sorted(DECISIONS))
def test_a_decision_waits_for_the_seat_counter_before_taking_the_row(decision):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: lock order is only meaningful on PostgreSQL")
    commune, activity, holder, waiting = setup(needs_instruction=decision != "decline_offer")
    if decision == "decline_offer":  # the holder gives the seat back: WAITING is offered it
        holder.book(activity, remove=[MONDAY])
        booking = waiting.reservation()
        assert booking.status == BookingStatus.PROPOSEE
    else:
        booking = holder.reservation()
        assert booking.status == BookingStatus.EN_ATTENTE
    unit = activity.units.get()
    started, pid, errors = threading.Event(), [], []

    def decide():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid.append(cursor.fetchone()[0])
            started.set()
            DECISIONS[decision](commune, activity, booking, (holder, waiting))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    with transaction.atomic():
        # What a basket does first: the day's seat counter, held.
        UnitDay.objects.select_for_update().get(unit=unit, day=MONDAY)
        thread = threading.Thread(target=decide)
        thread.start()
        started.wait(5)
        deadline = time.monotonic() + 10
        while not waiting_on_a_lock(pid[0]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert waiting_on_a_lock(pid[0]), "the decision should be waiting on the counter"
        # The decision holds no row lock while it waits: the basket gets the row at once.
        row = Reservation.objects.select_for_update(nowait=True).get(pk=booking.pk)
        assert row.pk == booking.pk
    thread.join(10)
    assert errors == []
    assert UnitDay.objects.get(unit=unit, day=MONDAY).taken == Reservation.objects.filter(
        unit=unit, day=MONDAY, status__in=[BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE,
                                           BookingStatus.PROPOSEE]
    ).count()  # fmt: skip


@pytest.mark.django_db
def test_an_offer_that_cannot_be_expired_does_not_hold_back_the_others(monkeypatch):
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=2, offer_hours=24)
    people = [Family(commune, name) for name in ("ANNE", "BRUNO", "CLARA", "DAVID")]
    for person in people:
        register(person.child, activity)
        person.book(activity, add=[MONDAY])
    people[0].book(activity, remove=[MONDAY])
    people[1].book(activity, remove=[MONDAY])
    offered = [p.reservation() for p in people[2:]]
    assert [r.status for r in offered] == [BookingStatus.PROPOSEE] * 2
    give_up = services_offres._give_up

    def failing_first(offer, **kwargs):
        if offer.pk == offered[0].pk:
            raise DatabaseError("deadlock detected")
        return give_up(offer, **kwargs)

    monkeypatch.setattr(services_offres, "_give_up", failing_first)
    later = max(r.offer_expires_at for r in offered)
    assert expire_offers(now=later) == 1
    # The first stays offered (its transaction rolled back, tried again next run); the second
    # expired and its seat is free (nobody else waits).
    assert Reservation.objects.get(pk=offered[0].pk).status == BookingStatus.PROPOSEE
    assert not Reservation.objects.filter(pk=offered[1].pk).exists()
    monkeypatch.setattr(services_offres, "_give_up", give_up)
    assert expire_offers(now=later) == 1
    assert not Reservation.objects.filter(pk=offered[0].pk).exists()
