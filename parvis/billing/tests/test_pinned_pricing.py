"""Prices (billing/pricing.py), the rules that mutation testing found unpinned (issue 24 §3):
residence by département for overseas homonyms and another postal code of the same town,
« Ste » for « Sainte », the largest amount itself, QF × rate landing exactly on the minimum and
the maximum, the sentences families read on their invoice, and the message of each refusal.
Tariff rows are built, never saved (pricing is pure)."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parvis.billing.models import PenaltyKind, TariffBracket, TariffKind
from parvis.billing.pricing import (
    MAX_AMOUNT,
    euros,
    is_resident,
    line_amount,
    penalty_amount,
    penalty_explanation,
    percent,
    sibling_discount,
    sorted_brackets,
    tariff_in_force,
    unit_price,
)
from parvis.billing.tests.test_pricing import (
    EFFORT,
    FLAT,
    MEAL,
    SIBLINGS,
    effort,
    make_brackets,
    make_tariff,
    meal,
    rule,
)
from parvis.communes.models import Commune
from parvis.families.models import Famille

# --- Residence ----------------------------------------------------------------------------------

SAINT_LOUIS_REUNION = Commune(name="Saint-Louis", postal_code="97450")
SAINT_LOUIS_GUADELOUPE = Commune(name="Saint-Louis", postal_code="97134")
SAINT_LOUIS_ALSACE = Commune(name="Saint-Louis", postal_code="68300")
MARSEILLE = Commune(name="Marseille", postal_code="13001")
SAINTE_MAXIME = Commune(name="Sainte-Maxime", postal_code="83120")


@pytest.mark.parametrize(
    ("commune", "city", "postal_code", "resident"),
    [
        # Overseas départements have three digits: 974 (La Réunion) is not 971 (Guadeloupe).
        (SAINT_LOUIS_REUNION, "Saint-Louis", "97450", True),
        (SAINT_LOUIS_REUNION, "Saint-Louis", "97421", True),  # La Rivière, in Saint-Louis
        (SAINT_LOUIS_REUNION, "Saint-Louis", "97134", False),
        (SAINT_LOUIS_GUADELOUPE, "Saint-Louis", "97450", False),
        (SAINT_LOUIS_REUNION, "Saint-Louis", "68300", False),
        (SAINT_LOUIS_ALSACE, "Saint-Louis", "97450", False),
        (SAINT_LOUIS_ALSACE, "Saint-Louis", "68301", True),  # a cedex of the same town
        # The same town under another of its postal codes.
        (MARSEILLE, "Marseille", "13008", True),
        (MARSEILLE, "MARSEILLE", "13 016", True),
        (MARSEILLE, "Marseille", "F-13008", True),  # only the digits count
        (MARSEILLE, "Marseille", "83120", False),
        (MARSEILLE, "Marseille-en-Beauvaisis", "13008", False),
        # « Ste » is « Sainte », « St » is « Saint »: not one for the other.
        (SAINTE_MAXIME, "Ste Maxime", "83120", True),
        (SAINTE_MAXIME, "STE-MAXIME", "", True),
        (SAINTE_MAXIME, "St-Maxime", "83120", False),
        (SAINTE_MAXIME, "Saint-Maxime", "83120", False),
        (SAINTE_MAXIME, "", "83120", True),  # no city: the identical postal code
        (SAINTE_MAXIME, "", "83 120", True),
        (SAINTE_MAXIME, "", "83121", False),
        (SAINTE_MAXIME, "", "8312", False),
        (SAINTE_MAXIME, "Sainte-Maxime", "8312", True),  # same département (83)
        (SAINTE_MAXIME, "Sainte Maxime l'Ancienne", "83120", False),
        (SAINTE_MAXIME, "Sainte-Maxime", None, True),
    ],
)
def test_residence_by_town_and_departement(commune, city, postal_code, resident):
    famille = Famille(city=city, postal_code=postal_code)
    assert is_resident(famille, commune) is resident


def test_only_the_first_five_digits_are_the_postal_code():
    # « 83120 CEDEX 1 »: the sixth digit is the cedex's, not the postal code's.
    assert is_resident(Famille(city="", postal_code="83120 CEDEX 1"), SAINTE_MAXIME) is True


def test_pacific_collectivities_are_told_apart_by_three_digits():
    kone = Commune(name="Koné", postal_code="98860")  # Nouvelle-Calédonie (988)
    assert is_resident(Famille(city="Koné", postal_code="98860"), kone) is True
    assert is_resident(Famille(city="Koné", postal_code="98714"), kone) is False  # Polynésie


def test_a_city_made_only_of_punctuation_is_no_city():
    # Nothing left of « - » once folded: the postal code alone decides.
    assert is_resident(Famille(city=" - ", postal_code="83120"), SAINTE_MAXIME) is True
    assert is_resident(Famille(city=" - ", postal_code="83000"), SAINTE_MAXIME) is False


NAMES = ["Saint-Étienne-du-Rouvray", "Sainte-Anne", "L'Haÿ-les-Roses", "Œuilly", "Carrières"]


@st.composite
def spellings(draw):
    """A commune's name as a family may type it: case, accents, hyphens, apostrophes, « St »."""
    name = draw(st.sampled_from(NAMES))
    words = name.replace("-", " ").replace("'", " ").split()
    abbreviations = {"Saint": "St", "Sainte": "Ste"}
    typed = [abbreviations.get(word, word) if draw(st.booleans()) else word for word in words]
    separator = draw(st.sampled_from([" ", "-", "  ", " - "]))
    text = separator.join(typed)
    text = draw(st.sampled_from([text, text.upper(), text.lower()]))
    return name, text


