"""Reads of the régie's pages (payments.guichet.views), scoped to the commune in the URL: its
unpaid and overdue invoices, one invoice with its lines, payments, history and reminders, a
family's invoices still due, the payments of a period, the trop-perçus of online payments and the
rows of the Treasury's exports. Another commune's invoice, payment or family is a 404."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from parvis.billing.delivery import with_contacts
from parvis.billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceStatusChange,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
    Regie,
)
from parvis.billing.selectors import DUE_STATUSES
from parvis.billing.selectors_plans import under_active_plan
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.money import ZERO
from parvis.payments import selectors_sepa
from parvis.payments.models import (
    Transaction,
    TransactionInvoice,
    TropPercu,
    TropPercuChange,
    TropPercuStatus,
)

CODE_FAMILLE = re.compile(r"^F?0*(\d{1,9})$", re.IGNORECASE)
MONEY_OUTPUT = DecimalField(max_digits=11, decimal_places=2)


def _sum(expression) -> Coalesce:
    return Coalesce(
        Sum(expression, output_field=MONEY_OUTPUT), Value(ZERO), output_field=MONEY_OUTPUT
    )


# --- Unpaid invoices -----------------------------------------------------------------------------


def _search(rows: QuerySet[Invoice], query: str) -> QuerySet[Invoice]:
    query = " ".join(query.split())
    if not query:
        return rows
    condition = Q(famille__name__icontains=query)
    code = CODE_FAMILLE.match(query)
    if code:
        number = int(code.group(1))
        condition |= Q(famille__number=number)
        if query.isdigit():
            condition |= Q(number=number)
    return rows.filter(condition)


def unpaid_invoices(
    commune: Commune,
    *,
    today: date,
    regie: Regie | None = None,
    overdue_only: bool = False,
    query: str = "",
) -> QuerySet[Invoice]:
    """The commune's invoices still due (« à régler », « partiellement réglée »), the oldest due
    date first; `query` is a family name, a code famille (F000012) or an invoice number."""
    rows = Invoice.objects.filter(
        commune=commune, famille__commune=commune, status__in=DUE_STATUSES
    )
    if regie is not None:
        rows = rows.filter(regie=regie)
    if overdue_only:
        rows = rows.filter(due_on__lt=today)
    rows = _search(rows, query)
    return rows.select_related("famille", "regie").order_by("due_on", "regie_id", "number")


@dataclass(frozen=True)
class UnpaidTotals:
    count: int
    total: Decimal
    remaining: Decimal
    overdue_count: int
    overdue_remaining: Decimal


def unpaid_totals(rows: QuerySet[Invoice], *, today: date) -> UnpaidTotals:
    """The figures above the list, in one query."""
    late = Q(due_on__lt=today)
    figures = rows.order_by().aggregate(
        n=Count("pk"),
        sum_total=_sum("total"),
        sum_remaining=_sum(F("total") - F("paid")),
        n_overdue=Count("pk", filter=late),
        sum_overdue=Coalesce(
            Sum(F("total") - F("paid"), filter=late, output_field=MONEY_OUTPUT),
            Value(ZERO),
            output_field=MONEY_OUTPUT,
        ),
    )
    return UnpaidTotals(
        count=figures["n"],
        total=figures["sum_total"],
        remaining=figures["sum_remaining"],
        overdue_count=figures["n_overdue"],
        overdue_remaining=figures["sum_overdue"],
    )


def invoice_for(commune: Commune, pk: int) -> Invoice:
    """An invoice of the commune with what the agent's page shows: lines, payments, status
    history and reminders; else 404."""
    invoice = (
        Invoice.objects.filter(commune=commune, famille__commune=commune, pk=pk)
        .select_related("famille", "regie", "run")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "pk")),
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related(
                    "payment", "payment__recorded_by", "payment__cancelled_by"
                ).order_by("payment__received_on", "payment__number"),
            ),
            Prefetch(
                "history",
                queryset=InvoiceStatusChange.objects.select_related("actor").order_by("at", "pk"),
            ),
            "reminders__sent_by",
        )
        .first()
    )
    if invoice is None:
        raise Http404
    return invoice


def plain_invoice_for(commune: Commune, pk: int) -> Invoice:
    """An invoice of the commune, without what its page shows (its PDF needs only itself); else
    404."""
    invoice = Invoice.objects.filter(commune=commune, pk=pk).first()
    if invoice is None:
        raise Http404
    return invoice


def famille_for(commune: Commune, pk: int) -> Famille:
    famille = Famille.objects.filter(commune=commune, pk=pk).first()
    if famille is None:
        raise Http404
    return famille


def due_invoices_of(famille: Famille) -> QuerySet[Invoice]:
    """The family's invoices still due, the oldest first (a payment is spread in that order)."""
    return (
        Invoice.objects.filter(
            commune_id=famille.commune_id, famille=famille, status__in=DUE_STATUSES
        )
        .select_related("regie")
        .order_by("issued_on", "due_on", "regie_id", "number", "pk")
    )


