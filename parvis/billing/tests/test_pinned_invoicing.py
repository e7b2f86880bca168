"""The month's computation (billing/invoicing.py), the rules that mutation testing found unpinned
(issue 24 §3): the sibling discount on a presence without booking and on a late pick-up, a
declared but unjustified absence, register rows of other months, the childcare flag of a
credit, a penalty of exactly 1,00 €, a tariff change between two presences without booking,
another commune's rules, a late-booking rule alone, deadlines in hours, a child without a birth
date among its siblings. Villebois's world: invoicing_factories."""

from datetime import date, datetime, time
from decimal import Decimal as D

import pytest

from parvis.activities.rules import PARIS
from parvis.billing import invoicing
from parvis.billing.models import LineKind, PenaltyKind, PenaltyRule, Tariff
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

pytestmark = pytest.mark.django_db

PERI = "Accueil Périscolaire"
REPAS = "Restauration scolaire (Repas)"


@pytest.fixture
def world():
    return make_world()


def bill_of(world, name):
    found = {
        bill.famille.name: bill for bill in invoicing.compute_month(regie=world.regie, month=NOV)
    }
    return found[name]


def rows(bill):
    return [
        (line.kind, line.label, line.quantity, line.unit_price, line.amount) for line in bill.lines
    ]


def siblings(world, name="FRATRIE", qf="1650.00"):
    """A family of two children (4,15 € a meal at this QF): the elder booked one meal."""
    famille = family(world, name, qf=qf)
    elder = child(world, famille, "Aîné", date(2015, 1, 1))
    younger = child(world, famille, "Cadet", date(2019, 1, 1))
    book(elder, world.meal, NOV_DAYS[:1])
    return famille, elder, younger


# --- Siblings -----------------------------------------------------------------------------------


def test_a_second_child_present_without_booking_pays_the_discounted_price_and_penalty(world):
    _famille, _elder, younger = siblings(world)
    tick(younger, world.meal, NOV_DAYS[2], present=True)  # no booking
    assert rows(bill_of(world, "FRATRIE")) == [
        (LineKind.PRESTATION, f"{REPAS} — Aîné FRATRIE", 1, D("4.15"), D("4.15")),
        # 4,15 − 10 % = 3,735 → 3,74; + 50 % of 3,74 = 1,87 (not 2,08, 50 % of 4,15)
        (
            LineKind.PRESTATION,
            f"Présence sans réservation — {REPAS} — Cadet FRATRIE",
            1,
            D("3.74"),
            D("3.74"),
        ),
        (
            LineKind.PENALITE,
            f"Présence sans réservation — {REPAS} — Cadet FRATRIE",
            1,
            D("1.87"),
            D("1.87"),
        ),
    ]
    assert bill_of(world, "FRATRIE").total == D("9.76")


def test_a_child_only_present_without_booking_still_counts_among_the_siblings(world):
    famille = family(world, "PRESENTS", qf="1650.00")
    elder = child(world, famille, "Aîné", date(2015, 1, 1))
    younger = child(world, famille, "Cadet", date(2019, 1, 1))
    tick(elder, world.am, NOV_DAYS[0], present=True)  # no booking at all this month
    book(younger, world.meal, NOV_DAYS[:1])
    meal = next(line for line in bill_of(world, "PRESENTS").lines if line.unit_id == world.meal.pk)
    assert (meal.child_name, meal.unit_price) == ("Cadet PRESENTS", D("3.74"))  # rank 2


def test_a_late_pickup_percent_penalty_follows_the_second_childs_discounted_price(world):
    world.rule(PenaltyKind.RETARD_SOIR, percent=D(50), activity=world.canteen)
    _famille, _elder, younger = siblings(world)
    book(younger, world.meal, NOV_DAYS[1:2])
    tick(younger, world.meal, NOV_DAYS[1], present=True, late=True)
    penalty = bill_of(world, "FRATRIE").lines[-1]
    assert (penalty.kind, penalty.label, penalty.unit_price, penalty.amount) == (
        LineKind.PENALITE,
        f"Retard le soir — {REPAS} — Cadet FRATRIE",
        D("1.87"),  # 50 % of 3,74 €, the younger's price
        D("1.87"),
    )
    assert penalty.explanation == "Retard le soir : 50 % de 3,74 €"


def test_a_child_without_a_birth_date_comes_after_the_dated_ones(world):
    famille = family(world, "SANSDATE", qf="1650.00")
    undated = child(world, famille, "Aaron", None)  # first by name and by creation
    dated = child(world, famille, "Zoé", date(2020, 6, 1))  # the youngest known
    for kid in (undated, dated):
        book(kid, world.meal, NOV_DAYS[:1])
    lines = bill_of(world, "SANSDATE").lines
    assert [(line.child_name, line.unit_price) for line in lines] == [
        ("Zoé SANSDATE", D("4.15")),  # rank 1
        ("Aaron SANSDATE", D("3.74")),  # rank 2: unknown dates last
    ]


