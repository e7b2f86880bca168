"""Separated parents (issue 19 §2): the invoicing run bills a child in shared custody to the
household the recorded rule names, each at its own QF, to the cent. The edges: the week that
changes custody (Sunday → Monday), a holiday week, a booking made by one parent on the other's
week, a QF missing on one side, a percentage whose two parts add up exactly to the amount, the
rule's first day, and a number of queries that does not grow with the shared children.

November 2026: ISO weeks 45 (2–8, odd), 46 (9–15, even), 47 (16–22, odd), 48 (23–29, even),
49 (from the 30th, odd)."""

from datetime import date, time
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.models import Reservation, Unit
from parvis.activities.services_custody import record_custody
from parvis.billing import invoicing
from parvis.billing.models import LineKind, RegieActivity
from parvis.billing.tests.invoicing_factories import (
    NOV,
    NOV_DAYS,
    absence,
    book,
    child,
    family,
    flat,
    make_world,
    tick,
)
from parvis.families.models import CustodyRule, CustodySide

pytestmark = pytest.mark.django_db

EVEN = [d for d in NOV_DAYS if d.isocalendar().week % 2 == 0]  # 9, 10, 12, 13, 23, 24, 26, 27
ODD = [d for d in NOV_DAYS if d.isocalendar().week % 2 == 1]  # 2, 3, 5, 6, 16, … 20, 30


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def parents(world):
    """Léa's mother's household (her foyer, QF 1650 €: 4,15 € a meal) and her father's
    (QF 800 €: 2,10 € a meal)."""
    mother = family(world, "DURAND", qf="1650.00")
    father = family(world, "MARTIN", qf="800.00")
    lea = child(world, mother, "Léa", date(2018, 4, 1))
    return mother, father, lea


def share(kid, other, rule=CustodyRule.SEMAINES_PAIRES, since=date(2026, 9, 1), **fields):
    return record_custody(child=kid, other_famille=other, actor=None, rule=rule, since=since,
                          **fields)  # fmt: skip


def bills(world, month=NOV, **kwargs):
    return {
        bill.famille.name: bill
        for bill in invoicing.compute_month(regie=world.regie, month=month, **kwargs)
    }


def iso(days):
    return [day.isoformat() for day in days]


def test_alternating_weeks_each_parent_pays_their_weeks_at_their_own_qf(world, parents):
    _mother, father, lea = parents
    assert len(EVEN) == 8 and len(ODD) == 9
    share(lea, father, first_side=CustodySide.FOYER)  # even weeks: the mother
    book(lea, world.meal, NOV_DAYS)  # all 17 booked by the mother

    found = bills(world)

    assert [(line.quantity, line.unit_price, line.amount) for line in found["DURAND"].lines] == [
        (8, D("4.15"), D("33.20"))
    ]
    assert found["DURAND"].lines[0].days == iso(EVEN)
    assert [(line.quantity, line.unit_price, line.amount) for line in found["MARTIN"].lines] == [
        (9, D("2.10"), D("18.90"))
    ]
    assert found["MARTIN"].lines[0].days == iso(ODD)
    assert found["MARTIN"].lines[0].label == "Restauration scolaire (Repas) — Léa DURAND"
    assert found["MARTIN"].lines[0].explanation.startswith("QF 800 €")


def test_the_father_is_billed_though_only_the_mother_booked(world, parents):
    mother, father, lea = parents
    share(lea, father)
    book(lea, world.meal, ODD[:1])
    assert set(invoicing.families_to_bill(regie=world.regie, month=NOV)) == {
        mother.pk,
        father.pk,
    }
    assert list(bills(world)) == ["MARTIN"]  # the mother has nothing to pay: no invoice
    assert bills(world)["MARTIN"].total == D("2.10")


def test_the_week_changes_hands_between_sunday_and_monday(world, parents):
    _mother, father, lea = parents
    weekend = Unit.objects.create(
        commune=world.commune, activity=world.peri, code="WE", label="Week-end",
        starts_at=time(9), ends_at=time(17), weekdays=[6, 0],
    )  # fmt: skip
    flat(weekend, "10.00")
    share(lea, father, first_side=CustodySide.AUTRE)  # even weeks: the father
    sunday, monday = date(2026, 11, 8), date(2026, 11, 9)  # end of week 45, start of week 46
    book(lea, weekend, [sunday, monday])

    found = bills(world)

    assert [(line.days, line.amount) for line in found["DURAND"].lines] == [
        (iso([sunday]), D("10.00"))
    ]
    assert [(line.days, line.amount) for line in found["MARTIN"].lines] == [
        (iso([monday]), D("10.00"))
    ]


