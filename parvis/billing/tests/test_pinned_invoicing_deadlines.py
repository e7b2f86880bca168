"""The month's computation (billing/invoicing.py), what the mutation run of 6 December 2026
found unpinned: each booked day has its own booking deadline (not the first one computed), the
deadline counts working days without public holidays (11 November), the penalty warnings read
the month only up to their day, and a missing tariff's message as the preview shows it.
Villebois's world: invoicing_factories (the default deadline: the working day before at 09:00)."""

from datetime import date, datetime

import pytest

from parvis.activities.rules import PARIS
from parvis.billing import invoicing
from parvis.billing.models import LineKind, PenaltyKind
from parvis.billing.tests.invoicing_factories import NOV, book, child, family, make_world, tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    world = make_world()
    world.rule(PenaltyKind.RESERVATION_TARDIVE, amount=3)
    return world


def penalties(world, name):
    bills = {
        bill.famille.name: bill for bill in invoicing.compute_month(regie=world.regie, month=NOV)
    }
    return [line.days for line in bills[name].lines if line.kind == LineKind.PENALITE]


def test_each_booked_day_has_its_own_deadline(world):
    famille = family(world, "DEUXJOURS")
    kid = child(world, famille, "Léo", date(2018, 1, 1))
    # Booked on Sunday 15 November at 20:00: late for Monday 16 (deadline Friday 13 at 09:00),
    # in time for Monday 23 (deadline Friday 20 at 09:00).
    book(kid, world.am, [date(2026, 11, 16), date(2026, 11, 23)],
         at=datetime(2026, 11, 15, 20, 0, tzinfo=PARIS))  # fmt: skip
    found = penalties(world, "DEUXJOURS")
    assert found == [["2026-11-16"]]


@pytest.mark.parametrize(
    ("queued", "late"),
    [
        # Thursday 12 November: the working day before is Tuesday 10, Wednesday 11 (Armistice)
        # being a public holiday.
        (datetime(2026, 11, 10, 8, 59, tzinfo=PARIS), False),
        (datetime(2026, 11, 10, 20, 0, tzinfo=PARIS), True),
    ],
)
def test_the_deadline_skips_a_public_holiday(world, queued, late):
    famille = family(world, "ARMISTICE")
    kid = child(world, famille, "Léo", date(2018, 1, 1))
    book(kid, world.am, [date(2026, 11, 12)], at=queued)
    assert len(penalties(world, "ARMISTICE")) == (1 if late else 0)


def test_penalty_warnings_read_the_month_up_to_their_day_only(world):
    famille = family(world, "AVERTIE")
    kid = child(world, famille, "Léo", date(2018, 1, 1))
    book(kid, world.am, [date(2026, 11, 16)], at=datetime(2026, 11, 15, 20, 0, tzinfo=PARIS))
    book(kid, world.am, [date(2026, 11, 23)], at=datetime(2026, 11, 22, 20, 0, tzinfo=PARIS))
    found = invoicing.penalty_events(regie=world.regie, month=NOV, until=date(2026, 11, 18))
    ((warned, events),) = found
    assert warned.pk == famille.pk
    assert [event.day for event in events] == [date(2026, 11, 16)]


def test_a_missing_tariffs_message(world):
    error = invoicing.MissingTariff(world.am, date(2026, 11, 2))
    assert str(error) == (
        f"L'unité « {world.am.label} » de l'activité « {world.am.activity.name} » n'a pas de "
        "tarif en vigueur le 02/11/2026 : ajoutez son tarif dans l'administration avant de "
        "facturer."
    )


def test_a_unit_billed_elsewhere_does_not_stop_the_reading_of_the_month(world):
    from parvis.activities.tests.factories import make_activity

    sport = make_activity(world.commune, slug="sport", name="Sport").units.get()  # no régie here
    famille = family(world, "AILLEURS")
    kid = child(world, famille, "Léo", date(2018, 1, 1))
    # Its earlier rows are of the unit billed elsewhere; the later ones of this régie's.
    book(kid, sport, [date(2026, 11, 2)])
    book(kid, world.am, [date(2026, 11, 16)])
    tick(kid, sport, date(2026, 11, 2), present=True)
    tick(kid, world.am, date(2026, 11, 16), present=True)
    tick(kid, world.am, date(2026, 11, 17), present=True)  # present without a booking
    bills = {b.famille.name: b for b in invoicing.compute_month(regie=world.regie, month=NOV)}
    kinds = [line.kind for line in bills["AILLEURS"].lines]
    assert kinds == [LineKind.PRESTATION, LineKind.PRESTATION, LineKind.PENALITE], kinds
    assert all("Sport" not in line.label for line in bills["AILLEURS"].lines)
