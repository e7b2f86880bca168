"""Billing's hook for SEPA direct debit (issue 19 §1), which payments implements: billing sits
below payments, so it asks through these registries what only payments knows — the day each
invoice will be debited (« prélevé le … », and no « Payer » for it), and the « Prélèvement
automatique » panel of « Mon compte ». Registered by payments' AppConfig.ready(); without it,
no invoice is debited and there is no panel."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

_debit_dates: list[Callable] = []
_panels: list[Callable] = []


def register_debit_dates(fn: Callable) -> None:
    """fn(invoices) -> {invoice pk: day it is (or will be) debited} for those of `invoices`
    that a direct debit pays; a constant number of queries whatever their number."""
    if fn not in _debit_dates:
        _debit_dates.append(fn)


def register_compte_panel(fn: Callable) -> None:
    """fn(*, families, commune) -> {"template": …, **context} or None: the panel « Mon
    compte » shows about direct debit."""
    if fn not in _panels:
        _panels.append(fn)


def debit_dates(invoices: Iterable) -> dict[int, date]:
    invoices = list(invoices)
    found: dict[int, date] = {}
    if not invoices:
        return found
    for fn in _debit_dates:
        found.update(fn(invoices))
    return found


def compte_panel(*, families, commune) -> dict | None:
    for fn in _panels:
        panel = fn(families=families, commune=commune)
        if panel is not None:
            return panel
    return None