def test_a_holiday_week_keeps_the_alternation(world, parents):
    """The Toussaint holidays of 2026 (17 October – 2 November): weeks 43 and 44 alternate like
    any other, the leisure centre's days follow the week."""
    _mother, father, lea = parents
    share(lea, father, first_side=CustodySide.FOYER)
    week_43, week_44 = [date(2026, 10, 19), date(2026, 10, 20)], [date(2026, 10, 26)]
    book(lea, world.am, week_43 + week_44)

    found = bills(world, month=date(2026, 10, 1))

    assert found["MARTIN"].lines[0].days == iso(week_43)
    assert found["MARTIN"].total == D("2.40")
    assert found["DURAND"].lines[0].days == iso(week_44)
    assert found["DURAND"].total == D("1.20")


def test_a_booking_by_one_parent_on_the_others_week_is_billed_by_the_rule(world, parents):
    _mother, father, lea = parents
    share(lea, father, first_side=CustodySide.FOYER)  # even weeks: the mother
    # The father booked a Monday of the mother's week (the row names his household).
    Reservation.objects.filter(pk__in=[r.pk for r in book(lea, world.meal, [EVEN[0]])]).update(
        famille=father
    )
    book(lea, world.meal, [ODD[0]])  # the mother booked a day of the father's week

    found = bills(world)

    assert found["DURAND"].lines[0].days == iso([EVEN[0]])
    assert found["DURAND"].total == D("4.15")
    assert found["MARTIN"].lines[0].days == iso([ODD[0]])
    assert found["MARTIN"].total == D("2.10")


def test_a_qf_missing_on_one_side_gives_that_side_the_highest_bracket(world, parents):
    _mother, father, lea = parents
    father.quotients.all().delete()
    share(lea, father, first_side=CustodySide.FOYER)
    book(lea, world.meal, NOV_DAYS)

    found = bills(world)

    assert found["DURAND"].total == D("33.20")  # 8 × 4,15 €, her own QF
    assert found["MARTIN"].lines[0].unit_price == D("4.90")  # no QF: the highest bracket
    assert found["MARTIN"].total == D("44.10")  # 9 × 4,90 €


@pytest.mark.parametrize(
    ("percent", "mother_pays", "father_pays"),
    [
        ("50", "35.28", "35.27"),  # 35,275: half up to the mother, the rest to the father
        ("33.33", "23.51", "47.04"),
        ("100", "70.55", "0.00"),
        ("0", "0.00", "70.55"),
    ],
)
def test_a_percentage_splits_each_line_and_the_parts_add_up_to_the_cent(
    world, percent, mother_pays, father_pays
):
    mother = family(world, "DURAND", qf="1650.00")
    father = family(world, "MARTIN", qf="1650.00")  # the same QF: one price, 70,55 €
    lea = child(world, mother, "Léa", date(2018, 4, 1))
    share(lea, father, rule=CustodyRule.POURCENTAGE, percent_foyer=D(percent))
    book(lea, world.meal, NOV_DAYS)  # 17 × 4,15 € = 70,55 €

    found = bills(world)
    mother_total = found["DURAND"].total if "DURAND" in found else D("0.00")
    father_total = found["MARTIN"].total if "MARTIN" in found else D("0.00")

    assert (mother_total, father_total) == (D(mother_pays), D(father_pays))
    assert mother_total + father_total == D("70.55")
    if percent == "50":
        line = found["DURAND"].lines[0]
        assert (line.quantity, line.unit_price) == (17, D("4.15"))
        assert line.label.endswith("— part de 50 % (garde partagée)")
        assert found["MARTIN"].lines[0].label.endswith("— part de 50 % (garde partagée)")


def test_a_percentage_prices_each_part_at_its_own_qf_and_splits_credits_too(world, parents):
    _mother, father, lea = parents
    share(lea, father, rule=CustodyRule.POURCENTAGE, percent_foyer=D("60"))
    book(lea, world.meal, NOV_DAYS[:10])
    absence(lea, NOV_DAYS[0], justified=True)  # deducted at 100 %

    found = bills(world)

    # The mother: 60 % of 10 × 4,15 € = 24,90 €, less 60 % of 4,15 € (2,49 €).
    assert [line.amount for line in found["DURAND"].lines] == [D("24.90"), D("-2.49")]
    assert found["DURAND"].lines[1].kind == LineKind.DEDUCTION
    # The father: 40 % of 10 × 2,10 € = 8,40 €, less 40 % of 2,10 € (0,84 €).
    assert [line.amount for line in found["MARTIN"].lines] == [D("8.40"), D("-0.84")]
    assert found["MARTIN"].total == D("7.56")