@settings(max_examples=150, deadline=None)
@given(spelling=spellings(), postal_code=st.sampled_from(["76800", "76 800", "", "76000"]))
def test_a_communes_name_however_typed_is_the_commune(spelling, postal_code):
    name, typed = spelling
    commune = Commune(name=name, postal_code="76800")
    assert is_resident(Famille(city=typed, postal_code=postal_code), commune) is True
    elsewhere = Famille(city=typed, postal_code="29200")  # another département
    assert is_resident(elsewhere, commune) is False


# --- The largest amount -------------------------------------------------------------------------


def test_the_largest_amount_itself_is_accepted_and_a_cent_more_refused():
    assert D("9999999.99") == MAX_AMOUNT
    assert line_amount(1, MAX_AMOUNT) == MAX_AMOUNT
    assert line_amount(1, -MAX_AMOUNT) == -MAX_AMOUNT  # a credit line
    with pytest.raises(ValueError, match=r"unit_price is out of range: 10000000\.00"):
        line_amount(1, MAX_AMOUNT + D("0.01"))
    with pytest.raises(ValueError, match=r"line amount is out of range: 10000000\.00"):
        line_amount(2, D("5000000.00"))
    flat = make_tariff(TariffKind.FLAT, price=MAX_AMOUNT)
    assert meal(None, tariff=flat, brackets=[]).amount == MAX_AMOUNT
    assert meal(str(MAX_AMOUNT), tariff=FLAT, brackets=[]).amount == D("1.80")  # the QF too


# --- Effort rate: exactly on the bounds ----------------------------------------------------------


def test_qf_times_rate_landing_exactly_on_the_minimum_is_not_raised_to_it():
    # 722,22 × 0,36 % = 2,599992 → 2,60: the minimum itself, reached by the computation.
    result = effort("722.22")
    assert result.amount == D("2.60")
    assert result.explanation == "QF 722,22 € × 0,36 % = 2,60 €"
    assert effort("722.21").explanation == "QF 722,21 € × 0,36 % = 2,60 €"
    assert effort("722.00").explanation == (
        "QF 722 € × 0,36 % = 2,60 €"  # 2,5992 → 2,60 too
    )
    assert effort("720.00").explanation == (
        "QF 720 € × 0,36 % = 2,59 €, porté au minimum de 2,60 €"
    )


def test_qf_times_rate_landing_exactly_on_the_maximum_is_not_lowered_to_it():
    result = effort("1250.00")
    assert result.amount == D("4.50")
    assert result.explanation == "QF 1250 € × 0,36 % = 4,50 €"
    assert effort("1251.39").explanation == (
        "QF 1251,39 € × 0,36 % = 4,51 €, ramené au maximum de 4,50 €"
    )


