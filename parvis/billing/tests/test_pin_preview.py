"""The basket's price preview (billing/preview.py): behaviours the mutation run of 6 December
(on commit e48951d) found unpinned (issue 24 §3). The DURAND world of test_preview."""

from datetime import date, datetime
from decimal import Decimal as D

import pytest

from parvis.activities.models import Reservation
from parvis.activities.services_custody import record_custody
from parvis.billing.models import RegieActivity, TariffKind
from parvis.billing.preview import basket_preview
from parvis.billing.tests import test_preview as base
from parvis.billing.tests.test_preview import (
    DECEMBER,
    NOW,
    added,
    book,
    lines,
    make_unit,
    only_month,
    preview,
    qf,
    tariff,
)
from parvis.families.models import CustodyRule
from parvis.families.tests.factories import ChildFactory, FamilleFactory

pytestmark = pytest.mark.django_db

world = base.world  # the DURAND family, Léa (2019) and Hugo (2021), the canteen's « Repas »


def etudes(world, *, price=None):
    """The evening study, billed by the world's régie; a flat tariff only when `price`."""
    unit = make_unit(world["commune"], name="Études", slug="etudes", code="ETU", label="Étude")
    RegieActivity.objects.create(
        commune=world["commune"], regie=world["regie"], activity=unit.activity
    )
    if price is not None:
        tariff(unit, TariffKind.FLAT, price=D(price))
    return unit


def test_the_brackets_of_every_tariff_are_read_in_one_query(world, django_assert_num_queries):
    # Two units, two tariffs (and a third, older one): the brackets still come in one query
    # (régies, bookings, tariffs, brackets, QFs, children, penalty rules; the units are the
    # basket's, with their activity).
    qf(world, "1000")
    tariff(world["repas"], brackets=base.RONCQ_2025, valid_from=date(2025, 9, 1))
    study = etudes(world, price="1.50")
    changes = added(world["lea"], world["repas"], DECEMBER[:1]) + added(
        world["lea"], study, DECEMBER[:1]
    )
    with django_assert_num_queries(7):
        month = only_month(preview(world, changes))
    assert lines(month) == [
        ("ajout", "Léa DURAND", 1, D("2.75"), D("2.75")),
        ("ajout", "Léa DURAND", 1, D("1.50"), D("1.50")),
    ]


def test_a_booked_unit_without_any_tariff_does_not_stop_the_estimate(world):
    # Léa's studies are billed by the régie but have no tariff yet: they count for nothing,
    # and the meal added is still priced.
    qf(world, "1000")
    book(world, world["lea"], etudes(world), DECEMBER[:3])
    month = only_month(preview(world, added(world["lea"], world["repas"], DECEMBER[:1])))
    assert lines(month) == [("ajout", "Léa DURAND", 1, D("2.75"), D("2.75"))]
    assert (month.before, month.after) == (D("0.00"), D("2.75"))


def test_a_shared_child_booked_by_the_other_household_does_not_stop_its_estimate(world):
    # Léa lives with the DURANDs and, in shared custody, with her father MARTIN, who books her
    # meals; his own son Tom adds a meal: the estimate is still given.
    father = FamilleFactory(commune=world["commune"], name="MARTIN")
    tom = ChildFactory(famille=father, first_names="Tom", birth_date=date(2022, 1, 1))
    record_custody(
        child=world["lea"], other_famille=father, actor=None,
        rule=CustodyRule.SEMAINES_PAIRES, since=date(2026, 9, 1),
    )  # fmt: skip
    Reservation.objects.create(
        commune=world["commune"], famille=father, child=world["lea"], unit=world["repas"],
        day=DECEMBER[0], status="reservee",
    )  # fmt: skip
    result = basket_preview(
        famille=father, commune=world["commune"], now=NOW,
        changes=added(tom, world["repas"], DECEMBER[1:2]),
    )  # fmt: skip
    month = only_month(result)
    assert (month.lines[0].kind, month.lines[0].child, month.lines[0].days) == (
        "ajout",
        "Tom MARTIN",
        1,
    )
    assert month.before == D("4.90")  # Léa's meal, the highest price: no QF known


