"""reservations.new_bookings, a child's unsaved bookings built together (« Valider »): each is
what new_booking builds alone — and so what the model builds (test_basket_rules) — with or
without a listener of the model's signals, in the order asked, an empty list giving none."""

from datetime import date, time

import pytest
from django.db.models import signals

from parvis.activities import reservations
from parvis.activities.models import Reservation, Unit
from parvis.activities.tests.factories import make_activity
from parvis.families.tests.factories import ChildFactory, FamilleFactory


def state(reservation):
    values = {k: v for k, v in vars(reservation).items() if k != "_state"}
    state = reservation._state
    return list(values.items()), state.adding, state.db, state.fields_cache


@pytest.mark.django_db
@pytest.mark.parametrize("listened", [False, True])
def test_each_is_what_new_booking_builds(listened):
    famille = FamilleFactory()
    child = ChildFactory(famille=famille)
    activity = make_activity(famille.commune)
    evening = Unit.objects.create(
        commune=famille.commune, activity=activity, code="SOIR", label="Soir",
        starts_at=time(16, 30), ends_at=time(18, 0), weekdays=[0, 1, 3, 4],
    )  # fmt: skip
    morning = activity.units.get(code="PERI_AM_M")
    days = [(morning, date(2026, 11, 30)), (evening, date(2026, 12, 1))]
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    if listened:
        signals.post_init.connect(listener, sender=Reservation)
    try:
        together = reservations.new_bookings(
            commune_id=famille.commune_id, famille=famille, child=child, days=days
        )
        alone = [
            reservations.new_booking(
                commune_id=famille.commune_id, famille=famille, child=child, unit=unit, day=day
            )
            for unit, day in days
        ]
        assert reservations.new_bookings(
            commune_id=famille.commune_id, famille=famille, child=child, days=[]
        ) == []  # fmt: skip
    finally:
        signals.post_init.disconnect(listener, sender=Reservation)
    assert [state(b) for b in together] == [state(b) for b in alone]
    assert [(b.unit, b.day) for b in together] == days
    assert heard == ([*together, *alone] if listened else [])
