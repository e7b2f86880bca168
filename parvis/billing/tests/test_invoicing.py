"""The month's computation (billing/invoicing.py): a family's November reproduced by hand to the
cent (17 × 4,15 € = 70,55 €, the sibling discount, every penalty and the credit), brackets at
their edges and the QF of the month's first day, the effort rate held within its bounds, a new
tariff inside the month, the non-resident price, rounding once per line, late bookings a minute
before and at the deadline, what is not billed, and a number of queries that does not grow with
the families."""

from datetime import date, datetime
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.activities.models import BookingStatus
from parvis.activities.rules import PARIS
from parvis.billing import invoicing
from parvis.billing.models import LineKind, PenaltyKind, PenaltyRule, Regie, Tariff, TariffKind
from parvis.billing.tests.invoicing_factories import (
    NOV,
    NOV_DAYS,
    absence,
    book,
    child,
    family,
    flat,
    make_world,
    quotient,
    tick,
)
from parvis.families.tests.factories import FamilleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def bills(world, **kwargs):
    return {
        bill.famille.name: bill
        for bill in invoicing.compute_month(regie=world.regie, month=NOV, **kwargs)
    }


def rows(bill):
    return [
        (line.kind, line.label, line.quantity, line.unit_price, line.amount) for line in bill.lines
    ]


def meal_price(world, qf, **extra):
    famille = family(world, "TEST", qf=qf, **extra)
    kid = child(world, famille, "Léa", date(2018, 1, 1))
    book(kid, world.meal, NOV_DAYS[:1])
    line = bills(world)["TEST"].lines[0]
    return line.unit_price, line.price_label


# --- A month by hand -----------------------------------------------------------------------------


def test_a_familys_month_reproduced_by_hand_to_the_cent(world):
    durand = family(world, "DURAND", qf="1650.00")  # bracket 1600 € – 1900 €: 4,15 € a meal
    hugo = child(world, durand, "Hugo", date(2017, 3, 2))  # the elder: rank 1
    lea = child(world, durand, "Léa", date(2021, 5, 10))  # rank 2: 10 % off the meal
    book(hugo, world.meal, NOV_DAYS)  # 17 meals
    book(lea, world.meal, NOV_DAYS[:10])
    tick(lea, world.meal, NOV_DAYS[0], present=False)  # unjustified
    absence(lea, NOV_DAYS[1], NOV_DAYS[2], justified=True)
    tick(lea, world.meal, NOV_DAYS[1], present=False)  # ticked absent, justified
    book(lea, world.am, NOV_DAYS[3:7])
    tick(lea, world.am, NOV_DAYS[8], present=True)  # came without booking
    book(lea, world.pm, NOV_DAYS[3:6])
    tick(lea, world.pm, NOV_DAYS[5], present=True, late=True)

    bill = bills(world)["DURAND"]

    peri, repas = "Accueil Périscolaire", "Restauration scolaire (Repas)"
    assert rows(bill) == [
        (LineKind.PRESTATION, f"{repas} — Hugo DURAND", 17, D("4.15"), D("70.55")),
        (LineKind.PRESTATION, f"{peri} (Acc Matin) — Léa DURAND", 4, D("1.20"), D("4.80")),
        (
            LineKind.PRESTATION,
            f"Présence sans réservation — {peri} (Acc Matin) — Léa DURAND",
            1,
            D("1.20"),
            D("1.20"),
        ),
        (
            LineKind.PENALITE,
            f"Présence sans réservation — {peri} (Acc Matin) — Léa DURAND",
            1,
            D("0.60"),
            D("0.60"),
        ),
        (LineKind.PRESTATION, f"{peri} (Acc Soir) — Léa DURAND", 3, D("2.10"), D("6.30")),
        (
            LineKind.PENALITE,
            f"Retard le soir — {peri} (Acc Soir) — Léa DURAND",
            1,
            D("3.00"),
            D("3.00"),
        ),
        (LineKind.PRESTATION, f"{repas} — Léa DURAND", 10, D("3.74"), D("37.40")),
        (
            LineKind.PENALITE,
            f"Absence non justifiée — {repas} — Léa DURAND",
            1,
            D("1.87"),
            D("1.87"),
        ),
        (
            LineKind.DEDUCTION,
            f"Absence justifiée déduite — {repas} — Léa DURAND",
            2,
            D("-3.74"),
            D("-7.48"),
        ),
    ]
    # 70,55 + 4,80 + 1,20 + 0,60 + 6,30 + 3,00 + 37,40 + 1,87 − 7,48
    assert bill.total == D("118.24")
    hugo_meals, lea_meals = bill.lines[0], bill.lines[6]
    assert hugo_meals.days == [day.isoformat() for day in NOV_DAYS]
    assert hugo_meals.price_label == "QF de 1600 € à 1900 €"
    assert hugo_meals.explanation == "QF 1650 € : tranche QF de 1600 € à 1900 €, 4,15 €"
    assert lea_meals.explanation.endswith("réduction 2e enfant 10 % : 3,74 €")
    assert (hugo_meals.child_id, hugo_meals.unit_id, hugo_meals.child_name) == (
        hugo.pk,
        world.meal.pk,
        "Hugo DURAND",
    )
    assert bill.lines[8].days == [NOV_DAYS[1].isoformat(), NOV_DAYS[2].isoformat()]
    assert bill.lines[8].explanation == "Absence justifiée déduite : 100 % de 3,74 €"
    # Meals are not childcare (tax credit); the care slots are, and so is their credit.
    assert [line.childcare for line in bill.lines] == [
        False, True, True, False, True, False, False, False, False,
    ]  # fmt: skip


