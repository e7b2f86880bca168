"""« Valider » cheaper in Python (issue 23), not in its guarantees: services.BasketRules gives
why_not_bookable's and why_not_cancellable's answers, worked out once per activity, unit (start
time) and day for one `now` (a household's children book the same days), at a deadline's minute
edges as at any other instant; several children's baskets at the edge are all refused or all
accepted; the bookings' arrays (reservations._pg_array) and the unsaved bookings
(reservations.new_booking) are what they were."""

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

import pytest
from django.db.models import signals
from django.utils import translation

from parvis.activities import reservations, services
from parvis.activities.models import Reservation, Unit
from parvis.activities.rules import PARIS
from parvis.activities.services import (
    Basket,
    BasketRules,
    BasketsRefused,
    validate_baskets,
    why_not_bookable,
    why_not_cancellable,
)
from parvis.activities.tests.factories import make_activity, register
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory

MONDAY = date(2026, 11, 30)  # booked until Friday 27 November at 09:00 (J-1 working day)
DEADLINE = datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)
EDGES = [
    DEADLINE - timedelta(minutes=1),
    DEADLINE - timedelta(microseconds=1),
    DEADLINE,
    DEADLINE + timedelta(seconds=59),
    DEADLINE + timedelta(minutes=1),
]
DAYS = [MONDAY + timedelta(days=n) for n in range(-10, 40)]  # weekends, 11 November, Christmas


@pytest.fixture
def activity():
    activity = make_activity(CommuneFactory(), booking_opens={"kind": "weeks_before", "weeks": 4})
    Unit.objects.create(
        commune=activity.commune, activity=activity, code="PERI_SOIR", label="Soir",
        starts_at=time(16, 30), ends_at=time(18, 30), weekdays=[0, 1, 2, 3, 4],
    )  # fmt: skip
    activity.booking_deadline = {"kind": "hours_before", "hours": 72}  # reads the start time
    return activity


@pytest.mark.django_db
@pytest.mark.parametrize("now", EDGES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_answers_are_why_not_bookable_s_at_every_edge_and_day(activity, now, language):
    closures = {MONDAY + timedelta(days=2): "grève"}
    units = list(activity.units.all())
    with translation.override(language):
        rules = BasketRules(now=now, closures={activity.pk: closures})
        for _ in range(2):  # the second time from what the first kept
            for unit in units:
                for day in DAYS:
                    for registered in (True, False):
                        for complete in (True, False):
                            expected = why_not_bookable(
                                activity=activity, unit=unit, day=day, now=now,
                                closures=closures, registered=registered, file_complete=complete,
                            )  # fmt: skip
                            assert (
                                rules.bookable(
                                    activity,
                                    unit,
                                    day,
                                    registered=registered,
                                    file_complete=complete,
                                )
                                == expected
                            ), (unit.code, day, registered, complete)
                    assert rules.cancellable(activity, unit, day) == why_not_cancellable(
                        activity=activity, unit=unit, day=day, now=now
                    )


@pytest.mark.django_db
def test_the_minute_before_and_after_a_deadline_each_get_their_own_answer(activity):
    unit = activity.units.get(code="PERI_AM_M")
    activity.booking_deadline = activity.cancel_deadline
    before = BasketRules(now=DEADLINE - timedelta(minutes=1), closures={})
    after = BasketRules(now=DEADLINE, closures={})
    for _ in range(2):
        assert before.bookable(activity, unit, MONDAY, registered=True, file_complete=True) is None
        assert before.cancellable(activity, unit, MONDAY) is None
        late = after.bookable(activity, unit, MONDAY, registered=True, file_complete=True)
        assert late == "date limite dépassée (vendredi 27 novembre 2026 à 09:00)"
        assert "date limite d'annulation dépassée" in after.cancellable(activity, unit, MONDAY)


@pytest.mark.django_db
def test_a_rule_worked_out_once_for_the_children_and_units_of_a_day(activity, monkeypatch):
    calls = []
    real = services._timing_text
    monkeypatch.setattr(services, "_timing_text", lambda *a: calls.append(a[1:3]) or real(*a))
    morning = activity.units.get(code="PERI_AM_M")
    activity.booking_deadline = activity.cancel_deadline  # days_before: the start time unread
    rules = BasketRules(now=DEADLINE, closures={})
    for _child in range(3):
        rules.bookable(activity, morning, MONDAY, registered=True, file_complete=True)
    assert calls == [(morning, MONDAY)]
    evening = activity.units.get(code="PERI_SOIR")
    rules.bookable(activity, evening, MONDAY, registered=True, file_complete=True)
    assert len(calls) == 2  # another start time: asked again (an hours_before rule reads it)


@pytest.mark.django_db
@pytest.mark.parametrize(("now", "accepted"), [(DEADLINE - timedelta(minutes=1), True),
                                               (DEADLINE, False)])  # fmt: skip
def test_three_children_s_baskets_at_the_deadline_s_edge(now, accepted):
    famille = FamilleFactory()
    user = FamilyAccessFactory(famille=famille).user
    activity = make_activity(famille.commune)
    unit = activity.units.get()
    children = [ChildFactory(famille=famille) for _ in range(3)]
    for child in children:
        register(child, activity)
    baskets = [
        Basket(famille=famille, child=child, activity=activity, add=[(unit, MONDAY)], remove=[])
        for child in children
    ]
    if accepted:
        results = validate_baskets(baskets, actor=user, now=now)
        assert [[r.day for r in result.added] for result in results] == [[MONDAY]] * 3
        assert Reservation.objects.filter(day=MONDAY).count() == 3
    else:
        with pytest.raises(BasketsRefused) as refused:
            validate_baskets(baskets, actor=user, now=now)
        assert refused.value.problems == {
            index: {(unit.pk, MONDAY): "date limite dépassée (vendredi 27 novembre 2026 à 09:00)"}
            for index in range(3)
        }
        assert not Reservation.objects.exists()


def _pg_array_before(values) -> str:  # the element-by-element version it replaced
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif isinstance(value, int):
            items.append(str(value))
        else:
            text = value.isoformat() if isinstance(value, date) else str(value)
            items.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def test_the_arrays_text_is_unchanged():
    at = datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)
    columns = [
        [1, 1, 2, None, 1, True, 1, False, 0],
        [MONDAY, MONDAY, date(2026, 12, 1), None, MONDAY],
        [at, at, datetime(2026, 11, 27, 9, 0), at + timedelta(hours=1), None],
        ["réservée", "liste_attente", 'un "mot"', "a\\b", "réservée", "", None, ""],
        [MONDAY, datetime(2026, 11, 30, 0, 0), MONDAY],
        # The autumn's two 02:30 in Paris: equal to Python, an hour apart (review).
        [
            datetime(2026, 10, 25, 2, 30, tzinfo=PARIS),
            datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS),
        ],
        [],
    ]
    for column in columns:
        assert reservations._pg_array(column) == _pg_array_before(column)


