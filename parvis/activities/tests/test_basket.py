"""The basket's « Valider »: rules at their edges, one transaction, capacity under concurrency
(never oversold, the rest waiting-listed in order), and the waiting list's offer."""

import threading
from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.db import connections
from django.test.utils import CaptureQueriesContext

from parvis.activities.models import (
    ActivityClosure,
    BookingEvent,
    BookingStatus,
    InscriptionStatus,
    Reservation,
    UnitDay,
)
from parvis.activities.rules import PARIS
from parvis.activities.services import (
    BasketRefused,
    validate_basket,
    validate_baskets,
    waiting_rank,
)
from parvis.activities.tests.factories import make_activity, register
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

MONDAY = date(2026, 11, 30)
FRIDAY_0859 = datetime(2026, 11, 27, 8, 59, tzinfo=PARIS)
FRIDAY_0900 = datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)


def family_child(commune=None):
    famille = FamilleFactory(**({"commune": commune} if commune else {}))
    access = FamilyAccessFactory(famille=famille)
    return famille, ChildFactory(famille=famille), access.user


def book(famille, child, activity, user, *, add=(), remove=(), now=FRIDAY_0859):
    unit = activity.units.get()
    return validate_basket(
        famille=famille, child=child, activity=activity, actor=user, now=now,
        add=[(unit, day) for day in add], remove=[(unit, day) for day in remove],
    )  # fmt: skip


@pytest.mark.django_db
def test_monday_is_bookable_until_friday_0859_not_at_0900():
    famille, child, user = family_child()
    activity = make_activity(famille.commune)
    register(child, activity)
    result = book(famille, child, activity, user, add=[MONDAY], now=FRIDAY_0859)
    assert [(r.day, r.status) for r in result.added] == [(MONDAY, BookingStatus.RESERVEE)]
    Reservation.objects.all().delete()
    with pytest.raises(BasketRefused) as refused:
        book(famille, child, activity, user, add=[MONDAY], now=FRIDAY_0900)
    (reason,) = refused.value.problems.values()
    assert reason == "date limite dépassée (vendredi 27 novembre 2026 à 09:00)"


@pytest.mark.django_db
def test_a_basket_with_one_bad_day_saves_nothing():
    famille, child, user = family_child()
    activity = make_activity(famille.commune)
    register(child, activity)
    wednesday = date(2026, 12, 2)  # no morning care on Wednesdays
    closed = date(2026, 12, 3)
    ActivityClosure.objects.create(commune=famille.commune, day=closed, reason="grève")
    with pytest.raises(BasketRefused) as refused:
        book(famille, child, activity, user, add=[MONDAY, date(2026, 12, 1), wednesday, closed])
    unit = activity.units.get()
    assert refused.value.problems == {
        (unit.pk, wednesday): "pas d'accueil : pas d'accueil ce jour de la semaine",
        (unit.pk, closed): "pas d'accueil : fermeture : grève",
    }
    assert not Reservation.objects.exists() and not BookingEvent.objects.exists()


@pytest.mark.django_db
def test_not_registered_or_pending_inscription_cannot_book():
    famille, child, user = family_child()
    activity = make_activity(famille.commune)
    with pytest.raises(BasketRefused, match="non inscrit"):
        book(famille, child, activity, user, add=[MONDAY])
    register(child, activity, status=InscriptionStatus.EN_ATTENTE)
    with pytest.raises(BasketRefused, match="non inscrit"):
        book(famille, child, activity, user, add=[MONDAY])


