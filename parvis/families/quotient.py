"""The family quotient (QF), computed exactly: QF = (revenu fiscal de référence / 12 + monthly
family benefits) / number of parts, rounded once to the cent (ROUND_HALF_UP).

The number of parts follows the commune's rules, stored as data (Commune.qf_parts_rules):

    {"couple": "2", "single": "1", "single_parent_bonus": "0.5",
     "children": ["0.5", "0.5", "1"]}

`children` gives the part of the 1st, 2nd, 3rd… child; the last value repeats for the next ones
(the CAF's rule above: 0.5, 0.5, then 1 from the third child). Amounts are strings in JSON so no
float ever enters a computation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from parvis.money import CENT


def number_of_parts(rules: dict, *, couple: bool, children: int) -> Decimal:
    """The parts of a household: the adults', the single parent's bonus (with at least one
    child), and each child's part."""
    if children < 0:
        raise ValueError("children")
    parts = Decimal(rules["couple"] if couple else rules["single"])
    if not couple and children > 0:
        parts += Decimal(rules["single_parent_bonus"])
    scale = [Decimal(part) for part in rules["children"]]
    for n in range(children):
        parts += scale[min(n, len(scale) - 1)]
    return parts


def compute_qf(
    *, annual_taxable_income: Decimal, monthly_benefits: Decimal, parts: Decimal
) -> Decimal:
    """QF to the cent, rounded once at the end (never in between)."""
    if parts <= 0:
        raise ValueError("parts")
    monthly = Decimal(annual_taxable_income) / 12 + Decimal(monthly_benefits)
    return (monthly / Decimal(parts)).quantize(CENT, rounding=ROUND_HALF_UP)