@contextmanager
def post_init_heard(listened: bool):
    """The bookings the model's post_init signal announced (a listener connected when
    `listened`: the builders then go through the model's own path)."""
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    if listened:
        signals.post_init.connect(listener, sender=Reservation)
    try:
        yield heard
    finally:
        signals.post_init.disconnect(listener, sender=Reservation)


@pytest.mark.django_db
@pytest.mark.parametrize("listened", [False, True])
def test_an_unsaved_booking_is_what_the_model_would_build(listened):
    famille = FamilleFactory()
    child = ChildFactory(famille=famille)
    unit = make_activity(famille.commune).units.get()
    with post_init_heard(listened) as heard:
        booking = reservations.new_booking(
            commune_id=famille.commune_id, famille=famille, child=child, unit=unit, day=MONDAY
        )
    # What it built before: Model.__init__'s positional path, the related rows then cached.
    values = {
        "commune_id": famille.commune_id, "famille_id": famille.pk, "child_id": child.pk,
        "unit_id": unit.pk, "day": MONDAY, "status": "",
    }  # fmt: skip
    model = Reservation(*[values.get(f.attname) for f in Reservation._meta.concrete_fields])
    model._state.fields_cache.update(famille=famille, child=child, unit=unit)
    assert heard == ([booking] if listened else [])

    def state(reservation):
        values = {k: v for k, v in vars(reservation).items() if k != "_state"}
        return values, reservation._state.adding, reservation._state.db

    assert state(booking) == state(model)
    assert booking._state.fields_cache == model._state.fields_cache
    assert (booking.famille, booking.child, booking.unit) == (famille, child, unit)
    booking.status = "reservee"
    booking.save()
    assert Reservation.objects.get(pk=booking.pk).child_id == child.pk


def _built(reservation):
    values = {k: v for k, v in vars(reservation).items() if k != "_state"}
    state = reservation._state
    return list(values.items()), state.adding, state.db, state.fields_cache


@pytest.mark.django_db
@pytest.mark.parametrize("listened", [False, True])
def test_a_childs_bookings_built_together_are_each_what_new_booking_builds(listened):
    # reservations.new_bookings (« Valider »): in the order asked, an empty list giving none.
    famille = FamilleFactory()
    child = ChildFactory(famille=famille)
    activity = make_activity(famille.commune)
    evening = Unit.objects.create(
        commune=famille.commune, activity=activity, code="SOIR", label="Soir",
        starts_at=time(16, 30), ends_at=time(18, 0), weekdays=[0, 1, 3, 4],
    )  # fmt: skip
    morning = activity.units.get(code="PERI_AM_M")
    days = [(morning, date(2026, 11, 30)), (evening, date(2026, 12, 1))]
    ids = {"commune_id": famille.commune_id, "famille": famille, "child": child}
    with post_init_heard(listened) as heard:
        together = reservations.new_bookings(**ids, days=days)
        alone = [reservations.new_booking(**ids, unit=unit, day=day) for unit, day in days]
        assert reservations.new_bookings(**ids, days=[]) == []
    assert [_built(b) for b in together] == [_built(b) for b in alone]
    assert [(b.unit, b.day) for b in together] == days
    assert heard == ([*together, *alone] if listened else [])
