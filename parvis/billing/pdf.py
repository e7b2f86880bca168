"""The PDFs of billing: invoices (one, or a printing batch), payment receipts, the yearly
certificate for the tax credit on childcare and the attendance certificate.

Invoices and receipts are drawn by ReportLab's Platypus (`pdf_reportlab`, issue 18 §5: a run
sends one invoice to every paperless family, and Platypus renders 5 to 6 times faster than
WeasyPrint on this machine). The certificates (a few a year per family) and other apps' documents
(the SEPA mandate) are HTML templates under billing/pdf/ rendered by WeasyPrint (`render_pdf`,
the one place that calls it, imported lazily: importing Django does not load it). Both receive
amounts already written as « 73,80 € » (`pricing.money`); nothing is fetched while rendering
(WeasyPrint: only `data:` URLs; ReportLab: no URL at all). `*_context` builds what a document
shows, so tests can read it without parsing a PDF."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.billing import direct_debit, pdf_reportlab
from parvis.billing import selectors_documents as selectors
from parvis.billing.links import mon_compte_url
from parvis.billing.models import (
    COUNTER_METHODS,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentStatus,
)
from parvis.billing.pricing import money
from parvis.families import selectors as family_selectors
from parvis.families.models import Famille, Personne, SharedCustody

STYLESHEET = Path(__file__).parent / "static" / "billing" / "pdf.css"
_WHITESPACE = re.compile(r"\s+")


def _url_fetcher():
    from weasyprint.urls import URLFetcher

    # Only inline data: no http(s), no file:// — a PDF never reaches out of the process.
    return URLFetcher(allowed_protocols={"data"})


_local = threading.local()


def _font_config():
    """One WeasyPrint font configuration per thread, kept between documents (making one costs
    a few milliseconds per PDF)."""
    from weasyprint.text.fonts import FontConfiguration

    if getattr(_local, "font_config", None) is None:
        _local.font_config = FontConfiguration()
    return _local.font_config


@lru_cache(maxsize=1)
def _stylesheet():
    """billing/static/billing/pdf.css, parsed once per process (it is read-only afterwards)."""
    from weasyprint import CSS

    return CSS(string=STYLESHEET.read_text(encoding="utf-8"), url_fetcher=_url_fetcher())


def render_pdf(template_name: str, context: dict) -> bytes:
    """The PDF of an HTML template, with pdf.css (the one call to WeasyPrint). Runs of
    whitespace are collapsed first (the templates have no <pre>): fewer text boxes to lay
    out."""
    return _document(template_name, context).write_pdf()


def _document(template_name: str, context: dict):
    """The template laid out by WeasyPrint (its pages, not yet written), with pdf.css and this
    thread's font configuration."""
    from weasyprint import HTML

    # WeasyPrint logs every step of every document at INFO: not worth a line per PDF.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    html = _WHITESPACE.sub(" ", render_to_string(template_name, context))
    document = HTML(
        string=html, base_url=str(settings.BASE_DIR), url_fetcher=_url_fetcher()
    ).render(stylesheets=[_stylesheet()], font_config=_font_config())
    # The <title> block keeps the template's line breaks and indentation around its text.
    document.metadata.title = (document.metadata.title or "").strip() or None
    return document


# --- Shared pieces ------------------------------------------------------------------------------


def _addressee(famille: Famille) -> str:
    """« Madame Françoise DURAND »: the family's « Payeur des factures » (families.selectors.payeur;
    from `responsables` when prefetched), else « Famille DURAND »."""
    payeur = family_selectors.payeur(famille, getattr(famille, "responsables", None))
    if payeur is not None:
        return family_selectors.full_name(payeur)
    return _("Famille %(name)s") % {"name": famille.name}


def _payer_of(payment: Payment, famille: Famille) -> str:
    """The name a receipt gives to who paid: as recorded with the payment (the account of an
    online payment, the person at the counter), else the family's « Payeur des factures »."""
    return payment.payer_name or _addressee(famille)


def _famille(famille: Famille, *, addressee: str | None = None) -> dict:
    return {
        "name": famille.name,
        "reference": famille.reference,
        "addressee": addressee or _addressee(famille),
        "address": famille.address,
        "postal_code": famille.postal_code,
        "city": famille.city,
    }


# --- Invoices -----------------------------------------------------------------------------------


def _invoice_queryset():
    return Invoice.objects.select_related("regie", "commune", "famille").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "pk")),
        selectors.responsables_prefetch(),
    )


def _line(line: InvoiceLine) -> dict:
    return {
        "kind": line.get_kind_display(),
        "is_deduction": line.kind == LineKind.DEDUCTION,
        "child_name": line.child_name,
        "label": line.label,
        "quantity": line.quantity,
        "unit_price": money(line.unit_price),
        "price_label": line.price_label,
        "amount": money(line.amount),
    }


def invoice_context(invoice: Invoice, *, debit_on: date | None = None) -> dict:
    """What an invoice's PDF shows; `invoice` with its régie, commune, famille (and, for speed,
    its lines and the famille's `responsables` prefetched). `debit_on`: the day a direct debit
    takes it (billing.direct_debit), which the invoice announces (the pre-notification)."""
    commune, regie = invoice.commune, invoice.regie
    status = invoice.status
    return {
        "commune": commune,
        "regie": regie,
        "famille": _famille(invoice.famille),
        "invoice": invoice,
        "lines": [_line(line) for line in invoice.lines.all()],
        "total": money(invoice.total),
        "paid": money(invoice.paid),
        "due": money(invoice.due_amount),
        "is_paid": status == InvoiceStatus.REGLEE,
        "is_cancelled": status == InvoiceStatus.ANNULEE,
        "status": InvoiceStatus(status).label,
        "portal_url": mon_compte_url(commune),
        "counter_means": [str(PaymentMethod(m).label) for m in COUNTER_METHODS],
        "debit_on": debit_on,
    }


