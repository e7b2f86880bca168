"""Prices, exactly: pure functions over the tariff rows (no query, Decimal only, never float).

A unit price is made in three steps, each rounded once to the cent (ROUND_HALF_UP):

1. the base price — the flat price; or the price of the bracket the QF falls in (a QF equal to
   a bracket's lower bound is in that bracket); or QF × effort rate / 100, rounded, then held
   within [minimum, maximum]. Without a QF (unknown or expired) the highest price: the highest
   bracket's, or the effort rate's maximum;
2. a family living outside the commune pays the tariff's non-resident price instead, if it has
   one (whatever its QF);
3. the sibling discount of the child's rank (2nd; 3rd and following) comes off that price.

A line is quantity × unit price, rounded once (17 × 4,15 = 70,55). A penalty is a fixed amount or
a percent of the unit price, rounded; a credit (« absence justifiée déduite ») is negative.

Inputs outside their domain (a negative or non-cent QF, a float, a rank of 0, a tariff without
its price) raise ValueError: a price is never guessed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from parvis.billing.models import CREDIT_KINDS, TariffKind
from parvis.money import CENT
from parvis.text import fold

HUNDRED = Decimal(100)
# The largest amount a money column holds (max_digits=9, decimal_places=2).
MAX_AMOUNT = Decimal("9999999.99")

Dated = TypeVar("Dated")


@dataclass(frozen=True)
class Price:
    """A unit price and where it comes from, in words for an invoice line."""

    amount: Decimal
    label: str  # the bracket or rule: « QF de 400 € à 699,99 € », « tarif unique »…
    explanation: str  # the whole reasoning, one sentence
    base: Decimal  # before the sibling discount
    discount_percent: Decimal  # of the sibling discount applied, 0 when none


# --- Formatting --------------------------------------------------------------------------------


def euros(amount: Decimal) -> str:
    """« 400 € », « 699,99 € » in the active language's decimal mark; cents only when there
    are some (bounds read better whole)."""
    places = 0 if amount == amount.to_integral_value() else 2
    return f"{number_format(amount, decimal_pos=places, use_l10n=True)} €"


def money(amount: Decimal) -> str:
    """An amount always with its cents: « 4,90 € »."""
    return f"{number_format(amount, decimal_pos=2, use_l10n=True)} €"


def percent(rate: Decimal) -> str:
    """« 0,36 % », « 50 % »: the rate's significant digits."""
    text = format(rate.normalize(), "f")
    return f"{number_format(Decimal(text), use_l10n=True)} %"


# --- Choosing the rows in force ----------------------------------------------------------------


def _latest(rows: Iterable[Dated], day: date) -> Dated | None:
    best = None
    for row in rows:
        if row.valid_from > day:
            continue
        if best is not None and row.valid_from == best.valid_from:
            raise ValueError("two rows in force from the same day")
        if best is None or row.valid_from > best.valid_from:
            best = row
    return best


def tariff_in_force(tariffs: Iterable[Dated], day: date) -> Dated | None:
    """The tariff of `day` among one unit's tariffs: the latest `valid_from` not after it.
    None before the first one (the caller says the unit has no price yet)."""
    return _latest(tariffs, day)


def penalty_rule_in_force(rules: Iterable, *, kind: str, activity_id: int, day: date):
    """The rule of `kind` for an activity on `day`: the activity's own, else the commune's
    rule for all activities; None when neither exists."""
    rules = [rule for rule in rules if rule.kind == kind]
    own = _latest((r for r in rules if r.activity_id == activity_id), day)
    return own or _latest((r for r in rules if r.activity_id is None), day)


# --- Checking inputs ---------------------------------------------------------------------------


def _amount(value, what: str, *, allow_none: bool = False, allow_negative: bool = False):
    if value is None and allow_none:
        return None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{what} must be a finite Decimal, not {value!r}")
    if value < 0 and not allow_negative:
        raise ValueError(f"{what} must not be negative: {value}")
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"{what} is out of range: {value}")
    return value


def _price(value, what: str, *, allow_none: bool = False) -> Decimal | None:
    """A price of the tariff data: in cents (as the columns hold them), given with its two
    decimals so every result has exactly two."""
    value = _amount(value, what, allow_none=allow_none)
    if value is None:
        return None
    if value != value.quantize(CENT):
        raise ValueError(f"{what} is in cents: {value}")
    return value.quantize(CENT)


def _qf(qf) -> Decimal | None:
    qf = _amount(qf, "qf", allow_none=True)
    if qf is not None and qf != qf.quantize(CENT):
        raise ValueError(f"a QF is in cents: {qf}")
    return qf


def _rank(sibling_rank) -> int:
    if not isinstance(sibling_rank, int) or isinstance(sibling_rank, bool) or sibling_rank < 1:
        raise ValueError(f"sibling_rank counts from 1: {sibling_rank!r}")
    return sibling_rank


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- The three steps of a unit price -----------------------------------------------------------


