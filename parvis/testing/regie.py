"""Builders shared by the régie's tests, billing's and payments' (no test here): a régie, invoices
made through billing.services.create_invoice, agents by role (a régie agent by default)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from parvis.accounts.models import AgentRole
from parvis.billing.models import InvoiceKind, LineKind, Regie
from parvis.billing.services import LineData, create_invoice
from parvis.families.tests.factories import AgentFactory

ISSUED = date(2026, 10, 1)
DUE = date(2026, 10, 15)


def make_regie(commune, *, code="ENF", name="Régie enfance") -> Regie:
    return Regie.objects.create(
        commune=commune,
        name=name,
        code=code,
        payee=f"{name} de {commune.name}",
        address="1, place de la Mairie\n78000 Villebois",
        phone="01 23 45 67 89",
    )


def line(amount, *, label="Accueil du soir", quantity=1, child=None, childcare=False,
         kind=LineKind.PRESTATION, price_label="") -> LineData:  # fmt: skip
    amount = D(amount)
    return LineData(
        kind=kind,
        price_label=price_label,
        label=label,
        quantity=quantity,
        unit_price=amount / quantity,
        amount=amount,
        child_id=child.pk if child else None,
        child_name=str(child) if child else "",
        childcare=childcare,
    )


def make_invoice(
    regie,
    famille,
    total="45.10",
    *,
    lines=None,
    label="Périscolaire — septembre 2026",
    issued_on=ISSUED,
    due_on=DUE,
    period_start=date(2026, 9, 1),
    period_end=date(2026, 9, 30),
    actor=None,
):
    return create_invoice(
        regie=regie,
        famille=famille,
        kind=InvoiceKind.UNIQUE,
        label=label,
        period_start=period_start,
        period_end=period_end,
        lines=lines or [line(total)],
        issued_on=issued_on,
        due_on=due_on,
        actor=actor,
    )


def make_agent(commune, *roles):
    return AgentFactory(commune=commune, roles=list(roles) or [AgentRole.Role.REGIE])
