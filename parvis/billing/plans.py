"""Payment plans' arithmetic and bookkeeping (issue 19 §3), below billing's services: the split
of an amount into instalments to the cent, their monthly dates, and `follow`, which keeps the
instalments of the plans in step with the money their invoices received.

A plan does not receive payments itself: every payment goes to invoices through
`billing.services.record_payment`, whatever its way (online, at the counter, by direct debit).
What a plan has received is what its invoices had due when it was granted minus what they have
due now; the instalments are covered by it in their order. So a payment of any kind, a
cancelled payment, or a payment of the whole invoice moves the instalments the same way, and
`record_payment` / `cancel_payment` call `follow_invoices` in their transaction."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.billing.models import (
    INSTALMENT_TRANSITIONS,
    PLAN_TRANSITIONS,
    Instalment,
    InstalmentStatus,
    PaymentAllocation,
    PaymentPlan,
    PaymentStatus,
    PlanChange,
    PlanInvoice,
    PlanStatus,
)
from parvis.money import CENT, ZERO

MAX_INSTALMENTS = 24


def split(total: Decimal, count: int) -> list[Decimal]:
    """`total` in `count` instalments to the cent: equal ones rounded down, the last absorbing
    the rounding (so it is the largest, by less than `count` cents). Every amount is more than
    0 €: `total` must be at least `count` cents."""
    if count < 1:
        raise ValueError("at least one instalment")
    total = Decimal(total).quantize(CENT)
    if total < CENT * count:
        raise ValueError("less than one cent per instalment")
    base = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [base] * (count - 1) + [total - base * (count - 1)]


def add_months(day: date, months: int) -> date:
    """The same day `months` later, the month's last day when it has no such day (31 → 30)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def monthly_dates(first: date, count: int) -> list[date]:
    return [add_months(first, n) for n in range(count)]


def check_schedule(*, total: Decimal, schedule: list[tuple[date, Decimal]]) -> dict[str, str]:
    """What is wrong with instalments [(date, amount)] for a plan of `total`, by field as the
    forms name them (`montant_<n>`, `date_<n>`, n from 1; `__all__` for the sum): an amount of
    0 € or less or not to the cent, a date not after the previous one, a sum other than
    `total`. Empty when the schedule is right."""
    errors: dict[str, str] = {}
    previous = None
    for number, (day, amount) in enumerate(schedule, start=1):
        if amount != amount.quantize(CENT):
            errors[f"montant_{number}"] = _(
                "Au plus deux chiffres après la virgule (les centimes)."
            )
        elif amount <= 0:
            errors[f"montant_{number}"] = _("Le montant d'une échéance est supérieur à 0 €.")
        if previous is not None and day <= previous:
            errors[f"date_{number}"] = _(
                "Chaque échéance vient après la précédente (le %(day)s)."
            ) % {"day": previous.strftime("%d/%m/%Y")}
        previous = day
    if not errors:
        given = sum((amount for _day, amount in schedule), ZERO)
        if given != total:
            errors["__all__"] = _(
                "Les échéances font %(given)s au lieu de %(total)s : leur somme doit être "
                "exactement ce qui reste dû (%(difference)s d'écart)."
            ) % {
                "given": _euros(given),
                "total": _euros(total),
                "difference": _euros(abs(given - total)),
            }
    return errors


def _euros(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",") + " €"


# --- Status moves -------------------------------------------------------------------------------


def move_plan(plan: PaymentPlan, to: str, *, actor: User | None, reason: str = "") -> None:
    """Moves a locked plan along PLAN_TRANSITIONS with its history row; its invoices are held
    (out of the invoices' reminders, in no other plan) exactly while it is « en cours »."""
    if to == plan.status:
        return
    if to not in PLAN_TRANSITIONS[plan.status]:
        raise ValidationError(
            _("Un échéancier « %(from)s » ne peut pas passer à « %(to)s ».")
            % {"from": PlanStatus(plan.status).label, "to": PlanStatus(to).label}
        )
    PlanChange.objects.create(
        plan=plan,
        from_status=plan.status,
        to_status=to,
        actor=actor if actor is not None and actor.pk else None,
        reason=reason[:300],
    )
    plan.status = to
    PlanInvoice.objects.filter(plan=plan).update(held=to == PlanStatus.ACTIF)