@pytest.mark.django_db
def test_another_familys_child_cannot_be_booked():
    famille, _child, user = family_child()
    _other, other_child, _user = family_child(commune=famille.commune)
    activity = make_activity(famille.commune)
    register(other_child, activity)
    with pytest.raises(BasketRefused):
        book(famille, other_child, activity, user, add=[MONDAY])
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_the_last_seat_then_the_waiting_list_then_the_offer():
    activity = None
    families = []
    for _ in range(3):
        famille, child, user = family_child(commune=activity.commune if activity else None)
        activity = activity or make_activity(famille.commune, capacity=1)
        register(child, activity)
        families.append((famille, child, user))
    first, second, third = families
    assert book(*first[:2], activity, first[2], add=[MONDAY]).added
    waiting = book(*second[:2], activity, second[2], add=[MONDAY])
    assert not waiting.added and waiting.ranks == {waiting.waiting[0].pk: 1}
    later = book(*third[:2], activity, third[2], add=[MONDAY])
    assert waiting_rank(later.waiting[0]) == 2
    assert UnitDay.objects.get().taken == 1
    mail.outbox.clear()
    # The first family cancels before the deadline: the seat is offered to the second.
    with pytest.raises(BasketRefused):
        book(*first[:2], activity, first[2], remove=[MONDAY], now=FRIDAY_0900)
    book(*first[:2], activity, first[2], remove=[MONDAY])
    offered = Reservation.objects.get(child=second[1])
    assert offered.status == BookingStatus.PROPOSEE
    assert offered.offer_expires_at == FRIDAY_0859 + timedelta(hours=24)
    assert UnitDay.objects.get().taken == 1  # held for the offer
    assert Reservation.objects.get(child=third[1]).status == BookingStatus.LISTE_ATTENTE
    assert waiting_rank(Reservation.objects.get(child=third[1])) == 1


@pytest.mark.django_db
def test_a_capacity_set_after_bookings_counts_them():
    """Two children were booked while the unit had no capacity; it then gets 2 seats. The
    counter, made on the next basket, starts at 2: the third child waits; one cancels and the
    seat goes to the waiting child, the counter staying true."""
    activity = None
    people = []
    for _ in range(3):
        famille, child, user = family_child(commune=activity.commune if activity else None)
        activity = activity or make_activity(famille.commune)
        register(child, activity)
        people.append((famille, child, user))
    for famille, child, user in people[:2]:
        assert book(famille, child, activity, user, add=[MONDAY]).added
    assert not UnitDay.objects.exists()
    activity.units.update(capacity=2)
    activity.refresh_from_db()
    third = book(*people[2][:2], activity, people[2][2], add=[MONDAY])
    assert not third.added and len(third.waiting) == 1
    assert UnitDay.objects.get().taken == 2
    book(*people[0][:2], activity, people[0][2], remove=[MONDAY])
    assert Reservation.objects.get(child=people[2][1]).status == BookingStatus.PROPOSEE
    assert UnitDay.objects.get().taken == 2  # one booked, one offered


@pytest.mark.django_db(transaction=True)
def test_the_offer_is_emailed_after_commit():
    famille, child, user = family_child()
    activity = make_activity(famille.commune, capacity=1)
    register(child, activity)
    other, other_child, other_user = family_child(commune=famille.commune)
    register(other_child, activity)
    book(famille, child, activity, user, add=[MONDAY])
    book(other, other_child, activity, other_user, add=[MONDAY])
    mail.outbox.clear()
    book(famille, child, activity, user, remove=[MONDAY])
    (message,) = mail.outbox
    assert message.to == [other_user.email]
    assert "lundi 30 novembre 2026" in message.body
    assert "samedi 28 novembre 2026 à 08:59" in message.body


def _concurrent_bookings(count: int, seats: int):
    famille, _child, _user = family_child()
    activity = make_activity(famille.commune, capacity=seats)
    people = []
    for _ in range(count):
        f, c, u = family_child(commune=famille.commune)
        register(c, activity)
        people.append((f, c, u))
    barrier = threading.Barrier(count)
    errors = []

    def run(f, c, u):
        try:
            barrier.wait()
            book(f, c, activity, u, add=[MONDAY])
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=person) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return activity, errors


@pytest.mark.django_db(transaction=True)
def test_twenty_families_for_the_last_three_seats():
    activity, errors = _concurrent_bookings(20, 3)
    assert errors == []
    statuses = list(Reservation.objects.values_list("status", flat=True))
    assert len(statuses) == 20  # nothing lost
    assert statuses.count(BookingStatus.RESERVEE) == 3
    assert statuses.count(BookingStatus.LISTE_ATTENTE) == 17
    assert UnitDay.objects.get(unit__activity=activity).taken == 3
    ranks = sorted(
        waiting_rank(r) for r in Reservation.objects.filter(status=BookingStatus.LISTE_ATTENTE)
    )
    assert ranks == list(range(1, 18))


@pytest.mark.django_db
def test_no_basket_is_nothing_to_do():
    _famille, _child, user = family_child()
    with CaptureQueriesContext(connections["default"]) as queries:
        assert validate_baskets([], actor=user) == []
    # The transaction's savepoint only: nothing read, nothing locked.
    assert all("SAVEPOINT" in q["sql"] for q in queries.captured_queries)