def test_17_meals_at_4_15_are_70_55_not_70_49(world):
    famille = family(world, "MARTIN", qf="1600.00")
    book(child(world, famille, "Paul", date(2016, 1, 1)), world.meal, NOV_DAYS)
    assert bills(world)["MARTIN"].total == D("70.55")


def test_the_invoice_label_and_helpers_are_in_french():
    assert invoicing.invoice_label(NOV) == "Facture de novembre 2026"
    assert invoicing.month_bounds(date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert invoicing.previous_month(date(2027, 1, 1)) == date(2026, 12, 1)
    assert invoicing.previous_month(date(2026, 12, 31)) == date(2026, 11, 1)
    assert invoicing.DUE_DAYS == 30


# --- Prices --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qf", "price"),
    [
        ("0.00", "0.50"),
        ("399.99", "0.50"),
        ("400.00", "1.35"),
        ("1899.99", "4.15"),
        ("1900.00", "4.15"),
        ("1900.01", "4.90"),
        (None, "4.90"),  # no QF: the highest bracket
    ],
)
def test_brackets_at_their_edges(world, qf, price):
    assert meal_price(world, qf)[0] == D(price)


def test_the_qf_is_the_one_valid_on_the_months_first_day(world):
    expired = family(world, "EXPIRE", qf=None)
    quotient(expired, "500.00", date(2026, 1, 1), date(2026, 10, 31))
    late = family(world, "TARDIF", qf=None)
    quotient(late, "500.00", date(2026, 11, 2), date(2026, 12, 31))
    on_time = family(world, "ATEMPS", qf=None)
    quotient(on_time, "500.00", date(2026, 11, 1), date(2026, 11, 1))
    changed = family(world, "CHANGE", qf=None)
    quotient(changed, "2000.00", date(2026, 1, 1), date(2026, 12, 31))
    quotient(changed, "500.00", date(2026, 6, 1), date(2026, 12, 31))  # the latest wins
    for famille in (expired, late, on_time, changed):
        book(child(world, famille, "A", date(2018, 1, 1)), world.meal, NOV_DAYS[:1])
    found = {name: bill.lines[0].unit_price for name, bill in bills(world).items()}
    assert found == {
        "EXPIRE": D("4.90"),
        "TARDIF": D("4.90"),
        "ATEMPS": D("1.35"),
        "CHANGE": D("1.35"),
    }
    assert bills(world)["EXPIRE"].lines[0].explanation.startswith("QF non connu")


@pytest.mark.parametrize(
    ("qf", "price"),
    [("400.00", "4.00"), ("500.00", "4.00"), ("625.00", "5.00"), ("1750.00", "14.00"),
     ("1750.01", "14.00"), (None, "14.00")],
)  # fmt: skip
def test_an_effort_rate_within_its_bounds(world, qf, price):
    Tariff.objects.filter(unit=world.meal).delete()
    Tariff.objects.create(
        commune=world.commune, unit=world.meal, valid_from=date(2026, 9, 1),
        kind=TariffKind.EFFORT_RATE, effort_rate=D("0.80"), minimum=D("4.00"), maximum=D("14.00"),
    )  # fmt: skip
    assert meal_price(world, qf)[0] == D(price)


def test_a_non_resident_pays_the_non_resident_price(world):
    price, label = meal_price(world, "500.00", city="Poissy", postal_code="78300")
    assert (price, label) == (D("5.90"), "tarif non-résident")


def test_a_new_tariff_inside_the_month_splits_the_line(world):
    flat(world.am, "1.50", valid_from=date(2026, 11, 16))
    famille = family(world, "DUPONT")
    book(child(world, famille, "Max", date(2019, 1, 1)), world.am, NOV_DAYS)
    lines = bills(world)["DUPONT"].lines
    assert [(line.quantity, line.unit_price, line.amount) for line in lines] == [
        (8, D("1.20"), D("9.60")),
        (9, D("1.50"), D("13.50")),
    ]
    assert lines[1].days[0] == "2026-11-16"