def _invoice_contexts(invoices: Iterable[Invoice]) -> list[dict]:
    """The contexts of the invoices, in the order given (those not found left out): four
    queries whatever their number (the invoices, their lines, the responsables, the families'
    SEPA mandates for « prélevé le … »)."""
    ids = [invoice.pk for invoice in invoices]
    if not ids:
        return []
    found = {invoice.pk: invoice for invoice in _invoice_queryset().filter(pk__in=ids)}
    debits = direct_debit.debit_dates(found.values())
    return [invoice_context(found[pk], debit_on=debits.get(pk)) for pk in ids if pk in found]


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF of one invoice, titled « Facture n° … » (« Télécharger la facture », the e-mail
    of a run)."""
    invoice = _invoice_queryset().get(pk=invoice.pk)
    debit_on = direct_debit.debit_dates([invoice]).get(invoice.pk)
    return pdf_reportlab.invoice(invoice_context(invoice, debit_on=debit_on))


def invoices_pdf(invoices: Iterable[Invoice]) -> bytes:
    """Several invoices in one document (the régie's printing batch), each from a new page, in
    the order given; four queries whatever their number."""
    return pdf_reportlab.invoices(_invoice_contexts(invoices))


def invoice_pdfs(invoices: Iterable[Invoice]) -> dict[int, bytes]:
    """One PDF per invoice ({pk: bytes}, each the same as `invoice_pdf`'s), in the order given:
    a background task sending a run's invoices reads them in four queries, not four an
    invoice."""
    return {
        context["invoice"].pk: pdf_reportlab.invoice(context)
        for context in _invoice_contexts(invoices)
    }


# --- Receipts -----------------------------------------------------------------------------------


def receipt_context(payment: Payment) -> dict:
    allocations = (
        PaymentAllocation.objects.filter(payment=payment)
        .select_related("invoice")
        .order_by("invoice__number")
    )
    famille = (
        Famille.objects.filter(pk=payment.famille_id)
        .prefetch_related(selectors.responsables_prefetch(prefix=""))
        .get()
    )
    return {
        "commune": payment.commune,
        "regie": payment.regie,
        "famille": _famille(famille, addressee=_payer_of(payment, famille)),
        "payment": payment,
        "method": PaymentMethod(payment.method).label,
        "amount": money(payment.amount),
        "is_cancelled": payment.status == PaymentStatus.ANNULE,
        "allocations": [
            {
                "number": a.invoice.number,
                "label": a.invoice.label,
                "category": a.invoice.category,
                "amount": money(a.amount),
            }
            for a in allocations
        ],
    }


def receipt_pdf(payment: Payment) -> bytes:
    payment = Payment.objects.select_related("regie", "commune").get(pk=payment.pk)
    return pdf_reportlab.receipt(receipt_context(payment))


# --- Certificates -------------------------------------------------------------------------------


def tax_certificate_context(*, famille: Famille, year: int) -> dict:
    certificate = selectors.tax_certificate(famille=famille, year=year)
    famille = (
        Famille.objects.select_related("commune")
        .prefetch_related(selectors.responsables_prefetch(prefix=""))
        .get(pk=famille.pk)
    )
    return {
        "commune": famille.commune,
        "regies": certificate.regies,
        "famille": _famille(famille),
        "year": year,
        "certificate": certificate,
        "children": [
            {
                "name": str(item.child),
                "birth_date": item.child.birth_date,
                "amount": money(item.amount),
            }
            for item in certificate.children
        ],
        "total": money(certificate.total),
        "today": timezone.localdate(),
    }


def tax_certificate_pdf(*, famille: Famille, year: int) -> bytes:
    """« Attestation de frais de garde — année N » (method: selectors.tax_certificate)."""
    return render_pdf(
        "billing/pdf/attestation_fiscale.html",
        tax_certificate_context(famille=famille, year=year),
    )


def attendance_certificate_context(
    *, famille: Famille, child: Personne, start: date, end: date
) -> dict:
    if (
        child.famille_id != famille.pk
        and not SharedCustody.objects.filter(child=child, other_famille=famille).exists()
    ):
        raise ValueError("the child is not of this family")
    # A child in shared custody: the household's days only (families.custody).
    units = selectors.attendance_days(child=child, start=start, end=end, famille=famille)
    famille = (
        Famille.objects.select_related("commune")
        .prefetch_related(selectors.responsables_prefetch(prefix=""))
        .get(pk=famille.pk)
    )
    return {
        "commune": famille.commune,
        "famille": _famille(famille),
        "child": child,
        "start": start,
        "end": end,
        "units": units,
        "total": sum(unit.count for unit in units),
        "today": timezone.localdate(),
    }


def attendance_certificate_pdf(
    *, famille: Famille, child: Personne, start: date, end: date
) -> bytes:
    """« Attestation de présence »: per unit, the days the child was present from `start` to
    `end` (selectors.attendance_days), with the totals."""
    return render_pdf(
        "billing/pdf/attestation_presence.html",
        attendance_certificate_context(famille=famille, child=child, start=start, end=end),
    )