def move_instalment(instalment: Instalment, to: str, *, actor: User | None) -> None:
    if to == instalment.status:
        return
    if to not in INSTALMENT_TRANSITIONS[instalment.status]:
        raise ValidationError(
            _("Une échéance « %(from)s » ne peut pas passer à « %(to)s ».")
            % {"from": InstalmentStatus(instalment.status).label, "to": InstalmentStatus(to).label}
        )
    PlanChange.objects.create(
        plan_id=instalment.plan_id,
        instalment=instalment,
        from_status=instalment.status,
        to_status=to,
        actor=actor if actor is not None and actor.pk else None,
    )
    instalment.status = to


def instalment_status(instalment: Instalment, *, today: date) -> str:
    if instalment.paid >= instalment.amount:
        return InstalmentStatus.PAYEE
    if instalment.due_on < today:
        return InstalmentStatus.EN_RETARD
    return InstalmentStatus.A_PAYER


# --- Following the payments ---------------------------------------------------------------------


def received(plan: PaymentPlan, links: list[PlanInvoice]) -> Decimal:
    """What a plan's invoices have received since it was granted: for each invoice, the shares
    of the valid payments recorded since then, up to what it had due then. (A payment made
    before the plan and cancelled later makes the invoice owe more than the plan, not the plan
    owe less.)"""
    shares = dict(
        PaymentAllocation.objects.filter(
            invoice_id__in=[link.invoice_id for link in links],
            payment__status=PaymentStatus.VALIDE,
            payment__recorded_at__gte=plan.granted_at,
        )
        .values("invoice_id")
        .annotate(amount=Sum("amount"))
        .values_list("invoice_id", "amount")
    )
    return sum((min(shares.get(link.invoice_id, ZERO), link.amount) for link in links), ZERO)


def follow(plan: PaymentPlan, *, actor: User | None, today: date | None = None) -> None:
    """Brings a locked plan (« en cours » or « soldé ») in step with its invoices: each
    instalment's `paid` and status in order, and the plan soldé when all are paid (or en cours
    again when a cancelled payment took one back). Audited when the plan's status changes."""
    if plan.status not in (PlanStatus.ACTIF, PlanStatus.SOLDE):
        return
    today = today or timezone.localdate()
    left = received(plan, list(plan.links.all()))
    instalments = list(plan.instalments.order_by("position"))
    changed = []
    for instalment in instalments:
        paid = min(left, instalment.amount)
        left -= paid
        status_before, paid_before = instalment.status, instalment.paid
        instalment.paid = paid
        move_instalment(instalment, instalment_status(instalment, today=today), actor=actor)
        if (instalment.status, instalment.paid) != (status_before, paid_before):
            changed.append(instalment)
    if changed:
        Instalment.objects.bulk_update(changed, ["paid", "status"])
    settled = all(i.status == InstalmentStatus.PAYEE for i in instalments)
    before = plan.status
    to = PlanStatus.SOLDE if settled else PlanStatus.ACTIF
    if to != before:
        move_plan(plan, to, actor=actor)
        plan.ended_at = timezone.now() if to == PlanStatus.SOLDE else None
        plan.save(update_fields=["status", "ended_at"])
        audit(
            actor=actor,
            action="echeancier.solde" if to == PlanStatus.SOLDE else "echeancier.repris",
            commune=plan.commune,
            target=plan,
            famille_id=plan.famille_id,
            changes={"status": [before, to]},
        )


def follow_invoices(*, invoice_ids: Iterable[int], actor: User | None) -> None:
    """After money came to (or was taken back from) `invoice_ids`, inside the payment's
    transaction: the plans en cours or soldés that hold them follow. The plans are locked in pk
    order (after the invoices, as every payment locks them)."""
    ids = list(invoice_ids)
    plan_ids = PlanInvoice.objects.filter(
        invoice_id__in=ids, plan__status__in=(PlanStatus.ACTIF, PlanStatus.SOLDE)
    ).values("plan_id")
    plans = (
        PaymentPlan.objects.select_for_update(of=("self",))
        .filter(pk__in=plan_ids)
        .select_related("commune")
        .order_by("pk")
    )
    for plan in plans:
        follow(plan, actor=actor)