def test_siblings_are_ranked_by_birth_date_among_the_children_billed(world):
    famille = family(world, "NOMBREUSE", qf="1000.00")  # 2,75 € a meal
    eldest = child(world, famille, "Aîné", date(2012, 1, 1))  # only on a waiting list: not billed
    second = child(world, famille, "Deux", date(2015, 1, 1))
    third = child(world, famille, "Trois", date(2017, 1, 1))
    fourth = child(world, famille, "Quatre", date(2019, 1, 1))
    book(eldest, world.meal, NOV_DAYS[:1], status=BookingStatus.LISTE_ATTENTE)
    for kid in (fourth, third, second):
        book(kid, world.meal, NOV_DAYS[:1])
    lines = bills(world)["NOMBREUSE"].lines
    assert [(line.child_name, line.unit_price) for line in lines] == [
        ("Deux NOMBREUSE", D("2.75")),  # rank 1
        ("Trois NOMBREUSE", D("2.48")),  # 2,75 − 10 % = 2,475 → 2,48
        ("Quatre NOMBREUSE", D("2.20")),  # − 20 %
    ]


# --- Penalties and rounding ----------------------------------------------------------------------


def test_a_percent_penalty_is_rounded_once_per_occurrence_then_multiplied(world):
    famille = family(world, "ARRONDI", qf="1650.00")
    kid = child(world, famille, "Zoé", date(2016, 1, 1))
    book(kid, world.meal, NOV_DAYS[:3])
    for day in NOV_DAYS[3:6]:
        tick(kid, world.meal, day, present=True)  # three presences without booking
    penalty = bills(world)["ARRONDI"].lines[-1]
    # 50 % of 4,15 € = 2,075 → 2,08 €, three times 6,24 € (not 3 × 2,075 = 6,225 → 6,23 €).
    assert (penalty.kind, penalty.quantity, penalty.unit_price, penalty.amount) == (
        LineKind.PENALITE,
        3,
        D("2.08"),
        D("6.24"),
    )
    assert penalty.explanation == "Présence sans réservation : 50 % de 4,15 €"


def test_without_a_rule_in_force_no_penalty_is_billed(world):
    PenaltyRule.objects.filter(commune=world.commune).delete()
    world.rule(PenaltyKind.RETARD_SOIR, amount=D("3.00"), valid_from=date(2026, 11, 20))
    famille = family(world, "SANSREGLE")
    kid = child(world, famille, "Ana", date(2018, 1, 1))
    book(kid, world.pm, NOV_DAYS[:2])
    tick(kid, world.pm, NOV_DAYS[0], present=False)
    tick(kid, world.pm, NOV_DAYS[1], present=True, late=True)  # 3 November: rule from the 20th
    tick(kid, world.pm, NOV_DAYS[12], present=True, late=True)  # 23 November: billed
    assert [
        (line.kind, line.quantity, line.amount) for line in bills(world)["SANSREGLE"].lines
    ] == [
        (LineKind.PRESTATION, 2, D("4.20")),
        (LineKind.PRESTATION, 1, D("2.10")),
        (LineKind.PENALITE, 1, D("3.00")),
    ]


def test_an_activitys_own_rule_wins_over_the_communes(world):
    world.rule(PenaltyKind.RETARD_SOIR, amount=D("5.00"), activity=world.peri)
    famille = family(world, "PROPRE")
    kid = child(world, famille, "Eva", date(2018, 1, 1))
    book(kid, world.pm, NOV_DAYS[:1])
    tick(kid, world.pm, NOV_DAYS[0], present=True, late=True)
    assert bills(world)["PROPRE"].lines[-1].amount == D("5.00")


def test_a_justified_absence_is_credited_only_when_the_child_did_not_come(world):
    famille = family(world, "JUSTE")
    kid = child(world, famille, "Noé", date(2018, 1, 1))
    book(kid, world.am, NOV_DAYS[:3])
    absence(kid, NOV_DAYS[0], NOV_DAYS[2], justified=True)
    tick(kid, world.am, NOV_DAYS[1], present=True)  # came after all
    absence(kid, NOV_DAYS[5], justified=False)  # declared, not justified, not ticked: nothing
    lines = bills(world)["JUSTE"].lines
    assert [(line.kind, line.days) for line in lines] == [
        (LineKind.PRESTATION, [d.isoformat() for d in NOV_DAYS[:3]]),
        (LineKind.DEDUCTION, [NOV_DAYS[0].isoformat(), NOV_DAYS[2].isoformat()]),
    ]
    assert bills(world)["JUSTE"].total == D("1.20")


