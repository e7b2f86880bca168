"""Reads of the régie's invoicing pages (billing.guichet.views), scoped to the commune of the URL:
another commune's run or invoice is a 404."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from parvis.billing.models import Delivery, Invoice, InvoiceStatus, InvoicingRun, Regie
from parvis.communes.models import Commune


def runs(commune: Commune) -> QuerySet[InvoicingRun]:
    """The commune's runs, newest month first (a queryset, for the paginator)."""
    return (
        InvoicingRun.objects.filter(commune=commune)
        .select_related("regie", "started_by")
        .order_by("-month", "regie__position", "regie__name")
    )


def has_regie(commune: Commune) -> bool:
    """The commune has a régie to bill for."""
    return Regie.objects.filter(commune=commune).exists()


def run_of_month(regie: Regie, month) -> InvoicingRun | None:
    """The régie's run of `month`, if one was started."""
    return InvoicingRun.objects.filter(regie=regie, month=month).first()


def run_for(commune: Commune, pk: int) -> InvoicingRun:
    """A run of the commune with its régie and who started it; else 404."""
    run = (
        InvoicingRun.objects.select_related("regie", "started_by")
        .filter(pk=pk, commune=commune)
        .first()
    )
    if run is None:
        raise Http404
    return run


def _not_cancelled(run: InvoicingRun) -> QuerySet[Invoice]:
    return Invoice.objects.filter(run=run).exclude(status=InvoiceStatus.ANNULEE)


def run_invoices(run: InvoicingRun) -> QuerySet[Invoice]:
    """Every invoice of the run, by number, with its family (a queryset, for the paginator)."""
    return Invoice.objects.filter(run=run).select_related("famille").order_by("number")


def paper_invoices(run: InvoicingRun) -> QuerySet[Invoice]:
    """The run's paper invoices not cancelled, by number, with their family."""
    return (
        _not_cancelled(run)
        .filter(delivery=Delivery.PAPIER)
        .select_related("famille")
        .order_by("number")
    )


def _paper_to_print(run: InvoicingRun) -> QuerySet[Invoice]:
    return _not_cancelled(run).filter(delivery=Delivery.PAPIER, printed_at__isnull=True)


def print_batch(run: InvoicingRun, size: int) -> list[Invoice]:
    """The next `size` paper invoices not printed yet, in number order."""
    return list(_paper_to_print(run).order_by("number")[:size])


def paper_left(run: InvoicingRun) -> int:
    """How many paper invoices of the run are still to print."""
    return _paper_to_print(run).count()


def delivery_counts(run: InvoicingRun) -> dict:
    """The run's invoices not cancelled: to e-mail, e-mailed, to print, printed (one query)."""
    return _not_cancelled(run).aggregate(
        to_email=Count("pk", filter=Q(delivery=Delivery.COURRIEL, emailed_at__isnull=True)),
        emailed=Count("pk", filter=Q(delivery=Delivery.COURRIEL, emailed_at__isnull=False)),
        to_print=Count("pk", filter=Q(delivery=Delivery.PAPIER, printed_at__isnull=True)),
        printed=Count("pk", filter=Q(delivery=Delivery.PAPIER, printed_at__isnull=False)),
    )


def invoice_to_cancel(commune: Commune, pk: int) -> Invoice:
    """An invoice of the commune with its family and régie; else 404."""
    invoice = (
        Invoice.objects.select_related("famille", "regie").filter(pk=pk, commune=commune).first()
    )
    if invoice is None:
        raise Http404
    return invoice