def _flat(tariff) -> tuple[Decimal, str, str]:
    price = _price(tariff.price, "tariff.price")
    label = _("tarif unique")
    return price, label, _("Tarif unique : %(price)s") % {"price": money(price)}


def bracket_label(lower: Decimal, upper: Decimal | None) -> str:
    """« QF de 400 € à 699,99 € » (the next bracket's lower bound less a cent: QFs are in
    cents), « QF de 1900,01 € et plus » for the last one."""
    if upper is None:
        return _("QF de %(lower)s et plus") % {"lower": euros(lower)}
    return _("QF de %(lower)s à %(upper)s") % {
        "lower": euros(lower),
        "upper": euros(upper - CENT),
    }


def sorted_brackets(brackets: Iterable) -> list:
    """The brackets by rising lower bound, checked: at least one, the first from 0 €, no two
    from the same QF, no negative price."""
    ordered = sorted(brackets, key=lambda b: b.qf_min)
    if not ordered:
        raise ValueError("a tariff by QF bracket needs brackets")
    if ordered[0].qf_min != 0:
        raise ValueError("the first bracket starts at 0")
    for bracket in ordered:
        _price(bracket.qf_min, "bracket.qf_min")
        _price(bracket.price, "bracket.price")
    if len({b.qf_min for b in ordered}) != len(ordered):
        raise ValueError("two brackets start at the same QF")
    return ordered


def _bracketed(brackets: Sequence, qf: Decimal | None) -> tuple[Decimal, str, str]:
    ordered = sorted_brackets(brackets)
    uppers = [b.qf_min for b in ordered[1:]] + [None]
    if qf is None:
        # The highest price (the last bracket's when prices rise with the QF, as they do).
        index = max(range(len(ordered)), key=lambda i: (ordered[i].price, ordered[i].qf_min))
    else:
        index = max(i for i, b in enumerate(ordered) if b.qf_min <= qf)
    chosen = ordered[index]
    label = bracket_label(chosen.qf_min, uppers[index])
    values = {"qf": euros(qf) if qf is not None else "", "bracket": label}
    values["price"] = money(chosen.price)
    if qf is None:
        explanation = _("QF non connu : prix de la tranche la plus haute (%(bracket)s), %(price)s")
    else:
        explanation = _("QF %(qf)s : tranche %(bracket)s, %(price)s")
    return _price(chosen.price, "bracket.price"), label, explanation % values


def effort_rate_label(tariff) -> str:
    values = {"rate": percent(tariff.effort_rate), "max": money(tariff.maximum)}
    if tariff.minimum is None:
        return _("taux d'effort %(rate)s du QF (max %(max)s)") % values
    values["min"] = money(tariff.minimum)
    return _("taux d'effort %(rate)s du QF (min %(min)s, max %(max)s)") % values


def _effort(tariff, qf: Decimal | None) -> tuple[Decimal, str, str]:
    rate = _amount(tariff.effort_rate, "tariff.effort_rate")
    if rate == 0 or rate > HUNDRED:
        raise ValueError(f"an effort rate is a percent: {rate}")
    maximum = _price(tariff.maximum, "tariff.maximum")
    minimum = _price(tariff.minimum, "tariff.minimum", allow_none=True)
    if minimum is not None and minimum > maximum:
        raise ValueError("minimum above maximum")
    label = effort_rate_label(tariff)
    if qf is None:
        explanation = _("QF non connu : prix maximum du %(label)s, %(price)s")
        return maximum, label, explanation % {"label": label, "price": money(maximum)}
    computed = _round(qf * rate / HUNDRED)
    values = {
        "qf": euros(qf), "rate": percent(rate), "computed": money(computed),
        "min": money(minimum or 0), "max": money(maximum),
    }  # fmt: skip
    explanation = _("QF %(qf)s × %(rate)s = %(computed)s") % values
    price = computed
    if minimum is not None and computed < minimum:
        price = minimum
        explanation += _(", porté au minimum de %(min)s") % values
    elif computed > maximum:
        price = maximum
        explanation += _(", ramené au maximum de %(max)s") % values
    return price, label, explanation


def sibling_discount(tariff, sibling_rank: int) -> Decimal:
    """The percent off for the child of `sibling_rank` (1 for the first: none)."""
    if _rank(sibling_rank) == 1:
        return Decimal(0)
    discount = tariff.second_child_discount if sibling_rank == 2 else tariff.third_child_discount
    discount = _amount(discount, "sibling discount")
    if discount > HUNDRED:
        raise ValueError(f"a discount is a percent: {discount}")
    return discount


