"""The price of a reservation basket, asked before « Valider » (PRODUCT.md « beyond every peer »
#3: the month's amount at the family's QF, and any surcharge the change would cause).

Activities never import billing (billing is built on activities): billing registers its pricer
here from its AppConfig.ready(), as activities registers its closing hook with démarches. Without
a pricer (a deployment without billing, or a test that removes it), `basket_price` is None and
the basket shows no preview.

A pricer is called as `pricer(famille=, commune=, changes=, now=)` with the basket's changes of
one family and returns what the basket page prints (an object with `__html__`), or None when it
has nothing to say (no tariff for any of these units)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

_PRICER: list[Callable] = []  # at most one: the last registered


@dataclass(frozen=True)
class BasketChange:
    """One day of the basket: `added` (« Jours ajoutés ») or not (« Jours annulés »); `full`
    when the added day has no seat left and would go to the waiting list (not billed then)."""

    child: object  # families.Personne, with its famille loaded
    unit: object  # activities.Unit
    day: date
    added: bool
    full: bool = False


def changes_of(*, add: Iterable, remove: Iterable, child=None) -> list[BasketChange]:
    """The BasketChanges of basket cells: the one-child calendar's cells (their `child` given)
    or the household grid's (each carries its child)."""
    changes = []
    for cells, added in ((add, True), (remove, False)):
        for cell in cells:
            changes.append(
                BasketChange(
                    child=child if child is not None else cell.child,
                    unit=cell.unit,
                    day=cell.day,
                    added=added,
                    full=added and bool(cell.note),
                )
            )
    return changes


def register_basket_pricer(pricer: Callable) -> None:
    """`pricer` prices the baskets from now on (ready() may run more than once: idempotent)."""
    _PRICER[:] = [pricer]


def unregister_basket_pricer() -> None:
    _PRICER.clear()


def basket_price(*, famille, commune, changes: list[BasketChange], now: datetime):
    """What the registered pricer says of one family's `changes`, or None (no pricer, no
    change, or nothing to say)."""
    if not _PRICER or not changes:
        return None
    return _PRICER[0](famille=famille, commune=commune, changes=changes, now=now)


def basket_prices(*, commune, changes: list[BasketChange], now: datetime) -> list:
    """The previews of a basket that may hold the children of several families (an account
    linked to two households): one per family, in the basket's order; empty without a pricer.
    A child in shared custody (families.SharedCustody) has none: its days are split between two
    households, each at its own QF, and a preview would give one parent the other's prices.
    (The pages load the children with their `custody`: no query here.)"""
    by_family: dict[int, list[BasketChange]] = {}
    families = {}
    for change in changes:
        if getattr(change.child, "custody", None) is not None:
            continue
        famille = change.child.famille
        families.setdefault(famille.pk, famille)
        by_family.setdefault(famille.pk, []).append(change)
    previews = []
    for famille_id, family_changes in by_family.items():
        preview = basket_price(
            famille=families[famille_id], commune=commune, changes=family_changes, now=now
        )
        if preview is not None:
            previews.append(preview)
    return previews