def test_an_effort_rate_of_exactly_one_hundred_percent_and_bounds_that_meet():
    whole = make_tariff(TariffKind.EFFORT_RATE, effort_rate=D(100), maximum=D("10.00"))
    assert meal("3.00", tariff=whole, brackets=[]).amount == D("3.00")
    assert (
        meal("3.00", tariff=whole, brackets=[]).label == "taux d'effort 100 % du QF (max 10,00 €)"
    )
    fixed = make_tariff(
        TariffKind.EFFORT_RATE, effort_rate=D(1), minimum=D("3.00"), maximum=D("3.00")
    )
    for qf in ("0", "300", "5000"):
        assert meal(qf, tariff=fixed, brackets=[]).amount == D("3.00")


# --- What families read -------------------------------------------------------------------------


def test_the_non_resident_explanation():
    tariff = make_tariff(non_resident_price=D("5.90"))
    result = meal("100", tariff=tariff, resident=False)
    assert result.explanation == (
        "Famille domiciliée hors de la commune : tarif non-résident, 5,90 €"
    )
    assert result.base == D("5.90")
    assert result.discount_percent == D(0)


def test_the_effort_rate_without_qf_explanation():
    result = effort(None)
    assert result.explanation == (
        "QF non connu : prix maximum du taux d'effort 0,36 % du QF (min 2,60 €, max 4,50 €), 4,50 €"
    )
    assert result.label == "taux d'effort 0,36 % du QF (min 2,60 €, max 4,50 €)"
    assert result.base == D("4.50")


def test_the_third_child_explanation():
    result = meal("1700", tariff=SIBLINGS, rank=3)
    assert result.explanation == (
        "QF 1700 € : tranche QF de 1600 € à 1900 €, 4,15 € ; réduction 3e enfant et suivants "
        "20 % : 3,32 €"
    )
    assert result.discount_percent == D(20)
    second = meal("1700", tariff=SIBLINGS, rank=2)
    assert second.explanation == (
        "QF 1700 € : tranche QF de 1600 € à 1900 €, 4,15 € ; réduction 2e enfant 10 % : 3,74 €"
    )
    assert second.discount_percent == D(10)


def test_the_flat_tariff_label_and_explanation():
    result = meal("500", tariff=FLAT, brackets=[])
    assert (result.label, result.explanation) == ("tarif unique", "Tarif unique : 1,80 €")
    assert (result.base, result.discount_percent) == (D("1.80"), D(0))


def test_the_highest_price_among_equal_prices_is_the_highest_bracket():
    rows = [("0", "1.00"), ("500", "6.00"), ("900", "6.00")]
    result = meal(None, brackets=make_brackets(rows))
    assert result.label == "QF de 900 € et plus"
    assert result.explanation == (
        "QF non connu : prix de la tranche la plus haute (QF de 900 € et plus), 6,00 €"
    )


def test_a_price_given_without_its_cents_is_given_with_them():
    flat = make_tariff(TariffKind.FLAT, price=D("1.8"))
    assert str(meal(None, tariff=flat, brackets=[]).amount) == "1.80"
    assert str(meal("100", brackets=make_brackets([("0", "2")])).amount) == "2.00"


def test_formatting_helpers():
    assert euros(D("400")) == "400 €"
    assert euros(D("400.00")) == "400 €"
    assert euros(D("699.99")) == "699,99 €"
    assert euros(D("699.90")) == "699,90 €"
    assert percent(D("100")) == "100 %"
    assert percent(D("12.5000")) == "12,5 %"
    assert percent(D("0.36")) == "0,36 %"


def test_a_percent_penalty_explanation_of_a_whole_hundred():
    credit = rule(PenaltyKind.ABSENCE_JUSTIFIEE, percent=D("100.0000"))
    assert penalty_explanation(credit, D("4.15")) == "Absence justifiée déduite : 100 % de 4,15 €"
    assert penalty_amount(credit, D("4.15")) == D("-4.15")
    free = rule(PenaltyKind.RETARD_SOIR, amount=D("0.00"))
    assert penalty_explanation(free, D("2.10")) == "Retard le soir : 0,00 €"


