"""The seat counter of a unit and day says the truth whatever happens to its bookings: random
sequences of bookings, cancellations, agents' decisions, offers accepted, declined or expired,
closures and capacity changes on one unit and day (hypothesis), and on PostgreSQL families racing
for the last seats while others give theirs back. After each step: the counter equals the seats
held (« réservée », « en attente d'instruction », « proposée »), nothing is oversold — but when
the capacity was lowered below the bookings, which are kept and nothing new is added — and no
seat stays free while a family waits for one (before the unit starts)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from parvis.activities.models import (
    SEAT_HOLDING,
    ActivityClosure,
    BookingStatus,
    Reservation,
    Unit,
    UnitDay,
)
from parvis.activities.rules import PARIS
from parvis.activities.services import BasketRefused, offer_new_seats
from parvis.activities.services_instruction import (
    AlreadyClosed,
    accept_bookings,
    close_day,
    refuse_bookings,
)
from parvis.activities.services_offres import (
    OfferUnavailable,
    accept_offer,
    decline_offer,
    expire_offers,
)
from parvis.activities.tests.factories import make_activity, register
from parvis.activities.tests.test_offres import MONDAY, NOW, Family
from parvis.communes.tests.factories import CommuneFactory

PEOPLE = 5
STEP = (
    st.sampled_from(
        ["book", "cancel", "refuse", "accept", "accept_offer", "decline_offer", "expire",
         "close_day", "reopen", "capacity", "instruction"]
    ),
    st.integers(0, PEOPLE - 1),
    st.sampled_from([None, 0, 1, 2, 3]),
)  # fmt: skip


def held(unit) -> int:
    return Reservation.objects.filter(unit=unit, day=MONDAY, status__in=SEAT_HOLDING).count()


class SeatCounterTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.commune = CommuneFactory()
        cls.activity = make_activity(cls.commune, capacity=2, offer_hours=24)
        cls.people = [Family(cls.commune, f"F{n}") for n in range(PEOPLE)]
        for person in cls.people:
            register(person.child, cls.activity)
        cls.agent = cls.people[0].user  # any account: the services take it as the actor

    def step(self, action: str, who: int, capacity, clock: datetime) -> datetime:
        activity = type(self.activity).objects.get(pk=self.activity.pk)
        unit = activity.units.get()
        person = self.people[who]
        mine = Reservation.objects.filter(child=person.child, unit=unit, day=MONDAY).first()
        try:
            if action in ("book", "cancel"):
                change = {"add" if action == "book" else "remove": [MONDAY]}
                person.book(activity, now=clock, **change)
            elif action in ("refuse", "accept") and mine is not None:
                decide = refuse_bookings if action == "refuse" else accept_bookings
                extra = {"reason": "Complet", "now": clock} if action == "refuse" else {}
                decide(commune=self.commune, actor=None, ids=[mine.pk], activities=[activity],
                       **extra)  # fmt: skip
            elif action in ("accept_offer", "decline_offer") and mine is not None:
                answer = accept_offer if action == "accept_offer" else decline_offer
                answer(reservation=mine, actor=person.user, now=clock)
            elif action == "expire":
                clock += timedelta(hours=13)
                expire_offers(now=clock)
            elif action == "close_day":
                close_day(commune=self.commune, activity=activity, day=MONDAY, reason="Grève",
                          actor=None)  # fmt: skip
            elif action == "reopen":
                ActivityClosure.objects.filter(activity=activity, day=MONDAY).delete()
            elif action == "instruction":
                type(activity).objects.filter(pk=activity.pk).update(
                    needs_instruction=not activity.needs_instruction
                )
            elif action == "capacity":
                before = unit.seats
                Unit.objects.filter(pk=unit.pk).update(capacity=capacity)
                unit.refresh_from_db()
                # As the admin does (ActivityAdmin.save_formset): seats added go to the list.
                if before is not None and (unit.seats is None or unit.seats > before):
                    offer_new_seats(unit=unit, actor=None, now=clock)
        except (BasketRefused, OfferUnavailable, AlreadyClosed):
            pass  # a rule said no: nothing was written
        return clock

    def check(self, before_held: int, clock: datetime) -> int:
        unit = Unit.objects.get(activity=self.activity)
        now_held = held(unit)
        counter = UnitDay.objects.filter(unit=unit, day=MONDAY).first()
        if unit.seats is not None:
            if counter is not None:
                assert counter.taken == now_held, (counter.taken, now_held)
            # Nothing oversold; above a lowered capacity, nothing more is added.
            assert now_held <= max(unit.seats, before_held), (now_held, unit.seats)
            waiting = Reservation.objects.filter(
                unit=unit, day=MONDAY, status=BookingStatus.LISTE_ATTENTE
            ).exists()
            started = clock >= datetime.combine(MONDAY, unit.starts_at, tzinfo=PARIS)
            assert not (waiting and now_held < unit.seats and not started), "a seat left free"
        for status, expires in Reservation.objects.values_list("status", "offer_expires_at"):
            assert (status == BookingStatus.PROPOSEE) == (expires is not None)
        return now_held

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(st.tuples(*STEP), min_size=1, max_size=25))
    def test_the_counter_is_the_seats_held_after_every_step(self, steps):
        clock, before = NOW, 0
        for action, who, capacity in steps:
            clock = self.step(action, who, capacity, clock)
            before = self.check(before, clock)


@pytest.mark.django_db(transaction=True)
def test_families_racing_for_the_last_seats_while_one_is_given_back():
    """On PostgreSQL, eight families book the last seat of a full day at the same instant while
    a holder cancels and the first waiting family declines its offer: every one waits on the
    seat counter, and the seats given back go down the waiting list in order."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    commune = CommuneFactory()
    activity = make_activity(commune, capacity=3, offer_hours=24)
    holders = [Family(commune, f"HOLDER{n}") for n in range(3)]
    first, second = Family(commune, "FIRST"), Family(commune, "SECOND")
    racers = [Family(commune, f"RACER{n}") for n in range(8)]
    for person in [*holders, first, second, *racers]:
        register(person.child, activity)
    for person in [*holders, first, second]:
        person.book(activity, add=[MONDAY])
    holders[0].book(activity, remove=[MONDAY])  # FIRST is offered the seat
    assert first.reservation().status == BookingStatus.PROPOSEE
    barrier, errors = threading.Barrier(len(racers) + 2), []

    def run(action):
        try:
            barrier.wait()
            action()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    actions = [lambda p=p: p.book(activity, add=[MONDAY]) for p in racers] + [
        lambda: holders[1].book(activity, remove=[MONDAY]),
        lambda: decline_offer(reservation=first.reservation(), actor=first.user, now=NOW),
    ]
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    unit = activity.units.get()
    assert UnitDay.objects.get(unit=unit, day=MONDAY).taken == held(unit) == 3
    # The two seats given back went to SECOND, then to the first racer in the queue.
    assert second.reservation().status == BookingStatus.PROPOSEE
    statuses = sorted(p.reservation().status for p in racers)
    assert statuses.count(BookingStatus.PROPOSEE) + statuses.count(BookingStatus.RESERVEE) == 1
    assert statuses.count(BookingStatus.LISTE_ATTENTE) == 7