def test_a_fixed_credit_never_takes_more_than_the_days_price(world):
    world.rule(PenaltyKind.ABSENCE_JUSTIFIEE, amount=D("5.00"))  # more than 1,20 €
    famille = family(world, "PLAFOND")
    kid = child(world, famille, "Ily", date(2018, 1, 1))
    book(kid, world.am, NOV_DAYS[:2])
    absence(kid, NOV_DAYS[0], NOV_DAYS[1], justified=True)
    bill = bills(world)["PLAFOND"]
    assert bill.lines[1].amount == D("-2.40")
    assert bill.total == D("0.00")


@pytest.mark.parametrize(
    ("queued", "late"),
    [
        (datetime(2026, 11, 13, 8, 59, tzinfo=PARIS), False),  # a minute before Friday 09:00
        (datetime(2026, 11, 13, 9, 0, tzinfo=PARIS), True),  # at the deadline: closed
        (datetime(2026, 11, 15, 20, 0, tzinfo=PARIS), True),
    ],
)
def test_a_late_booking_is_billed_from_its_deadline(world, queued, late):
    world.rule(PenaltyKind.RESERVATION_TARDIVE, amount=D("2.00"))
    famille = family(world, "TARD")
    # Monday 16 November: the working day before at 09:00 is Friday 13 November 09:00.
    book(child(world, famille, "Léo", date(2018, 1, 1)), world.am, [date(2026, 11, 16)], at=queued)
    lines = bills(world)["TARD"].lines
    assert [line.kind for line in lines] == [LineKind.PRESTATION] + (
        [LineKind.PENALITE] if late else []
    )
    if late:
        assert lines[1].label.startswith("Réservation tardive — ")


# --- What is not billed --------------------------------------------------------------------------


def test_only_the_regies_confirmed_bookings_of_the_month_are_billed(world):
    famille = family(world, "SEULE")
    kid = child(world, famille, "Une", date(2018, 1, 1))
    book(kid, world.am, [date(2026, 10, 30), date(2026, 12, 1)])  # other months
    book(kid, world.pm, NOV_DAYS[:1], status=BookingStatus.EN_ATTENTE)
    book(kid, world.meal, NOV_DAYS[:1], status=BookingStatus.LISTE_ATTENTE)
    tick(kid, world.pm, NOV_DAYS[1], present=False)  # absent without booking: nothing
    other = Regie.objects.create(commune=world.commune, name="Régie des sports", code="SPO")
    assert bills(world) == {}
    assert invoicing.compute_month(regie=other, month=NOV) == []
    elsewhere = make_world(slug="ailleurs", name="Ailleurs")
    stranger = family(elsewhere, "ETRANGERE")
    book(child(elsewhere, stranger, "Sam", date(2018, 1, 1)), elsewhere.am, NOV_DAYS)
    assert bills(world) == {}


def test_a_billed_day_without_tariff_stops_the_computation(world):
    Tariff.objects.filter(unit=world.pm).update(valid_from=date(2026, 11, 10))
    famille = family(world, "SANSTARIF")
    book(child(world, famille, "Tom", date(2018, 1, 1)), world.pm, NOV_DAYS[:1])
    with pytest.raises(invoicing.MissingTariff) as error:
        bills(world)
    assert "n'a pas de tarif en vigueur le 02/11/2026" in str(error.value)


def test_famille_ids_restrict_the_computation(world):
    a, b = family(world, "A"), family(world, "B")
    for famille in (a, b):
        book(child(world, famille, "X", date(2018, 1, 1)), world.am, NOV_DAYS[:1])
    assert list(bills(world, famille_ids=[b.pk])) == ["B"]
    assert invoicing.families_to_bill(regie=world.regie, month=NOV) == [a.pk, b.pk]


# --- Queries -------------------------------------------------------------------------------------


def populate(world, count, start=0):
    for index in range(start, start + count):
        famille = family(world, f"F{index:03d}", qf=f"{300 + 150 * index}.00")
        for rank, unit in enumerate((world.am, world.meal)):
            kid = child(world, famille, f"E{rank}", date(2015 + rank, 1, 1))
            book(kid, unit, NOV_DAYS)
            tick(kid, unit, NOV_DAYS[0], present=False)
            tick(kid, unit, NOV_DAYS[1], present=True, late=True)


def count_queries(world) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        found = invoicing.compute_month(regie=world.regie, month=NOV)
    return len(queries), len(found)


def test_the_number_of_queries_does_not_grow_with_the_families(world):
    populate(world, 3)
    small = count_queries(world)
    populate(world, 12, start=3)
    large = count_queries(world)
    assert (small[1], large[1]) == (3, 15)
    assert small[0] == large[0] <= 13  # with the closed days of the month, one query a run
    FamilleFactory(commune=world.commune)  # a family with nothing: no bill, no query
    assert count_queries(world) == large