def plannable_invoices(*, commune: Commune, famille: Famille) -> list[Invoice]:
    """The family's invoices a payment plan may take: due (« à régler », « partiellement
    réglée »), in no plan en cours, the oldest first; none for another commune's family."""
    if famille.commune_id != commune.pk:
        return []
    return list(
        due_invoices_of(famille)
        .exclude(under_active_plan())
        .filter(status__in=(InvoiceStatus.A_REGLER, InvoiceStatus.PARTIELLEMENT_REGLEE))
    )


def famille_by_code(*, commune: Commune, code: str) -> Famille | None:
    """The commune's family of a code famille as an agent types it (« F000012 », « 12 »), or
    None."""
    number = code.strip().upper().removeprefix("F")
    if not (number.isascii() and number.isdigit() and len(number) <= 9):
        return None
    return Famille.objects.filter(commune=commune, number=int(number)).first()


# --- CESU ----------------------------------------------------------------------------------------


def sixth_birthday(birth: date) -> date:
    try:
        return birth.replace(year=birth.year + 6)
    except ValueError:  # born on 29 February
        return birth.replace(year=birth.year + 6, month=3, day=1)


def under_six(birth: date | None, day: date) -> bool:
    return birth is not None and day < sixth_birthday(birth)


def cesu_limits(invoices: list[Invoice]) -> dict[int, Decimal]:
    """For each invoice, the most CESU may still pay of it: its childcare lines (« frais de
    garde ») for children under 6 on the first day billed, less what CESU already paid on it
    (valid payments), never more than what remains due. Two queries."""
    if not invoices:
        return {}
    ids = [invoice.pk for invoice in invoices]
    eligible: dict[int, Decimal] = dict.fromkeys(ids, ZERO)
    lines = InvoiceLine.objects.filter(invoice_id__in=ids, childcare=True).select_related(
        "child", "invoice"
    )
    for line in lines:
        birth = line.child.birth_date if line.child is not None else None
        if under_six(birth, line.invoice.period_start):
            eligible[line.invoice_id] += line.amount
    already = dict(
        PaymentAllocation.objects.filter(
            invoice_id__in=ids,
            payment__method=PaymentMethod.CESU,
            payment__status=PaymentStatus.VALIDE,
        )
        .values("invoice_id")
        .annotate(paid=Sum("amount"))
        .values_list("invoice_id", "paid")
    )
    return {
        invoice.pk: max(
            ZERO, min(invoice.due_amount, eligible[invoice.pk] - already.get(invoice.pk, ZERO))
        )
        for invoice in invoices
    }


# --- Payments ------------------------------------------------------------------------------------


def payments(
    commune: Commune,
    *,
    start: date | None = None,
    end: date | None = None,
    method: str = "",
    regie: Regie | None = None,
    status: str = "",
) -> QuerySet[Payment]:
    """The commune's payments received from `start` to `end` included, the latest first."""
    rows = Payment.objects.filter(commune=commune, famille__commune=commune)
    if start is not None:
        rows = rows.filter(received_on__gte=start)
    if end is not None:
        rows = rows.filter(received_on__lte=end)
    if method:
        rows = rows.filter(method=method)
    if regie is not None:
        rows = rows.filter(regie=regie)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("famille", "regie").order_by("-received_on", "-number", "-pk")


@dataclass(frozen=True)
class MethodTotal:
    method: str
    label: str
    count: int
    amount: Decimal


def totals_by_method(rows: QuerySet[Payment]) -> tuple[list[MethodTotal], Decimal, int]:
    """The valid payments of `rows` summed per mode (every mode, 0 when none), their total and
    count: one query. Cancelled payments count for nothing."""
    figures = {
        row["method"]: row
        for row in rows.filter(status=PaymentStatus.VALIDE)
        .order_by()
        .values("method")
        .annotate(n=Count("pk"), sum_amount=_sum("amount"))
    }
    totals = [
        MethodTotal(
            method=value,
            label=str(label),
            count=figures.get(value, {}).get("n", 0),
            amount=figures.get(value, {}).get("sum_amount", ZERO),
        )
        for value, label in PaymentMethod.choices
    ]
    return totals, sum((t.amount for t in totals), ZERO), sum(t.count for t in totals)


def payment_for(commune: Commune, pk: int) -> Payment:
    payment = (
        Payment.objects.filter(commune=commune, famille__commune=commune, pk=pk)
        .select_related("famille", "regie", "recorded_by", "cancelled_by")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("invoice").order_by(
                    "invoice__issued_on", "invoice__number"
                ),
            )
        )
        .first()
    )
    if payment is None:
        raise Http404
    return payment


