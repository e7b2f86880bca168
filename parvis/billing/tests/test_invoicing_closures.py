"""The invoicing run never bills a booking left on a closed day (a closing job interrupted before
it removed the day's bookings)."""

from datetime import date
from decimal import Decimal as D

import pytest

from parvis.activities.models import ActivityClosure
from parvis.billing import invoicing
from parvis.billing.tests.invoicing_factories import NOV, NOV_DAYS, book, child, family, make_world


@pytest.mark.django_db
def test_a_booking_left_on_a_closed_day_is_not_billed():
    # A closing job interrupted before it removed the day's bookings (review of 6 December):
    # the day is closed, so the run bills neither the canteen's closed day nor a day every
    # activity closed, and still bills the other days and the other activities.
    world = make_world()
    durand = family(world, "DURAND")
    lea = child(world, durand, "Léa", date(2018, 4, 1))
    book(lea, world.am, NOV_DAYS[:3])  # 3 × 1,20 €
    ActivityClosure.objects.create(
        commune=world.commune, activity=world.canteen, day=NOV_DAYS[0], reason="Grève"
    )
    ActivityClosure.objects.create(
        commune=world.commune, activity=None, day=NOV_DAYS[1], reason="Travaux"
    )

    (bill,) = invoicing.compute_month(regie=world.regie, month=NOV)

    # The canteen's closure leaves the accueil's first day billed; the closure of every
    # activity removes the second.
    assert [(line.quantity, line.amount) for line in bill.lines] == [(2, D("2.40"))]
