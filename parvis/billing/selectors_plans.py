"""Reads of payment plans (« échéanciers », issue 19 §3), scoped to a commune and, for a family,
to the families of the account that asks: the régie's list (late instalments first) and one
plan; a family's plans; how a payment of an instalment is spread over the plan's invoices.

`instalments_due_on` is the hook of the SEPA direct-debit batch: the instalments to debit on a
due date, each with the allocations to record on its invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from parvis.billing.models import (
    DUE_STATUSES,
    Instalment,
    InstalmentStatus,
    Invoice,
    InvoiceStatus,
    PaymentPlan,
    PlanChange,
    PlanInvoice,
    PlanStatus,
    Regie,
)
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.ids import parse_id
from parvis.money import ZERO


def _of_family(famille) -> Q:
    """One Famille, or the account's families (a queryset or a list)."""
    if isinstance(famille, Famille):
        return Q(famille=famille)
    return Q(famille__in=famille)


def under_active_plan() -> Exists:
    """For an Invoice queryset: the invoice is in a plan en cours (its reminders are the plan's)."""
    return Exists(PlanInvoice.objects.filter(invoice=OuterRef("pk"), held=True))


LATE = Q(instalments__status=InstalmentStatus.EN_RETARD)


def regie_plans(
    commune: Commune, *, status: str = "", regie: Regie | None = None, late_only: bool = False
) -> QuerySet[PaymentPlan]:
    """The commune's plans, those with a late instalment first (`late_count`), then the newest."""
    rows = PaymentPlan.objects.filter(commune=commune, famille__commune=commune)
    if status:
        rows = rows.filter(status=status)
    if regie is not None:
        rows = rows.filter(regie=regie)
    rows = rows.annotate(
        late_count=Count("instalments", filter=LATE),
        instalment_count=Count("instalments"),
    )
    if late_only:
        rows = rows.filter(late_count__gt=0, status=PlanStatus.ACTIF)
    return rows.select_related("famille", "regie").order_by("-late_count", "-granted_at", "-pk")


def active_plan_of(invoice: Invoice) -> PaymentPlan | None:
    """The plan en cours that holds the invoice, if any (one at most)."""
    link = PlanInvoice.objects.filter(invoice=invoice, held=True).select_related("plan").first()
    return link.plan if link is not None else None


def late_instalment_count(commune: Commune) -> int:
    """The badge of the régie's pages: instalments late in plans en cours."""
    return Instalment.objects.filter(
        plan__commune=commune,
        plan__status=PlanStatus.ACTIF,
        status=InstalmentStatus.EN_RETARD,
    ).count()


def _with_details(rows: QuerySet[PaymentPlan]) -> QuerySet[PaymentPlan]:
    return rows.select_related("famille", "regie", "granted_by").prefetch_related(
        Prefetch(
            "links",
            queryset=PlanInvoice.objects.select_related("invoice").order_by("position", "pk"),
        ),
        Prefetch("instalments", queryset=Instalment.objects.order_by("position")),
        Prefetch(
            "history",
            queryset=PlanChange.objects.select_related("actor", "instalment").order_by("at", "pk"),
        ),
    )