# --- Absences -----------------------------------------------------------------------------------


def test_a_declared_unjustified_absence_on_a_booked_day_is_a_penalty_not_a_credit(world):
    famille = family(world, "NONJUSTE")
    kid = child(world, famille, "Tim", date(2018, 1, 1))
    book(kid, world.am, NOV_DAYS[:1])
    absence(kid, NOV_DAYS[0], justified=False)
    tick(kid, world.am, NOV_DAYS[0], present=False)
    assert rows(bill_of(world, "NONJUSTE")) == [
        (LineKind.PRESTATION, f"{PERI} (Acc Matin) — Tim NONJUSTE", 1, D("1.20"), D("1.20")),
        (
            LineKind.PENALITE,
            f"Absence non justifiée — {PERI} (Acc Matin) — Tim NONJUSTE",
            1,
            D("0.60"),
            D("0.60"),
        ),
    ]


def test_a_credit_on_a_childcare_slot_lowers_the_childcare_costs(world):
    famille = family(world, "GARDE")
    kid = child(world, famille, "Mia", date(2018, 1, 1))
    book(kid, world.am, NOV_DAYS[:2])
    absence(kid, NOV_DAYS[0], justified=True)
    lines = bill_of(world, "GARDE").lines
    assert [(line.kind, line.amount, line.childcare) for line in lines] == [
        (LineKind.PRESTATION, D("2.40"), True),
        # The tax certificate sums the childcare lines: the credit must come off them.
        (LineKind.DEDUCTION, D("-1.20"), True),
    ]


def test_a_credit_on_a_slot_that_is_not_childcare_is_not_childcare(world):
    Tariff.objects.filter(unit=world.am).update(childcare=False)
    famille = family(world, "PASGARDE")
    kid = child(world, famille, "Léo", date(2018, 1, 1))
    book(kid, world.am, NOV_DAYS[:1])
    absence(kid, NOV_DAYS[0], justified=True)
    assert [line.childcare for line in bill_of(world, "PASGARDE").lines] == [False, False]


# --- What the month reads -----------------------------------------------------------------------


def test_register_rows_of_other_months_are_ignored(world):
    famille = family(world, "AUTREMOIS")
    kid = child(world, famille, "Eli", date(2018, 1, 1))
    book(kid, world.pm, NOV_DAYS[:1])
    for day in (date(2026, 10, 30), date(2026, 12, 1)):
        tick(kid, world.am, day, present=True)  # present without booking, another month
        tick(kid, world.pm, day, present=True, late=True)  # late pick-up, another month
    assert rows(bill_of(world, "AUTREMOIS")) == [
        (LineKind.PRESTATION, f"{PERI} (Acc Soir) — Eli AUTREMOIS", 1, D("2.10"), D("2.10")),
    ]


def test_justified_absences_of_other_months_are_ignored(world):
    famille = family(world, "ABSAUTRE")
    kid = child(world, famille, "Ugo", date(2018, 1, 1))
    book(kid, world.am, NOV_DAYS[:1])
    absence(kid, date(2026, 10, 1), date(2026, 10, 31), justified=True)
    absence(kid, date(2026, 12, 1), justified=True)
    assert [line.kind for line in bill_of(world, "ABSAUTRE").lines] == [LineKind.PRESTATION]


def test_another_communes_penalty_rules_are_ignored(world):
    PenaltyRule.objects.filter(commune=world.commune).delete()
    make_world(slug="ailleurs", name="Ailleurs")  # its rules: +50 %, 3,00 € a late pick-up…
    famille = family(world, "SANSREGLE")
    kid = child(world, famille, "Ada", date(2018, 1, 1))
    book(kid, world.pm, NOV_DAYS[:1])
    tick(kid, world.pm, NOV_DAYS[0], present=True, late=True)
    tick(kid, world.pm, NOV_DAYS[1], present=True)
    assert [line.kind for line in bill_of(world, "SANSREGLE").lines] == [
        LineKind.PRESTATION,
        LineKind.PRESTATION,
    ]