# --- Trop-perçus ---------------------------------------------------------------------------------


def trop_percus(
    commune: Commune, *, status: str = "", regie: Regie | None = None
) -> QuerySet[TropPercu]:
    """The commune's trop-perçus, those to refund first, the latest first."""
    rows = TropPercu.objects.filter(commune=commune, famille__commune=commune)
    if status:
        rows = rows.filter(status=status)
    if regie is not None:
        rows = rows.filter(regie=regie)
    to_refund_first = Case(When(status=TropPercuStatus.A_REMBOURSER, then=0), default=1)
    return rows.select_related("famille", "regie", "transaction").order_by(
        to_refund_first, "-created_at", "-pk"
    )


@dataclass(frozen=True)
class TropPercuTotals:
    count: int
    amount: Decimal


def trop_percus_to_refund(rows: QuerySet[TropPercu]) -> TropPercuTotals:
    """How many of `rows` are still to refund, and their sum: one query."""
    figures = (
        rows.filter(status=TropPercuStatus.A_REMBOURSER)
        .order_by()
        .aggregate(n=Count("pk"), sum_amount=_sum("amount"))
    )
    return TropPercuTotals(count=figures["n"], amount=figures["sum_amount"])


def trop_percu_for(commune: Commune, pk: int) -> TropPercu:
    """A trop-perçu of the commune with its history, its transaction's invoices and what the
    transaction paid; else 404."""
    trop_percu = (
        TropPercu.objects.filter(commune=commune, famille__commune=commune, pk=pk)
        .select_related("famille", "regie", "transaction", "transaction__user", "refunded_by")
        .prefetch_related(
            Prefetch(
                "history",
                queryset=TropPercuChange.objects.select_related("actor").order_by("at", "pk"),
            ),
            Prefetch(
                "transaction__shares",
                queryset=TransactionInvoice.objects.select_related("invoice").order_by(
                    "invoice__number"
                ),
            ),
        )
        .first()
    )
    if trop_percu is None:
        raise Http404
    return trop_percu


def payments_of_transaction(commune: Commune, transaction: Transaction) -> QuerySet[Payment]:
    """The receipts an online transaction gave (one per régie)."""
    return (
        Payment.objects.filter(commune=commune, transaction_reference=transaction.reference)
        .select_related("regie")
        .order_by("regie__code", "number")
    )


# --- Reminders -----------------------------------------------------------------------------------


def overdue_invoices(
    commune: Commune, *, today: date, regie: Regie | None = None
) -> QuerySet[Invoice]:
    """Invoices still due whose due date has passed, with their last reminder (`last_reminder`)
    and their family's contacts (for `family_emails`), the oldest due date first."""
    rows = Invoice.objects.filter(
        commune=commune, famille__commune=commune, status__in=DUE_STATUSES, due_on__lt=today
    ).exclude(under_active_plan())  # a plan's instalments are reminded instead
    rows = rows.exclude(selectors_sepa.paid_by_debit())  # a direct debit pays them (issue 19)
    if regie is not None:
        rows = rows.filter(regie=regie)
    famille_queryset = with_contacts(Famille.objects.all())
    return (
        rows.select_related("regie")
        .prefetch_related(Prefetch("famille", queryset=famille_queryset))
        .annotate(last_reminder=Max("reminders__sent_at"))
        .order_by("due_on", "regie_id", "number")
    )


# --- Exports -------------------------------------------------------------------------------------


def period_invoices(
    commune: Commune, *, start: date, end: date, regie: Regie | None = None
) -> QuerySet[Invoice]:
    """The invoices issued from `start` to `end` included, in number order per régie."""
    rows = Invoice.objects.filter(
        commune=commune, famille__commune=commune, issued_on__gte=start, issued_on__lte=end
    )
    if regie is not None:
        rows = rows.filter(regie=regie)
    return rows.select_related("famille", "regie").order_by("regie__code", "number")


def period_payments(
    commune: Commune, *, start: date, end: date, regie: Regie | None = None
) -> QuerySet[Payment]:
    """The payments received from `start` to `end` included, cancelled ones too, with the
    numbers of the invoices they settle (prefetched per chunk when iterated)."""
    rows = Payment.objects.filter(
        commune=commune, famille__commune=commune, received_on__gte=start, received_on__lte=end
    )
    if regie is not None:
        rows = rows.filter(regie=regie)
    return (
        rows.select_related("famille", "regie")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("invoice").order_by(
                    "invoice__number"
                ),
            )
        )
        .order_by("regie__code", "number")
    )