# Found by the mutation run: the estimate read the birth dates of the household's own children
# only, so a shared child booked by the other household was ranked last (the invoice ranks by
# birth date, invoicing._ranks).
def test_a_shared_child_booked_by_the_other_household_is_ranked_by_birth_date(world):
    father = FamilleFactory(commune=world["commune"], name="MARTIN")
    tom = ChildFactory(famille=father, first_names="Tom", birth_date=date(2022, 1, 1))
    record_custody(
        child=world["lea"], other_famille=father, actor=None,
        rule=CustodyRule.SEMAINES_PAIRES, since=date(2026, 9, 1),
    )  # fmt: skip
    Reservation.objects.create(
        commune=world["commune"], famille=father, child=world["lea"], unit=world["repas"],
        day=DECEMBER[0], status="reservee",
    )  # fmt: skip
    result = basket_preview(
        famille=father, commune=world["commune"], now=NOW,
        changes=added(tom, world["repas"], DECEMBER[1:2]),
    )  # fmt: skip
    # Léa (2019) stays the first child; Tom (2022), the second, has 10 % off 4,90 €.
    assert lines(only_month(result)) == [("ajout", "Tom MARTIN", 1, D("4.41"), D("4.41"))]


def test_lines_without_a_price_show_no_label_nor_explanation(world):
    # A day on the waiting list and a day without a tariff: their words only, nothing in
    # brackets after them.
    study = etudes(world)
    tariff(study, TariffKind.FLAT, valid_from=date(2027, 1, 1), price=D("2.00"))
    changes = added(world["lea"], world["repas"], DECEMBER[:1], full=True) + added(
        world["lea"], study, DECEMBER[:1]
    )
    result = preview(world, changes)
    month = only_month(result)
    assert [(line.kind, line.price_label, line.explanation) for line in month.lines] == [
        ("non_tarife", "", ""),
        ("attente", "", ""),
    ]
    assert "(" not in str(result).split('<ul class="resa-basket">')[1]


def test_two_children_at_the_same_price_get_a_line_and_a_surcharge_each(world):
    # The morning care, 1,20 € whatever the rank, and a flat 2,00 € late-booking surcharge:
    # Léa's and Hugo's days are not merged into one line.
    morning = make_unit(world["commune"], name="Accueil du matin", slug="matin",
                        code="PERI_AM_M", label="Acc Matin")  # fmt: skip
    RegieActivity.objects.create(
        commune=world["commune"], regie=world["regie"], activity=morning.activity
    )
    tariff(morning, TariffKind.FLAT, price=D("1.20"))
    base.late_rule(world, amount=D("2.00"))
    changes = added(world["lea"], morning, [base.MONDAY_23]) + added(
        world["hugo"], morning, [base.MONDAY_23]
    )
    month = only_month(preview(world, changes))  # NOW: past Monday 23's deadline
    assert lines(month) == [
        ("ajout", "Léa DURAND", 1, D("1.20"), D("1.20")),
        ("ajout", "Hugo DURAND", 1, D("1.20"), D("1.20")),
        ("majoration", "Léa DURAND", 1, D("2.00"), D("2.00")),
        ("majoration", "Hugo DURAND", 1, D("2.00"), D("2.00")),
    ]
    assert month.after == D("6.40")


@pytest.mark.parametrize(
    ("now", "surcharged"),
    [
        (datetime(2026, 12, 3, 9, 29, tzinfo=base.PARIS), False),  # 2 h 01 before 11:30
        (datetime(2026, 12, 3, 9, 30, tzinfo=base.PARIS), True),  # 2 h before: late
    ],
)
def test_a_deadline_in_hours_counts_from_the_units_start(world, now, surcharged):
    activity = world["repas"].activity
    activity.booking_deadline = {"kind": "hours_before", "hours": 2}
    activity.save()
    qf(world, "1000")
    base.late_rule(world, amount=D("2.00"))
    month = only_month(preview(world, added(world["lea"], world["repas"], [DECEMBER[2]]), now=now))
    assert [line.kind for line in month.lines] == ["ajout"] + ["majoration"] * surcharged


@pytest.mark.parametrize(
    ("now", "surcharged"),
    [
        (datetime(2026, 11, 10, 8, 59, tzinfo=base.PARIS), False),
        (datetime(2026, 11, 10, 12, 0, tzinfo=base.PARIS), True),
    ],
)
def test_a_deadline_in_working_days_skips_a_public_holiday(world, now, surcharged):
    # Thursday 12 November 2026: the working day before is Tuesday 10 (Wednesday 11 is
    # Armistice day), so its deadline is Tuesday 09:00, not Wednesday 09:00.
    qf(world, "1000")
    base.late_rule(world, amount=D("2.00"))
    thursday = date(2026, 11, 12)
    month = only_month(preview(world, added(world["lea"], world["repas"], [thursday]), now=now))
    assert [line.kind for line in month.lines] == ["ajout"] + ["majoration"] * surcharged