def test_presences_without_booking_across_a_tariff_change_are_priced_each_day(world):
    flat(world.am, "1.50", valid_from=date(2026, 11, 16))
    famille = family(world, "CHANGE")
    kid = child(world, famille, "Rémi", date(2018, 1, 1))
    for day in (NOV_DAYS[0], NOV_DAYS[1], NOV_DAYS[9]):  # 2 and 3 November; 17 November
        tick(kid, world.am, day, present=True)
    title = f"Présence sans réservation — {PERI} (Acc Matin) — Rémi CHANGE"
    lines = bill_of(world, "CHANGE").lines
    assert rows(bill_of(world, "CHANGE")) == [
        (LineKind.PRESTATION, title, 2, D("1.20"), D("2.40")),
        (LineKind.PRESTATION, title, 1, D("1.50"), D("1.50")),
        (LineKind.PENALITE, title, 2, D("0.60"), D("1.20")),
        (LineKind.PENALITE, title, 1, D("0.75"), D("0.75")),
    ]
    assert [line.days for line in lines] == [
        ["2026-11-02", "2026-11-03"],
        ["2026-11-17"],
        ["2026-11-02", "2026-11-03"],
        ["2026-11-17"],
    ]
    assert bill_of(world, "CHANGE").total == D("5.85")


# --- Penalties ----------------------------------------------------------------------------------


def test_a_penalty_of_one_euro_is_billed(world):
    world.rule(PenaltyKind.RETARD_SOIR, amount=D("1.00"))
    famille = family(world, "UNEURO")
    kid = child(world, famille, "Lou", date(2018, 1, 1))
    book(kid, world.pm, NOV_DAYS[:1])
    tick(kid, world.pm, NOV_DAYS[0], present=True, late=True)
    penalty = bill_of(world, "UNEURO").lines[-1]
    assert (penalty.kind, penalty.quantity, penalty.unit_price, penalty.amount) == (
        LineKind.PENALITE,
        1,
        D("1.00"),
        D("1.00"),
    )
    assert bill_of(world, "UNEURO").total == D("3.10")


def test_a_credit_of_one_euro_is_deducted(world):
    world.rule(PenaltyKind.ABSENCE_JUSTIFIEE, amount=D("1.00"))
    famille = family(world, "UNCREDIT")
    kid = child(world, famille, "Nil", date(2018, 1, 1))
    book(kid, world.am, NOV_DAYS[:1])
    absence(kid, NOV_DAYS[0], justified=True)
    credit = bill_of(world, "UNCREDIT").lines[-1]
    assert (credit.kind, credit.amount) == (LineKind.DEDUCTION, D("-1.00"))
    assert bill_of(world, "UNCREDIT").total == D("0.20")


def late_booking(world, name, *, at, unit=None):
    famille = family(world, name)
    kid = child(world, famille, "Léo", date(2018, 1, 1))
    # Monday 16 November; the default deadline is the working day before at 09:00.
    book(kid, unit or world.am, [date(2026, 11, 16)], at=at)
    return [line.kind for line in bill_of(world, name).lines]


@pytest.mark.parametrize("activity_rule", [False, True])
def test_a_late_booking_rule_alone_in_force_is_billed(activity_rule):
    world = make_world(rules=False)
    activity = world.peri if activity_rule else None
    world.rule(PenaltyKind.RESERVATION_TARDIVE, amount=D("2.00"), activity=activity)
    kinds = late_booking(world, "SEULE", at=datetime(2026, 11, 15, 20, 0, tzinfo=PARIS))
    assert kinds == [LineKind.PRESTATION, LineKind.PENALITE]


@pytest.mark.parametrize(
    ("queued", "late"),
    [
        (datetime(2026, 11, 14, 7, 29, tzinfo=PARIS), False),  # 48 h before 07:30, less a minute
        (datetime(2026, 11, 14, 7, 30, tzinfo=PARIS), True),  # 48 h before the unit starts
    ],
)
def test_a_deadline_in_hours_counts_from_the_units_start(world, queued, late):
    world.peri.booking_deadline = {"kind": "hours_before", "hours": 48}
    world.peri.save()
    assert world.am.starts_at == time(7, 30)
    world.rule(PenaltyKind.RESERVATION_TARDIVE, amount=D("2.00"))
    kinds = late_booking(world, "HEURES", at=queued)
    assert kinds == [LineKind.PRESTATION] + ([LineKind.PENALITE] if late else [])


def test_a_late_booking_and_a_missing_child_on_the_same_day_are_two_penalties(world):
    world.rule(PenaltyKind.RESERVATION_TARDIVE, amount=D("2.00"))
    famille = family(world, "DEUX")
    kid = child(world, famille, "Léo", date(2018, 1, 1))
    book(kid, world.am, [date(2026, 11, 16)], at=datetime(2026, 11, 15, 20, 0, tzinfo=PARIS))
    tick(kid, world.am, date(2026, 11, 16), present=False)
    assert [(line.label.split(" — ")[0], line.amount) for line in bill_of(world, "DEUX").lines] == [
        (PERI + " (Acc Matin)", D("1.20")),
        ("Réservation tardive", D("2.00")),
        ("Absence non justifiée", D("0.60")),
    ]
