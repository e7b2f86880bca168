"""Prices to the cent, from tariff rows that are never saved (the functions are pure).

The meal grid is Roncq 2025's as PRODUCT.md gives it: 0,50 € under a QF of 400 € and 4,90 € above
1900 € (with lower bounds included, in cents: from 1900,01 €). PRODUCT.md gives only those two
ends: the six middle brackets below are test data, made up. The effort rate is PRODUCT.md's:
0,36 % of the QF, between 2,60 € and 4,50 €."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parvis.billing.models import PenaltyKind, PenaltyRule, Tariff, TariffBracket, TariffKind
from parvis.billing.pricing import (
    CENT,
    is_resident,
    line_amount,
    penalty_amount,
    penalty_explanation,
    penalty_rule_in_force,
    tariff_in_force,
    unit_price,
)
from parvis.communes.models import Commune
from parvis.families.models import Famille

D = Decimal

RONCQ_2025 = [  # (QF from, price); only the first and the last come from PRODUCT.md
    ("0", "0.50"),
    ("400", "1.35"),
    ("700", "2.10"),
    ("900", "2.75"),
    ("1100", "3.30"),
    ("1300", "3.75"),
    ("1600", "4.15"),
    ("1900.01", "4.90"),
]


def make_tariff(kind=TariffKind.QF_BRACKETS, **fields) -> Tariff:
    fields.setdefault("second_child_discount", D(0))
    fields.setdefault("third_child_discount", D(0))
    return Tariff(kind=kind, **fields)


def make_brackets(rows=RONCQ_2025) -> list[TariffBracket]:
    return [TariffBracket(qf_min=D(qf_min), price=D(price)) for qf_min, price in rows]


MEAL = make_tariff()
EFFORT = make_tariff(
    TariffKind.EFFORT_RATE, effort_rate=D("0.36"), minimum=D("2.60"), maximum=D("4.50")
)
FLAT = make_tariff(TariffKind.FLAT, price=D("1.80"))


def meal(qf, *, tariff=MEAL, resident=True, rank=1, brackets=None):
    return unit_price(
        tariff=tariff,
        brackets=make_brackets() if brackets is None else brackets,
        qf=None if qf is None else D(qf),
        resident=resident,
        sibling_rank=rank,
    )


def effort(qf, **kwargs):
    return meal(qf, tariff=EFFORT, brackets=[], **kwargs)


# --- QF brackets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qf", "price", "label"),
    [
        ("0", "0.50", "QF de 0 € à 399,99 €"),
        ("399.99", "0.50", "QF de 0 € à 399,99 €"),
        ("400", "1.35", "QF de 400 € à 699,99 €"),
        ("400.01", "1.35", "QF de 400 € à 699,99 €"),
        ("699.99", "1.35", "QF de 400 € à 699,99 €"),
        ("700", "2.10", "QF de 700 € à 899,99 €"),
        ("899.99", "2.10", "QF de 700 € à 899,99 €"),
        ("900", "2.75", "QF de 900 € à 1099,99 €"),
        ("1099.99", "2.75", "QF de 900 € à 1099,99 €"),
        ("1100", "3.30", "QF de 1100 € à 1299,99 €"),
        ("1299.99", "3.30", "QF de 1100 € à 1299,99 €"),
        ("1300", "3.75", "QF de 1300 € à 1599,99 €"),
        ("1599.99", "3.75", "QF de 1300 € à 1599,99 €"),
        ("1600", "4.15", "QF de 1600 € à 1900 €"),
        ("1900", "4.15", "QF de 1600 € à 1900 €"),  # « QF > 1900 » for the last one
        ("1900.01", "4.90", "QF de 1900,01 € et plus"),
        ("25000", "4.90", "QF de 1900,01 € et plus"),
    ],
)
def test_every_bracket_edge_of_roncq_2025(qf, price, label):
    result = meal(qf)
    assert result.amount == D(price)
    assert str(result.amount) == price  # two decimals, as printed
    assert result.label == label


def test_a_bracket_price_is_explained_for_the_invoice_line():
    result = meal("512.30")
    assert result.explanation == "QF 512,30 € : tranche QF de 400 € à 699,99 €, 1,35 €"


def test_brackets_may_come_in_any_order():
    assert meal("1000", brackets=make_brackets()[::-1]).amount == D("2.75")


def test_unknown_qf_pays_the_highest_bracket():
    result = meal(None)
    assert result.amount == D("4.90")
    assert result.label == "QF de 1900,01 € et plus"
    assert result.explanation == (
        "QF non connu : prix de la tranche la plus haute (QF de 1900,01 € et plus), 4,90 €"
    )


def test_unknown_qf_pays_the_highest_price_even_if_not_the_last_bracket():
    # A grid whose prices do not rise (never seen, but the rule is « the highest price »).
    rows = [("0", "1.00"), ("500", "6.00"), ("900", "5.00")]
    assert meal(None, brackets=make_brackets(rows)).amount == D("6.00")


# --- Effort rate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qf", "price"),
    [
        ("0", "2.60"),  # minimum
        ("700", "2.60"),  # 2,52 → minimum
        ("722.21", "2.60"),  # 2,599956 → 2,60
        ("722.22", "2.60"),  # 2,599992 → 2,60, the minimum exactly
        ("750", "2.70"),
        ("912.50", "3.29"),  # 3,285 → 3,29 half up (3,28 half even)
        ("1000", "3.60"),
        ("1111.11", "4.00"),  # 3,999996
        ("1249.99", "4.50"),  # 4,499964 → 4,50
        ("1250", "4.50"),  # the maximum exactly
        ("1300", "4.50"),  # 4,68 → maximum
        ("1000000", "4.50"),
    ],
)
def test_effort_rate_within_its_bounds(qf, price):
    result = effort(qf)
    assert result.amount == D(price)
    assert str(result.amount) == price
    assert result.label == "taux d'effort 0,36 % du QF (min 2,60 €, max 4,50 €)"


def test_effort_rate_explanations():
    assert effort("1000").explanation == "QF 1000 € × 0,36 % = 3,60 €"
    assert effort("700").explanation == ("QF 700 € × 0,36 % = 2,52 €, porté au minimum de 2,60 €")
    assert effort("1300").explanation == (
        "QF 1300 € × 0,36 % = 4,68 €, ramené au maximum de 4,50 €"
    )


def test_effort_rate_without_qf_pays_the_maximum():
    result = effort(None)
    assert result.amount == D("4.50")
    assert result.explanation.startswith("QF non connu : prix maximum du taux d'effort 0,36 %")


def test_effort_rate_without_minimum():
    tariff = make_tariff(TariffKind.EFFORT_RATE, effort_rate=D("0.36"), maximum=D("4.50"))
    result = meal("100", tariff=tariff, brackets=[])
    assert result.amount == D("0.36")
    assert result.label == "taux d'effort 0,36 % du QF (max 4,50 €)"


def test_flat_price_whatever_the_qf():
    for qf in (None, "0", "5000"):
        result = meal(qf, tariff=FLAT, brackets=[])
        assert result.amount == D("1.80")
        assert result.explanation == "Tarif unique : 1,80 €"


# --- Non-residents and siblings ---------------------------------------------------------------


def test_non_resident_pays_the_non_resident_price_whatever_the_qf():
    tariff = make_tariff(non_resident_price=D("5.90"))
    for qf in (None, "100", "3000"):
        result = meal(qf, tariff=tariff, resident=False)
        assert result.amount == D("5.90")
        assert result.label == "tarif non-résident"
        assert "hors de la commune" in result.explanation
    assert meal("100", tariff=tariff, resident=True).amount == D("0.50")


def test_without_a_non_resident_price_non_residents_pay_as_residents():
    assert meal("100", resident=False).amount == D("0.50")


SIBLINGS = make_tariff(second_child_discount=D(10), third_child_discount=D(20))


@pytest.mark.parametrize(("rank", "price"), [(1, "4.15"), (2, "3.74"), (3, "3.32"), (7, "3.32")])
def test_sibling_discounts_by_rank(rank, price):
    result = meal("1700", tariff=SIBLINGS, rank=rank)
    assert result.amount == D(price)  # 4,15 × 0,9 = 3,735 → 3,74 ; × 0,8 = 3,32
    assert result.base == D("4.15")


def test_sibling_discount_is_explained_and_rounded_half_up():
    assert meal("1700", tariff=SIBLINGS, rank=2).explanation.endswith(
        " ; réduction 2e enfant 10 % : 3,74 €"
    )
    assert meal("1700", tariff=SIBLINGS, rank=4).explanation.endswith(
        " ; réduction 3e enfant et suivants 20 % : 3,32 €"
    )
    tariff = make_tariff(TariffKind.FLAT, price=D("2.50"), second_child_discount=D(15))
    result = meal(None, tariff=tariff, brackets=[], rank=2)
    assert result.amount == D("2.13")  # 2,125: half up, not half even (2,12)
    assert result.discount_percent == D(15)


def test_sibling_discount_applies_to_the_non_resident_price():
    tariff = make_tariff(non_resident_price=D("5.90"), second_child_discount=D(10))
    assert meal("100", tariff=tariff, resident=False, rank=2).amount == D("5.31")


# --- The tariff of a day ----------------------------------------------------------------------


def test_tariff_changes_on_its_valid_from_day():
    old = make_tariff(TariffKind.FLAT, price=D("1.80"), valid_from=date(2025, 9, 1))
    new = make_tariff(TariffKind.FLAT, price=D("1.95"), valid_from=date(2026, 9, 1))
    tariffs = [new, old]
    assert tariff_in_force(tariffs, date(2025, 8, 31)) is None
    assert tariff_in_force(tariffs, date(2025, 9, 1)) is old
    assert tariff_in_force(tariffs, date(2026, 8, 31)) is old
    assert tariff_in_force(tariffs, date(2026, 9, 1)) is new
    the_day_before = tariff_in_force(tariffs, date(2026, 8, 31))
    assert meal(None, tariff=the_day_before, brackets=[]).amount == D("1.80")
    assert meal(None, tariff=tariff_in_force(tariffs, date(2026, 9, 1)), brackets=[]).amount == D(
        "1.95"
    )


def test_two_tariffs_from_the_same_day_are_refused():
    day = date(2026, 9, 1)
    tariffs = [make_tariff(valid_from=day), make_tariff(valid_from=day)]
    with pytest.raises(ValueError, match="same day"):
        tariff_in_force(tariffs, day)


def rule(kind, *, activity_id=None, valid_from=date(2026, 9, 1), amount=None, percent=None):
    return PenaltyRule(
        kind=kind, activity_id=activity_id, valid_from=valid_from, amount=amount, percent=percent
    )


def test_an_activitys_own_rule_wins_over_the_communes():
    late = PenaltyKind.RETARD_SOIR
    commune_wide = rule(late, amount=D("3.00"))
    own = rule(late, activity_id=7, amount=D("5.00"), valid_from=date(2027, 1, 1))
    other = rule(late, activity_id=8, amount=D("9.00"))
    absence = rule(PenaltyKind.ABSENCE_NON_JUSTIFIEE, activity_id=7, percent=D(100))
    rules = [commune_wide, own, other, absence]

    def in_force(day, activity_id=7):
        return penalty_rule_in_force(rules, kind=late, activity_id=activity_id, day=day)

    assert in_force(date(2026, 8, 31)) is None
    assert in_force(date(2026, 12, 31)) is commune_wide  # the activity's starts later
    assert in_force(date(2027, 1, 1)) is own
    assert in_force(date(2027, 1, 1), activity_id=8) is other
    assert in_force(date(2027, 1, 1), activity_id=9) is commune_wide


# --- Lines and penalties ----------------------------------------------------------------------


def test_seventeen_meals_at_4_15_make_70_55():
    assert line_amount(17, D("4.15")) == D("70.55")
    assert str(line_amount(17, D("4.15"))) == "70.55"
    assert 17 * 4.15 != 70.55  # why no float ever enters: 70.55000000000001


@pytest.mark.parametrize(
    ("quantity", "price", "amount"),
    [
        (0, "4.15", "0.00"),
        (1, "4.15", "4.15"),
        (20, "2.10", "42.00"),
        (3, "0.335", "1.01"),  # 1,005: half up (1,00 half even), once for the line
        (3, "-2.35", "-7.05"),  # a credit line
        (23, "0.01", "0.23"),
    ],
)
def test_line_amounts(quantity, price, amount):
    assert str(line_amount(quantity, D(price))) == amount


def test_line_rounds_once_not_per_unit():
    # 3 × 0,335 rounded per unit would be 3 × 0,34 = 1,02.
    assert line_amount(3, D("0.335")) == D("1.01")


@pytest.mark.parametrize(
    ("kind", "fields", "unit", "amount"),
    [
        (PenaltyKind.PRESENCE_SANS_RESERVATION, {"percent": D(50)}, "4.15", "2.08"),  # 2,075
        (PenaltyKind.PRESENCE_SANS_RESERVATION, {"percent": D(50)}, "4.25", "2.13"),  # 2,125
        (PenaltyKind.PRESENCE_SANS_RESERVATION, {"amount": D("10.00")}, "4.15", "10.00"),
        (PenaltyKind.ABSENCE_NON_JUSTIFIEE, {"percent": D(100)}, "4.15", "4.15"),
        (PenaltyKind.RETARD_SOIR, {"amount": D("3.00")}, "2.10", "3.00"),
        (PenaltyKind.RESERVATION_TARDIVE, {"percent": D("12.5")}, "2.10", "0.26"),  # 0,2625
        (PenaltyKind.ABSENCE_JUSTIFIEE, {"percent": D(100)}, "2.35", "-2.35"),  # a credit
        (PenaltyKind.ABSENCE_JUSTIFIEE, {"percent": D(50)}, "4.15", "-2.08"),
    ],
)
def test_penalty_amounts(kind, fields, unit, amount):
    assert str(penalty_amount(rule(kind, **fields), D(unit))) == amount


def test_penalty_explanations():
    surcharge = rule(PenaltyKind.PRESENCE_SANS_RESERVATION, percent=D("50.0000"))
    assert penalty_explanation(surcharge, D("4.15")) == "Présence sans réservation : 50 % de 4,15 €"
    late = rule(PenaltyKind.RETARD_SOIR, amount=D("3.00"))
    assert penalty_explanation(late, D("2.10")) == "Retard le soir : 3,00 €"


# --- Refused inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "qf",
    [
        D("-0.01"),
        D("-400"),
        D("NaN"),
        D("Infinity"),
        D("400.005"),
        D("10000000"),
        400.0,
        400,
        "400",
    ],
)
def test_absurd_qfs_are_refused(qf):
    with pytest.raises(ValueError):
        unit_price(tariff=MEAL, brackets=make_brackets(), qf=qf, resident=True, sibling_rank=1)


@pytest.mark.parametrize("rank", [0, -1, True, 1.0, "2", None])
def test_absurd_ranks_are_refused(rank):
    with pytest.raises(ValueError):
        meal("500", rank=rank)


def test_resident_must_be_a_boolean():
    with pytest.raises(ValueError):
        meal("500", resident="non")


@pytest.mark.parametrize(
    ("tariff", "rows"),
    [
        (make_tariff(TariffKind.FLAT), []),  # no price
        (make_tariff(TariffKind.FLAT, price=D("-1.00")), []),
        (make_tariff(TariffKind.FLAT, price=D("1.805")), []),  # not in cents
        (FLAT, RONCQ_2025),  # brackets on a flat tariff
        (MEAL, []),  # no bracket
        (MEAL, RONCQ_2025[1:]),  # not from 0
        (MEAL, [("0", "1.00"), ("0", "2.00")]),
        (MEAL, [("0", "-1.00")]),
        (make_tariff(TariffKind.EFFORT_RATE, effort_rate=D("0.36")), []),  # no maximum
        (make_tariff(TariffKind.EFFORT_RATE, maximum=D("4.50")), []),  # no rate
        (make_tariff(TariffKind.EFFORT_RATE, effort_rate=D(0), maximum=D("4.50")), []),
        (make_tariff(TariffKind.EFFORT_RATE, effort_rate=D(101), maximum=D("4.50")), []),
        (
            make_tariff(TariffKind.EFFORT_RATE, effort_rate=D(1), minimum=D(5), maximum=D("4.50")),
            [],
        ),
        (make_tariff("forfait", price=D(1)), []),
        (make_tariff(TariffKind.FLAT, price=1.8), []),
    ],
)
def test_incomplete_or_absurd_tariffs_are_refused(tariff, rows):
    with pytest.raises(ValueError):
        unit_price(
            tariff=tariff, brackets=make_brackets(rows), qf=D(500), resident=True, sibling_rank=1
        )


@pytest.mark.parametrize(
    ("quantity", "price"),
    [(-1, D("4.15")), (1.5, D("4.15")), (True, D("4.15")), (2, 4.15), (2, D("NaN"))],
)
def test_absurd_lines_are_refused(quantity, price):
    with pytest.raises(ValueError):
        line_amount(quantity, price)


def test_absurd_penalties_are_refused():
    both = rule(PenaltyKind.RETARD_SOIR, amount=D(3), percent=D(50))
    neither = rule(PenaltyKind.RETARD_SOIR)
    fine = rule(PenaltyKind.RETARD_SOIR, amount=D(3))
    for bad_rule, price in [(both, D(1)), (neither, D(1)), (fine, D("-1")), (fine, 2.0)]:
        with pytest.raises(ValueError):
            penalty_amount(bad_rule, price)


# --- Properties -------------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=2_000_000).map(lambda n: D(n) / 100)
qfs = st.one_of(st.none(), cents)


@st.composite
def rising_grids(draw):
    """Brackets from 0 with distinct lower bounds, prices not decreasing with the QF."""
    bounds = draw(st.sets(st.integers(1, 500_000), max_size=9))
    lower = [D(0)] + [D(n) / 100 for n in sorted(bounds)]
    prices = sorted(draw(st.lists(st.integers(0, 5_000), min_size=len(lower), max_size=len(lower))))
    return [TariffBracket(qf_min=q, price=D(p) / 100) for q, p in zip(lower, prices, strict=True)]


@settings(max_examples=150, deadline=None)
@given(grid=rising_grids(), a=cents, b=cents)
def test_price_never_decreases_when_the_qf_rises(grid, a, b):
    low, high = sorted([a, b])

    def price(qf):
        return unit_price(tariff=MEAL, brackets=grid, qf=qf, resident=True, sibling_rank=1)

    assert price(low).amount <= price(high).amount <= price(None).amount


@st.composite
def effort_tariffs(draw):
    rate = D(draw(st.integers(1, 1_000_000))) / 10_000  # 0,0001 % … 100 %
    bounds = sorted(
        D(n) / 100 for n in draw(st.lists(st.integers(0, 100_000), min_size=2, max_size=2))
    )
    minimum = draw(st.one_of(st.none(), st.just(bounds[0])))
    return make_tariff(TariffKind.EFFORT_RATE, effort_rate=rate, minimum=minimum, maximum=bounds[1])


@settings(max_examples=150, deadline=None)
@given(tariff=effort_tariffs(), qf=qfs)
def test_effort_rate_price_stays_within_its_bounds(tariff, qf):
    amount = unit_price(tariff=tariff, brackets=[], qf=qf, resident=True, sibling_rank=1).amount
    assert (tariff.minimum or 0) <= amount <= tariff.maximum
    if qf is None:
        assert amount == tariff.maximum


@st.composite
def any_tariffs(draw):
    kind = draw(st.sampled_from(TariffKind.values))
    money = st.integers(0, 100_000).map(lambda n: D(n) / 100)
    discounts = st.integers(0, 100).map(D)
    fields = {
        "non_resident_price": draw(st.one_of(st.none(), money)),
        "second_child_discount": draw(discounts),
        "third_child_discount": draw(discounts),
    }
    if kind == TariffKind.FLAT:
        return make_tariff(kind, price=draw(money), **fields), []
    if kind == TariffKind.EFFORT_RATE:
        tariff = draw(effort_tariffs())
        for name, value in fields.items():
            setattr(tariff, name, value)
        return tariff, []
    return make_tariff(kind, **fields), draw(rising_grids())


@settings(max_examples=200, deadline=None)
@given(
    tariff_and_grid=any_tariffs(),
    qf=qfs,
    resident=st.booleans(),
    rank=st.integers(1, 6),
    quantity=st.integers(0, 31),
)
def test_every_amount_has_exactly_two_decimals(tariff_and_grid, qf, resident, rank, quantity):
    tariff, grid = tariff_and_grid
    price = unit_price(tariff=tariff, brackets=grid, qf=qf, resident=resident, sibling_rank=rank)
    assert price.amount.as_tuple().exponent == -2
    assert 0 <= price.amount <= price.base
    line = line_amount(quantity, price.amount)
    assert line.as_tuple().exponent == -2
    assert line == quantity * price.amount  # exact: no rounding on a price in cents
    # The discount comes off the base price, rounded once, half up.
    discounted = price.base * (100 - price.discount_percent) / 100
    assert price.amount == discounted.quantize(CENT, rounding=ROUND_HALF_UP)


# --- Residence --------------------------------------------------------------------------------

CARRIERES = Commune(name="Carrières-sous-Poissy", postal_code="78955")
SAINT_DENIS = Commune(name="Saint-Denis", postal_code="93200")
VOEUIL = Commune(name="Vœuil-et-Giget", postal_code="16400")


@pytest.mark.parametrize(
    ("commune", "city", "postal_code", "resident"),
    [
        (CARRIERES, "Carrières-sous-Poissy", "78955", True),
        (CARRIERES, "CARRIERES SOUS POISSY", "78 955", True),
        (CARRIERES, "carrières sous poissy", "", True),
        (CARRIERES, "Poissy", "78300", False),
        (CARRIERES, "Carrières-sur-Seine", "78420", False),
        (CARRIERES, "", "78955", True),  # no city: the postal code is all there is
        (CARRIERES, "", "78300", False),
        (CARRIERES, "", "", False),  # address unknown: not known to live here
        (SAINT_DENIS, "St-Denis", "93210", True),  # a second postal code of the same town
        (SAINT_DENIS, "Saint Denis", "97400", False),  # La Réunion's Saint-Denis
        (VOEUIL, "VOEUIL ET GIGET", "16400", True),  # a ligature typed as two letters
        (VOEUIL, "Vœuil-et-Giget", "", True),
    ],
)
def test_residence_from_the_familys_address(commune, city, postal_code, resident):
    famille = Famille(city=city, postal_code=postal_code)
    assert is_resident(famille, commune) is resident