def unit_price(
    *, tariff, brackets: Iterable, qf: Decimal | None, resident: bool, sibling_rank: int
) -> Price:
    """The price of one unit (a meal, a morning) for a child, with its explanation."""
    qf = _qf(qf)
    if not isinstance(resident, bool):
        raise ValueError(f"resident is True or False, not {resident!r}")
    discount = sibling_discount(tariff, sibling_rank)
    brackets = list(brackets)
    if tariff.kind != TariffKind.QF_BRACKETS and brackets:
        raise ValueError("only a tariff by QF bracket has brackets")
    if tariff.kind == TariffKind.FLAT:
        base, label, explanation = _flat(tariff)
    elif tariff.kind == TariffKind.QF_BRACKETS:
        base, label, explanation = _bracketed(brackets, qf)
    elif tariff.kind == TariffKind.EFFORT_RATE:
        base, label, explanation = _effort(tariff, qf)
    else:
        raise ValueError(f"unknown tariff kind: {tariff.kind!r}")

    non_resident = _price(tariff.non_resident_price, "non_resident_price", allow_none=True)
    if not resident and non_resident is not None:
        base, label = non_resident, _("tarif non-résident")
        explanation = _("Famille domiciliée hors de la commune : tarif non-résident, %(price)s") % {
            "price": money(base)
        }

    amount = base
    if discount:
        amount = _round(base * (HUNDRED - discount) / HUNDRED)
        values = {"rate": percent(discount), "price": money(amount)}
        if sibling_rank == 2:
            explanation += _(" ; réduction 2e enfant %(rate)s : %(price)s") % values
        else:
            explanation += _(" ; réduction 3e enfant et suivants %(rate)s : %(price)s") % values
    return Price(
        amount=amount, label=label, explanation=explanation, base=base, discount_percent=discount
    )


# --- Lines and penalties -----------------------------------------------------------------------


def line_amount(quantity: int, unit_price: Decimal) -> Decimal:
    """quantity × unit price, rounded once to the cent: exact, 17 × 4,15 = 70,55. A credit line
    has a negative unit price."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise ValueError(f"quantity is a whole number, 0 or more: {quantity!r}")
    _amount(unit_price, "unit_price", allow_negative=True)
    return _amount(_round(quantity * unit_price), "line amount", allow_negative=True)


def penalty_amount(rule, unit_price: Decimal) -> Decimal:
    """What `rule` adds for one occurrence: its fixed amount, or its percent of the unit price
    (+50 % of 4,15 € = 2,08 €), rounded to the cent. Negative for a credit (« absence justifiée
    déduite »), so an invoice sums its lines."""
    _amount(unit_price, "unit_price")
    fixed = _price(rule.amount, "rule.amount", allow_none=True)
    rate = _amount(rule.percent, "rule.percent", allow_none=True)
    if (fixed is None) == (rate is None):
        raise ValueError("a rule has a fixed amount or a percent, exactly one")
    amount = fixed if fixed is not None else _round(unit_price * rate / HUNDRED)
    return -amount if rule.kind in CREDIT_KINDS else amount


def penalty_explanation(rule, unit_price: Decimal) -> str:
    """« Présence sans réservation : 50 % de 4,15 € », « Retard le soir : 3,00 € »."""
    if rule.amount is not None:
        how = money(rule.amount)
    else:
        how = _("%(rate)s de %(price)s") % {
            "rate": percent(rule.percent),
            "price": money(unit_price),
        }
    return f"{rule.get_kind_display()} : {how}"


# --- Residence ---------------------------------------------------------------------------------


def _place(name: str) -> str:
    """A place name compared loosely: no accents, case, hyphens nor apostrophes, « St » and
    « Ste » spelt out (« CARRIERES SOUS POISSY » is « Carrières-sous-Poissy », « VOEUIL ET
    GIGET » is « Vœuil-et-Giget »): the families' `fold`, then words."""
    words = "".join(c if c.isalnum() else " " for c in fold(name)).split()
    spelt = {"st": "saint", "ste": "sainte"}
    return " ".join(spelt.get(word, word) for word in words)


def _postal(code: str) -> str:
    return "".join(c for c in code or "" if c.isdigit())[:5]


def _department(postal_code: str) -> str:
    # Overseas postal codes (97x, 98x) name their department with three digits.
    return postal_code[:3] if postal_code[:2] in {"97", "98"} else postal_code[:2]


def is_resident(famille, commune) -> bool:
    """Whether the family lives in the commune, from the address its file holds.

    The city decides: a commune may have several postal codes (Paris, Marseille) and a postal
    code may serve several communes, so the city's name is compared with the commune's (loosely,
    see `_place`), and the postal code only has to be in the same département (a homonym
    elsewhere is not the commune). Without a city, an identical postal code is all there is.
    Without either, the family is not known to live here and pays as a non-resident, as a family
    without a known QF pays the highest price: completing the file lowers the bill."""
    postal = _postal(famille.postal_code)
    commune_postal = _postal(commune.postal_code)
    if _place(famille.city):
        same_place = _place(famille.city) == _place(commune.name)
        return same_place and (not postal or _department(postal) == _department(commune_postal))
    return bool(postal) and postal == commune_postal
