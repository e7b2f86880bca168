"""Reads of SEPA direct debit (issue 19 §1), scoped to a commune and, for a family's pages, to
the families of the account that asks: the régies offering direct debit, a family's mandates,
the day each invoice will be debited (the pre-notification « prélevé le … »), the invoices a
batch would take, and the régie's batches and mandates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from parvis.billing import selectors_plans
from parvis.billing.models import Invoice, InvoiceStatus, Regie
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.ids import parse_id
from parvis.payments import sepa
from parvis.payments.models import (
    BatchStatus,
    CreditorSettings,
    Debit,
    DebitBatch,
    DebitStatus,
    Mandate,
    MandateChange,
    MandateStatus,
)


def creditors(*, commune: Commune, enabled_only: bool = True) -> list[CreditorSettings]:
    rows = CreditorSettings.objects.filter(commune=commune, regie__commune=commune)
    if enabled_only:
        rows = rows.filter(enabled=True)
    return list(rows.select_related("regie").order_by("regie__position", "regie__name"))


def creditor_of(regie: Regie) -> CreditorSettings | None:
    return CreditorSettings.objects.filter(regie=regie, commune_id=regie.commune_id).first()


def _families_q(famille) -> Q:
    if isinstance(famille, Famille):
        return Q(famille_id=famille.pk)
    return Q(famille__in=famille)


def mandates_of(*, famille, commune: Commune) -> QuerySet[Mandate]:
    """The family's (or families') mandates, newest first, without the unconfirmed ones."""
    return (
        Mandate.objects.filter(_families_q(famille), commune=commune)
        .exclude(status=MandateStatus.EN_ATTENTE)
        .select_related("regie", "famille")
    )


def mandate_of(*, famille, commune: Commune, pk) -> Mandate | None:
    pk = parse_id(pk)
    if pk is None:
        return None
    return (
        Mandate.objects.filter(_families_q(famille), commune=commune, pk=pk)
        .select_related("regie", "famille", "commune")
        .first()
    )


def live_mandate_of(*, famille, commune: Commune, regie: Regie) -> Mandate | None:
    """The family's (or families') mandate in force for `regie` (« actif » or « suspendu »), the
    newest, or None."""
    return (
        mandates_of(famille=famille, commune=commune)
        .filter(regie=regie, status__in=[MandateStatus.ACTIF, MandateStatus.SUSPENDU])
        .first()
    )


# --- Debit dates ---------------------------------------------------------------------------------


def debit_dates(invoices: list[Invoice]) -> dict[int, date]:
    """{invoice pk: day debited} for those of `invoices` a direct debit pays: in a batch (its
    collection date), or « à régler », unpaid, of a family with an active mandate for the
    invoice's régie and never rejected (then the pre-notification's day: `sepa.debit_date`).
    Four queries at most whatever the number of invoices (one without any mandate); an invoice
    of a payment plan en cours is not announced whole (its instalments are debited)."""
    dates: dict[int, date] = {}
    in_batch = [i.pk for i in invoices if i.status == InvoiceStatus.PRELEVEMENT_EN_COURS]
    if in_batch:
        for invoice_id, day in Debit.objects.filter(
            invoice_id__in=in_batch, status=DebitStatus.EN_COURS
        ).values_list("invoice_id", "batch__collection_date"):
            dates[invoice_id] = day
    candidates = [
        i for i in invoices if i.status == InvoiceStatus.A_REGLER and i.paid == 0 and i.total > 0
    ]
    if not candidates:
        return dates
    # One query for the mandates and their régie's notice; one more only when there are some.
    mandates = {
        (famille_id, regie_id): (signed_on, notice)
        for famille_id, regie_id, signed_on, notice in Mandate.objects.filter(
            famille_id__in={i.famille_id for i in candidates},
            regie_id__in={i.regie_id for i in candidates},
            status=MandateStatus.ACTIF,
            regie__sepa__isnull=False,
        ).values_list("famille_id", "regie_id", "signed_on", "regie__sepa__notice_days")
    }
    if not mandates:
        return dates
    rejected = set(
        Debit.objects.filter(
            invoice_id__in=[i.pk for i in candidates], status=DebitStatus.REJETE
        ).values_list("invoice_id", flat=True)
    )
    # An invoice of a payment plan en cours is debited by instalments, never whole (issue 19).
    in_plans = selectors_plans.held_invoice_ids(i.pk for i in candidates)
    for invoice in candidates:
        mandate = mandates.get((invoice.famille_id, invoice.regie_id))
        if mandate is None or invoice.pk in rejected or invoice.pk in in_plans:
            continue
        signed_on, notice = mandate
        dates[invoice.pk] = sepa.debit_date(
            due_on=invoice.due_on,
            notified_on=max(invoice.issued_on, signed_on or invoice.issued_on),
            notice_days=notice,
        )
    return dates


@dataclass(frozen=True)
class Candidate:
    invoice: Invoice
    mandate: Mandate
    debit_on: date


def batch_candidates(*, regie: Regie, collection_date: date) -> list[Candidate]:
    """The régie's invoices a batch for `collection_date` takes: those a mandate pays whose
    announced debit day is not after it, oldest first. A plain read: the service locks them."""
    invoices = list(
        Invoice.objects.filter(
            commune_id=regie.commune_id,
            regie=regie,
            status=InvoiceStatus.A_REGLER,
            paid=0,
            total__gt=0,
            famille__mandates__regie=regie,
            famille__mandates__status=MandateStatus.ACTIF,
        )
        .select_related("famille")
        .order_by("pk")
        .distinct()
    )
    dates = debit_dates(invoices)
    mandates = {
        m.famille_id: m
        for m in Mandate.objects.filter(
            regie=regie,
            status=MandateStatus.ACTIF,
            famille_id__in={i.famille_id for i in invoices},
        )
    }
    return [
        Candidate(invoice, mandates[invoice.famille_id], dates[invoice.pk])
        for invoice in invoices
        if invoice.pk in dates
        and dates[invoice.pk] <= collection_date
        and invoice.famille_id in mandates
    ]


# --- The régie's pages ----------------------------------------------------------------------


def regies_with_creditor(*, commune: Commune) -> list[Regie]:
    return [c.regie for c in creditors(commune=commune, enabled_only=False)]


def batches(*, commune: Commune) -> QuerySet[DebitBatch]:
    return DebitBatch.objects.filter(commune=commune, regie__commune=commune).select_related(
        "regie"
    )


def batch(*, commune: Commune, pk) -> DebitBatch | None:
    pk = parse_id(pk)
    if pk is None:
        return None
    return batches(commune=commune).filter(pk=pk).first()


def debits_of(batch: DebitBatch) -> list[Debit]:
    return list(
        Debit.objects.filter(batch=batch, commune_id=batch.commune_id)
        .select_related("invoice", "invoice__famille", "mandate", "payment", "fee_invoice")
        .order_by("pk")
    )


def debit(*, commune: Commune, pk) -> Debit | None:
    pk = parse_id(pk)
    if pk is None:
        return None
    return (
        Debit.objects.filter(commune=commune, pk=pk, batch__commune=commune)
        .select_related("batch", "invoice", "mandate")
        .first()
    )


def mandates(*, commune: Commune, status: str | None = None) -> QuerySet[Mandate]:
    rows = (
        Mandate.objects.filter(commune=commune, famille__commune=commune)
        .exclude(status=MandateStatus.EN_ATTENTE)
        .select_related("regie", "famille")
        .order_by("-signed_at", "-created_at", "-pk")
    )
    if status:
        rows = rows.filter(status=status)
    return rows


def mandate(*, commune: Commune, pk) -> Mandate | None:
    pk = parse_id(pk)
    if pk is None:
        return None
    return (
        Mandate.objects.filter(commune=commune, pk=pk, famille__commune=commune)
        .select_related("regie", "famille", "commune")
        .first()
    )


def mandate_history(*, mandate: Mandate) -> list[MandateChange]:
    """The mandate's status changes with who made them, oldest first (one query); `mandate`
    comes from `mandate(commune=…, pk=…)`, so of the commune."""
    return list(mandate.history.select_related("actor"))


def mandate_debits(*, mandate: Mandate, limit: int = 50) -> list[Debit]:
    """The mandate's last `limit` debits with their invoice and batch, newest first (one
    query)."""
    return list(mandate.debits.select_related("invoice", "batch").order_by("-pk")[:limit])


def open_batches(*, regie: Regie) -> QuerySet[DebitBatch]:
    return DebitBatch.objects.filter(regie=regie, status=BatchStatus.PREPARE)


def compte_panel(*, families, commune: Commune) -> dict | None:
    """« Prélèvement automatique » on « Mon compte »: the régies that offer it, and each
    family's mandate per régie (live, or none). None when no régie of the commune offers it."""
    offered = creditors(commune=commune)
    if not offered or not families:
        return None
    live = {
        (m.famille_id, m.regie_id): m
        for m in Mandate.objects.filter(
            famille__in=families,
            commune=commune,
            status__in=[MandateStatus.ACTIF, MandateStatus.SUSPENDU],
        ).select_related("regie")
    }
    rows = [
        {
            "famille": famille,
            "creditor": creditor,
            "mandate": live.get((famille.pk, creditor.regie_id)),
        }
        for famille in families
        for creditor in offered
    ]
    return {
        "template": "payments/includes/compte_prelevement.html",
        "rows": rows,
        "several_families": len(families) > 1,
    }


def paid_by_debit() -> Q:
    """Invoices (as a filter on Invoice) a live mandate will debit: « à régler », unpaid, of a
    family with an active mandate for the invoice's régie, never rejected. Not « overdue » for
    the régie's reminders: the debit pays them on the day announced."""
    from django.db.models import Exists, OuterRef

    mandate = Mandate.objects.filter(
        famille=OuterRef("famille"), regie=OuterRef("regie"), status=MandateStatus.ACTIF
    )
    rejected = Debit.objects.filter(invoice=OuterRef("pk"), status=DebitStatus.REJETE)
    return Q(Exists(mandate), status=InvoiceStatus.A_REGLER, paid=0) & ~Q(Exists(rejected))