def plan_for(commune: Commune, pk) -> PaymentPlan:
    """A plan of the commune with its invoices, instalments and history; else 404."""
    pk = parse_id(pk)
    plan = (
        _with_details(PaymentPlan.objects.filter(commune=commune, famille__commune=commune))
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if plan is None:
        raise Http404
    return plan


def family_plans(*, famille, commune: Commune) -> list[PaymentPlan]:
    """The plans of the account's families (a queryset, or one Famille), en cours first (the
    ended ones are not shown), each with `next` (its next instalment to pay, or None) and
    `remaining` (what is left to pay)."""
    condition = _of_family(famille)
    rows = PaymentPlan.objects.filter(condition, commune=commune).exclude(
        status__in=(PlanStatus.ANNULE, PlanStatus.ROMPU)
    )
    result = list(
        rows.prefetch_related(
            Prefetch("instalments", queryset=Instalment.objects.order_by("position"))
        )
        .select_related("regie")
        .order_by("status", "-granted_at", "-pk")
    )
    for plan in result:
        plan.next = next_instalment(plan)
        plan.remaining = remaining(plan)
    return result


def family_plan(*, famille, commune: Commune, pk) -> PaymentPlan | None:
    pk = parse_id(pk)
    if pk is None:
        return None
    condition = _of_family(famille)
    return _with_details(PaymentPlan.objects.filter(condition, commune=commune, pk=pk)).first()


def next_instalment(plan: PaymentPlan) -> Instalment | None:
    """The first instalment not yet paid of a plan en cours (from its prefetched instalments)."""
    if plan.status != PlanStatus.ACTIF:
        return None
    for instalment in plan.instalments.all():
        if instalment.status != InstalmentStatus.PAYEE:
            return instalment
    return None


def remaining(plan: PaymentPlan) -> Decimal:
    return sum((i.due_amount for i in plan.instalments.all()), ZERO)


def instalment_allocations(
    plan: PaymentPlan, amount: Decimal, invoices: dict[int, Invoice] | None = None
) -> list[tuple[Invoice, Decimal]]:
    """`amount` spread over the plan's invoices in their order, each up to what it has due now:
    the allocations for `billing.services.record_payment` (which checks them again on the
    locked rows). `invoices` (by pk) are rows already locked; by default they are read.
    Nothing while an instalment of the plan is being debited (an invoice of the plan
    « prélèvement en cours »): that instalment is paid by the debit alone, and none after it
    before the bank has settled it (issue 19: never both debited and paid otherwise)."""
    links = list(PlanInvoice.objects.filter(plan=plan).order_by("position", "pk"))
    if invoices is None:
        invoices = Invoice.objects.select_related("regie").in_bulk(
            [link.invoice_id for link in links]
        )
    if any(invoice.status == InvoiceStatus.PRELEVEMENT_EN_COURS for invoice in invoices.values()):
        return []
    shares, left = [], amount
    for link in links:
        invoice = invoices.get(link.invoice_id)
        if left <= 0 or invoice is None or invoice.status not in DUE_STATUSES:
            continue
        share = min(left, invoice.due_amount)
        if share > 0:
            shares.append((invoice, share))
            left -= share
    return shares


@dataclass(frozen=True)
class DueInstalments:
    """What to collect from one plan on a day: its instalments dated then or before and not
    paid (with régie and family on `plan`), what remains of them, and the allocations on the
    plan's invoices that pay it (computed once per plan, so they never overlap)."""

    plan: PaymentPlan
    instalments: list[Instalment]
    amount: Decimal
    allocations: list[tuple[Invoice, Decimal]]


def instalments_due_on(
    commune: Commune, day: date, *, regie: Regie | None = None
) -> list[DueInstalments]:
    """The hook of the SEPA direct-debit batch: per plan en cours, its instalments dated `day`
    or earlier (late ones are collected with it) and not paid yet, with the allocations that pay
    what remains of them. Record each with `billing.services.record_payment(...,
    method=PaymentMethod.PRELEVEMENT)`: the plan follows by itself."""
    rows = (
        Instalment.objects.filter(
            plan__commune=commune, plan__status=PlanStatus.ACTIF, due_on__lte=day
        )
        .exclude(status=InstalmentStatus.PAYEE)
        .select_related("plan", "plan__regie", "plan__famille")
        .order_by("plan_id", "position")
    )
    if regie is not None:
        rows = rows.filter(plan__regie=regie)
    by_plan: dict[int, list[Instalment]] = {}
    for instalment in rows:
        by_plan.setdefault(instalment.plan_id, []).append(instalment)
    result = []
    for instalments in by_plan.values():
        plan = instalments[0].plan
        amount = sum((i.due_amount for i in instalments), ZERO)
        result.append(
            DueInstalments(
                plan=plan,
                instalments=instalments,
                amount=amount,
                allocations=instalment_allocations(plan, amount),
            )
        )
    return result


def held_invoice_ids(invoice_ids) -> set[int]:
    """Those of `invoice_ids` held by a plan en cours: their instalments are debited, not them."""
    return set(
        PlanInvoice.objects.filter(invoice_id__in=list(invoice_ids), held=True).values_list(
            "invoice_id", flat=True
        )
    )


def invoice_ids_of_plans(plan_ids) -> dict[int, list[int]]:
    """{plan pk: its invoices' pks in the plan's order} (one query)."""
    result: dict[int, list[int]] = {}
    for plan_id, invoice_id in (
        PlanInvoice.objects.filter(plan_id__in=list(plan_ids))
        .order_by("plan_id", "position", "pk")
        .values_list("plan_id", "invoice_id")
    ):
        result.setdefault(plan_id, []).append(invoice_id)
    return result