def test_a_discount_of_one_hundred_percent_makes_the_unit_free():
    tariff = make_tariff(TariffKind.FLAT, price=D("2.50"), third_child_discount=D(100))
    assert meal(None, tariff=tariff, brackets=[], rank=3).amount == D("0.00")
    assert sibling_discount(tariff, 1) == D(0)
    assert sibling_discount(tariff, 2) == D(0)
    assert sibling_discount(tariff, 3) == D(100)


# --- Refusals, with their message ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("qf", "message"),
    [
        (D("-0.01"), r"qf must not be negative: -0\.01"),
        (D("NaN"), r"qf must be a finite Decimal, not Decimal\('NaN'\)"),
        (400.0, r"qf must be a finite Decimal, not 400\.0"),
        (D("400.005"), r"a QF is in cents: 400\.005"),
        (D("10000000"), r"qf is out of range: 10000000"),
    ],
)
def test_refused_qfs_say_why(qf, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        unit_price(tariff=MEAL, brackets=make_brackets(), qf=qf, resident=True, sibling_rank=1)


def test_refused_ranks_and_residence_say_why():
    with pytest.raises(ValueError, match=r"^sibling_rank counts from 1: 0$"):
        meal("500", rank=0)
    with pytest.raises(ValueError, match=r"^sibling_rank counts from 1: True$"):
        meal("500", rank=True)
    with pytest.raises(ValueError, match=r"^resident is True or False, not 'non'$"):
        meal("500", resident="non")
    with pytest.raises(ValueError, match=r"^resident is True or False, not None$"):
        meal("500", resident=None)


@pytest.mark.parametrize(
    ("tariff", "rows", "message"),
    [
        (make_tariff(TariffKind.FLAT), [], r"tariff\.price must be a finite Decimal, not None"),
        (make_tariff(TariffKind.FLAT, price=D("1.805")), [], r"tariff\.price is in cents: 1\.805"),
        (
            make_tariff(TariffKind.FLAT, price=D("-1.00")),
            [],
            r"tariff\.price must not be negative: -1\.00",
        ),
        (FLAT, [("0", "1.00")], r"only a tariff by QF bracket has brackets"),
        (EFFORT, [("0", "1.00")], r"only a tariff by QF bracket has brackets"),
        (MEAL, [], r"a tariff by QF bracket needs brackets"),
        (MEAL, [("400", "1.00")], r"the first bracket starts at 0"),
        (MEAL, [("0", "1.00"), ("0", "2.00")], r"two brackets start at the same QF"),
        (MEAL, [("0", "-1.00")], r"bracket\.price must not be negative: -1\.00"),
        (MEAL, [("0", "1.00"), ("400.005", "2.00")], r"bracket\.qf_min is in cents: 400\.005"),
        (
            make_tariff(TariffKind.EFFORT_RATE, effort_rate=D("0.36")),
            [],
            r"tariff\.maximum must be a finite Decimal, not None",
        ),
        (
            make_tariff(TariffKind.EFFORT_RATE, maximum=D("4.50")),
            [],
            r"tariff\.effort_rate must be a finite Decimal, not None",
        ),
        (
            make_tariff(TariffKind.EFFORT_RATE, effort_rate=D(0), maximum=D("4.50")),
            [],
            r"an effort rate is a percent: 0",
        ),
        (
            make_tariff(TariffKind.EFFORT_RATE, effort_rate=D("100.01"), maximum=D("4.50")),
            [],
            r"an effort rate is a percent: 100\.01",
        ),
        (
            make_tariff(
                TariffKind.EFFORT_RATE, effort_rate=D(1), minimum=D("4.51"), maximum=D("4.50")
            ),
            [],
            r"minimum above maximum",
        ),
        (
            make_tariff(
                TariffKind.EFFORT_RATE, effort_rate=D(1), minimum=D("-1.00"), maximum=D("4.50")
            ),
            [],
            r"tariff\.minimum must not be negative: -1\.00",
        ),
        (make_tariff("forfait", price=D(1)), [], r"unknown tariff kind: 'forfait'"),
        (
            make_tariff(TariffKind.FLAT, price=D(1), non_resident_price=D("5.905")),
            [],
            r"non_resident_price is in cents: 5\.905",
        ),
        (
            make_tariff(TariffKind.FLAT, price=D(1), second_child_discount=D("100.01")),
            [],
            r"a discount is a percent: 100\.01",
        ),
        (
            make_tariff(TariffKind.FLAT, price=D(1), second_child_discount=None),
            [],
            r"sibling discount must be a finite Decimal, not None",
        ),
    ],
)
def test_refused_tariffs_say_why(tariff, rows, message):
    rank = 2 if "discount" in message else 1
    with pytest.raises(ValueError, match=f"^{message}$"):
        unit_price(
            tariff=tariff, brackets=make_brackets(rows), qf=D(500), resident=True, sibling_rank=rank
        )


def test_the_third_childs_discount_is_checked_from_the_third_child():
    tariff = make_tariff(TariffKind.FLAT, price=D(1), third_child_discount=D(101))
    assert meal(None, tariff=tariff, brackets=[], rank=2).amount == D("1.00")
    with pytest.raises(ValueError, match=r"^a discount is a percent: 101$"):
        meal(None, tariff=tariff, brackets=[], rank=3)


def test_two_rows_from_the_same_day_say_why():
    day = date(2026, 9, 1)
    rows = [make_tariff(valid_from=day), make_tariff(valid_from=day)]
    assert tariff_in_force(rows, date(2026, 8, 31)) is None  # not in force yet: not compared
    with pytest.raises(ValueError, match=r"^two rows in force from the same day$"):
        tariff_in_force(rows, day)


def test_sorted_brackets_checks_every_bracket():
    brackets = [TariffBracket(qf_min=D("0"), price=D("1.00"))]
    assert sorted_brackets(brackets) == brackets
    with pytest.raises(ValueError, match=r"^bracket\.price is in cents: 1\.005$"):
        sorted_brackets([*brackets, TariffBracket(qf_min=D("100"), price=D("1.005"))])


@pytest.mark.parametrize(
    ("quantity", "price", "message"),
    [
        (-1, D("4.15"), r"quantity is a whole number, 0 or more: -1"),
        (True, D("4.15"), r"quantity is a whole number, 0 or more: True"),
        (1.5, D("4.15"), r"quantity is a whole number, 0 or more: 1\.5"),
        (2, 4.15, r"unit_price must be a finite Decimal, not 4\.15"),
        (2, D("Infinity"), r"unit_price must be a finite Decimal, not Decimal\('Infinity'\)"),
    ],
)
def test_refused_lines_say_why(quantity, price, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        line_amount(quantity, price)


def test_refused_penalties_say_why():
    both = rule(PenaltyKind.RETARD_SOIR, amount=D(3), percent=D(50))
    neither = rule(PenaltyKind.RETARD_SOIR)
    for bad in (both, neither):
        with pytest.raises(
            ValueError, match=r"^a rule has a fixed amount or a percent, exactly one$"
        ):
            penalty_amount(bad, D(1))
    fine = rule(PenaltyKind.RETARD_SOIR, amount=D(3))
    with pytest.raises(ValueError, match=r"^unit_price must not be negative: -1$"):
        penalty_amount(fine, D("-1"))
    with pytest.raises(ValueError, match=r"^rule\.amount is in cents: 3\.001$"):
        penalty_amount(rule(PenaltyKind.RETARD_SOIR, amount=D("3.001")), D(1))
    with pytest.raises(ValueError, match=r"^rule\.percent must not be negative: -5$"):
        penalty_amount(rule(PenaltyKind.RETARD_SOIR, percent=D(-5)), D(1))


def test_a_percent_penalty_on_a_free_unit_is_nothing():
    assert penalty_amount(rule(PenaltyKind.RETARD_SOIR, percent=D(50)), D(0)) == D("0.00")


def test_only_a_credit_is_negative():
    assert penalty_amount(rule(PenaltyKind.ABSENCE_NON_JUSTIFIEE, amount=D(1)), D(2)) == D(1)