def test_by_activity_each_household_pays_its_activities(world, parents):
    _mother, father, lea = parents
    share(
        lea, father, rule=CustodyRule.PAR_ACTIVITE, first_side=CustodySide.FOYER,
        activity_sides={world.canteen: CustodySide.AUTRE},
    )  # fmt: skip
    book(lea, world.meal, NOV_DAYS[:2])
    book(lea, world.am, NOV_DAYS[:3])

    found = bills(world)

    assert [line.label for line in found["MARTIN"].lines] == [
        "Restauration scolaire (Repas) — Léa DURAND"
    ]
    assert found["MARTIN"].total == D("4.20")
    assert [line.label for line in found["DURAND"].lines] == [
        "Accueil Périscolaire (Acc Matin) — Léa DURAND"
    ]
    assert found["DURAND"].total == D("3.60")


def test_alternating_from_a_start_week(world, parents):
    _mother, father, lea = parents
    share(
        lea, father, rule=CustodyRule.ALTERNANCE, start_week=date(2026, 11, 9),
        first_side=CustodySide.AUTRE,
    )  # fmt: skip
    book(lea, world.am, NOV_DAYS)

    found = bills(world)

    father_weeks = [d for d in NOV_DAYS if d.isocalendar().week in (46, 48)]
    assert found["MARTIN"].lines[0].days == iso(father_weeks)
    assert found["DURAND"].lines[0].days == iso(sorted(set(NOV_DAYS) - set(father_weeks)))


def test_before_the_rules_first_day_the_foyer_pays_everything(world, parents):
    _mother, father, lea = parents
    share(lea, father, first_side=CustodySide.AUTRE, since=date(2026, 11, 16))
    book(lea, world.meal, NOV_DAYS)

    found = bills(world)

    early = [d for d in NOV_DAYS if d < date(2026, 11, 16)]
    later_even = [d for d in EVEN if d >= date(2026, 11, 16)]
    assert found["DURAND"].lines[0].days == iso(
        sorted(early + [d for d in ODD if d >= date(2026, 11, 16)])
    )
    assert found["MARTIN"].lines[0].days == iso(later_even)


def test_register_rows_follow_the_rule(world, parents):
    _mother, father, lea = parents
    share(lea, father, first_side=CustodySide.FOYER)
    tick(lea, world.pm, ODD[0], present=True, late=True)  # father's week, not booked

    found = bills(world)

    assert "DURAND" not in found
    assert [line.amount for line in found["MARTIN"].lines] == [D("2.10"), D("1.05"), D("3.00")]


def test_the_shared_child_counts_among_each_households_siblings(world, parents):
    _mother, father, lea = parents
    half_brother = child(world, father, "Noé", date(2015, 1, 1))  # the father's elder
    share(lea, father, first_side=CustodySide.FOYER)
    book(lea, world.meal, NOV_DAYS)
    book(half_brother, world.meal, NOV_DAYS[:1])

    found = bills(world)

    # Léa is the father's second child: 10 % off his 2,10 € (1,89 €); the mother's first.
    lea_at_father = next(line for line in found["MARTIN"].lines if line.child_id == lea.pk)
    assert lea_at_father.unit_price == D("1.89")
    assert found["DURAND"].lines[0].unit_price == D("4.15")


def _queries(world) -> int:
    with CaptureQueriesContext(connection) as queries:
        invoicing.compute_month(regie=world.regie, month=NOV)
    return len(queries)


def test_the_queries_do_not_grow_with_the_shared_children(world):
    def couple(n):
        mother = family(world, f"MERE{n}", qf="1650.00")
        father = family(world, f"PERE{n}", qf=None)
        kid = child(world, mother, f"Enfant{n}", date(2018, 1, 1))
        share(kid, father, rule=CustodyRule.PAR_ACTIVITE,
              activity_sides={world.canteen: CustodySide.AUTRE})  # fmt: skip
        book(kid, world.meal, NOV_DAYS)
        book(kid, world.am, NOV_DAYS[:2])

    couple(0)
    one = _queries(world)
    for n in range(1, 6):
        couple(n)
    assert _queries(world) == one
    assert len(bills(world)) == 12


def test_another_regies_activity_is_not_billed_through_the_custody(world, parents):
    _mother, father, lea = parents
    RegieActivity.objects.filter(activity=world.peri).delete()
    share(lea, father, first_side=CustodySide.FOYER)
    book(lea, world.am, NOV_DAYS)
    assert bills(world) == {}
