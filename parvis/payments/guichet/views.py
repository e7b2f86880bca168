"""The régie's daily work, under /<commune>/guichet/regie/: the unpaid invoices (its home page),
one invoice as the agent sees it, payments at the counter (one invoice, or several of a family),
the payments of a period with their totals per mode, one payment with its receipt and its
cancellation, the trop-perçus of online payments and their refund (« Rembourser »), the
reminders of overdue invoices and the Treasury's CSV exports.

Régie agents and the administrator only (`regie_required`: other agents get a 403, anyone else a
404). Thin views: reads from `payments.guichet.selectors`, scoped to the commune in the URL (another
commune's invoice, payment or family is a 404); every write through parvis.billing.services
(record_payment, cancel_payment), parvis.billing.services_relances or
parvis.payments.services (refund_trop_percu), which audit. No amount is
taken from the browser but the agent's own entry, checked against what remains due."""

from __future__ import annotations

import csv
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.agents import regie_required
from parvis.billing import selectors_plans, services
from parvis.billing.delivery import family_emails
from parvis.billing.models import Delivery, InvoiceStatus, PaymentStatus
from parvis.billing.pricing import money
from parvis.billing.selectors import DUE_STATUSES, invoice_state
from parvis.billing.services_relances import start_reminders
from parvis.money import ZERO
from parvis.payments import services as services_paiement
from parvis.payments.guichet import selectors
from parvis.payments.guichet.forms import (
    EXPORT_INVOICES,
    CancelPaymentForm,
    CounterPaymentForm,
    ExportForm,
    PaymentsFilterForm,
    RefundForm,
    RegieFilterForm,
    RemindersForm,
    TropPercusFilterForm,
    UnpaidFilterForm,
)
from parvis.payments.models import TropPercuStatus
from parvis.text import spreadsheet_cell

PER_PAGE = 50
SECTION = "guichet_regie:impayes"


def _page(request, template, context, *, status=200):
    return render(request, template, {"current_section": SECTION, **context}, status=status)


# --- Unpaid invoices (home) -------------------------------------------------------------------


@regie_required
@require_GET
def impayes(request):
    today = timezone.localdate()
    form = UnpaidFilterForm(request.GET or None, commune=request.commune)
    filters = form.filters()
    rows = selectors.unpaid_invoices(request.commune, today=today, **filters)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return _page(
        request,
        "payments/guichet/impayes.html",
        {
            "form": form,
            "filters_active": bool(
                filters.get("regie") or filters.get("overdue_only") or filters.get("query")
            ),
            "totals": selectors.unpaid_totals(rows, today=today),
            "page": page,
            "rows": list(page.object_list),
            "today": today,
        },
    )


# --- One invoice --------------------------------------------------------------------------------


@regie_required
@require_GET
def facture(request, pk: int):
    invoice = selectors.invoice_for(request.commune, pk)
    labels = dict(InvoiceStatus.choices)
    history = [
        (change, labels.get(change.from_status, ""), labels.get(change.to_status, ""))
        for change in invoice.history.all()
    ]
    return _page(
        request,
        "payments/guichet/facture.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.all()),
            "due": invoice_state(invoice, today=timezone.localdate()).due,
            "to_print": invoice.delivery == Delivery.PAPIER
            and invoice.printed_at is None
            and invoice.status != InvoiceStatus.ANNULEE,
            "allocations": list(invoice.allocations.all()),
            "history": history,
            "reminders": list(invoice.reminders.all()),
            "can_collect": invoice.status in DUE_STATUSES,
            "can_cancel": invoice.status != InvoiceStatus.ANNULEE and invoice.paid == 0,
            "overdue": invoice.is_overdue(timezone.localdate()),
            # Issue 19 §3: the payment plan en cours the invoice is in (its instalments are
            # reminded instead of it), or None.
            "plan": selectors_plans.active_plan_of(invoice),
        },
    )


# --- Payments at the counter ----------------------------------------------------------------------


def _record(request, form: CounterPaymentForm, famille):
    """The payment of a valid form, or None with the service's refusal put on the form."""
    data = form.cleaned_data
    try:
        return services.record_payment(
            regie=data["regie"],
            famille=famille,
            allocations=data["allocations"],
            method=data["method"],
            received_on=data["received_on"],
            actor=request.user,
            reference=data.get("reference", ""),
            payer_name=data.get("payer_name", ""),
        )
    except ValidationError as error:
        _errors_on(form, error)
        return None


def _recorded(request, payment):
    messages.success(
        request,
        _("Paiement de %(amount)s enregistré : reçu n° %(number)s.")
        % {"amount": money(payment.amount), "number": payment.number},
    )
    return redirect("guichet_regie:paiement", request.commune.slug, payment.pk)


@regie_required
@require_http_methods(["GET", "POST"])
def encaisser(request, pk: int):
    invoice = selectors.invoice_for(request.commune, pk)
    if invoice.status not in DUE_STATUSES:
        messages.info(request, _("Cette facture n'a plus rien à régler."))
        return redirect("guichet_regie:facture", request.commune.slug, invoice.pk)
    form = CounterPaymentForm(
        request.POST if request.method == "POST" else None,
        famille=invoice.famille,
        invoices=[invoice],
        today=timezone.localdate(),
    )
    if request.method == "POST" and form.is_valid():
        payment = _record(request, form, invoice.famille)
        if payment is not None:
            return _recorded(request, payment)
    return _page(
        request,
        "payments/guichet/encaisser.html",
        {"form": form, "invoice": invoice, "famille": invoice.famille},
        status=400 if form.errors else 200,
    )


@regie_required
@require_http_methods(["GET", "POST"])
def encaisser_famille(request, pk: int):
    famille = selectors.famille_for(request.commune, pk)
    invoices = list(selectors.due_invoices_of(famille))
    form = None
    if invoices:
        form = CounterPaymentForm(
            request.POST if request.method == "POST" else None,
            famille=famille,
            invoices=invoices,
            today=timezone.localdate(),
            choose=True,
        )
        if request.method == "POST" and form.is_valid():
            payment = _record(request, form, famille)
            if payment is not None:
                return _recorded(request, payment)
    return _page(
        request,
        "payments/guichet/encaisser.html",
        {
            "form": form,
            "famille": famille,
            "invoices": invoices,
            "due": sum((invoice.due_amount for invoice in invoices), ZERO),
        },
        status=400 if form is not None and form.errors else 200,
    )


# --- Payments -------------------------------------------------------------------------------------


@regie_required
@require_GET
def paiements(request):
    today = timezone.localdate()
    form = PaymentsFilterForm(request.GET or None, commune=request.commune, today=today)
    filters = form.filters()
    rows = selectors.payments(request.commune, **filters)
    totals, total, count = selectors.totals_by_method(rows)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return _page(
        request,
        "payments/guichet/paiements.html",
        {
            "form": form,
            "start": filters.get("start"),
            "end": filters.get("end"),
            "totals": totals,
            "total": total,
            "count": count,
            "page": page,
            "rows": list(page.object_list),
        },
    )


def _payment_page(request, payment, form, *, status=200):
    return _page(
        request,
        "payments/guichet/paiement.html",
        {
            "payment": payment,
            "allocations": list(payment.allocations.all()),
            "form": form,
            "cancelled": payment.status == PaymentStatus.ANNULE,
        },
        status=status,
    )


@regie_required
@require_GET
def paiement(request, pk: int):
    payment = selectors.payment_for(request.commune, pk)
    return _payment_page(request, payment, CancelPaymentForm())


@regie_required
@require_POST
def annuler_paiement(request, pk: int):
    payment = selectors.payment_for(request.commune, pk)
    form = CancelPaymentForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_payment(
                payment=payment, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            on_reason = "reason" in getattr(error, "error_dict", {})
            for message in error.messages:
                form.add_error("reason" if on_reason else None, message)
        else:
            messages.success(
                request,
                _(
                    "Le paiement (reçu n° %(number)s) est annulé : ce qu'il réglait est de "
                    "nouveau dû."
                )
                % {"number": payment.number},
            )
            return redirect("guichet_regie:paiement", request.commune.slug, payment.pk)
    payment = selectors.payment_for(request.commune, pk)
    return _payment_page(request, payment, form, status=400)


@regie_required
@require_GET
def recu_pdf(request, pk: int):
    payment = selectors.payment_for(request.commune, pk)
    from parvis.billing import pdf  # written with the invoices' PDFs; imported when needed

    response = HttpResponse(pdf.receipt_pdf(payment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="recu-{payment.number}.pdf"'
    return response


@regie_required
@require_http_methods(["GET", "POST"])
def facture_pdf(request, pk: int):
    """The invoice's PDF, as the family receives it. GET: a copy (nothing changes). POST: the
    paper invoice printed for posting (a stay's invoice, outside any run's printing batch):
    marked printed, audited."""
    invoice = selectors.plain_invoice_for(request.commune, pk)
    from parvis.billing import pdf  # imported when needed: it loads WeasyPrint
    from parvis.billing.delivery import mark_printed

    content = pdf.invoice_pdf(invoice)
    disposition = "inline"
    if request.method == "POST":
        mark_printed(invoices=[invoice], actor=request.user)
        disposition = "attachment"
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'{disposition}; filename="facture-{invoice.number}.pdf"'
    return response


# --- Trop-perçus ---------------------------------------------------------------------------------


@regie_required
@require_GET
def trop_percus(request):
    """« Trop-perçus »: what online payments brought beyond what was due, those to refund
    first, with the sum still to refund."""
    form = TropPercusFilterForm(request.GET or None, commune=request.commune)
    filters = form.filters()
    rows = selectors.trop_percus(request.commune, **filters)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return _page(
        request,
        "payments/guichet/trop_percus.html",
        {
            "form": form,
            "filters_active": any(filters.values()),
            "to_refund": selectors.trop_percus_to_refund(rows),
            "page": page,
            "rows": list(page.object_list),
        },
    )


def _trop_percu_page(request, trop_percu, form, *, status=200):
    return _page(
        request,
        "payments/guichet/trop_percu.html",
        {
            "trop_percu": trop_percu,
            "history": [
                (change, _status_label(change.from_status), _status_label(change.to_status))
                for change in trop_percu.history.all()
            ],
            "shares": list(trop_percu.transaction.shares.all()),
            "payments": list(
                selectors.payments_of_transaction(request.commune, trop_percu.transaction)
            ),
            "form": form,
            "to_refund": trop_percu.status == TropPercuStatus.A_REMBOURSER,
        },
        status=status,
    )


def _status_label(value: str) -> str:
    return str(dict(TropPercuStatus.choices).get(value, ""))


@regie_required
@require_GET
def trop_percu(request, pk: int):
    trop_percu = selectors.trop_percu_for(request.commune, pk)
    return _trop_percu_page(request, trop_percu, RefundForm(today=timezone.localdate()))


@regie_required
@require_POST
def rembourser(request, pk: int):
    """« Rembourser »: records the refund through payments.services (audited, once)."""
    trop_percu = selectors.trop_percu_for(request.commune, pk)
    form = RefundForm(request.POST, today=timezone.localdate())
    if form.is_valid():
        data = form.cleaned_data
        try:
            services_paiement.refund_trop_percu(
                trop_percu=trop_percu,
                actor=request.user,
                method=data["method"],
                refunded_on=data["refunded_on"],
                reference=data["reference"],
            )
        except ValidationError as error:
            _errors_on(form, error)
        else:
            messages.success(
                request,
                _("Remboursement de %(amount)s enregistré.") % {"amount": money(trop_percu.amount)},
            )
            return redirect("guichet_regie:trop_percu", request.commune.slug, trop_percu.pk)
    trop_percu = selectors.trop_percu_for(request.commune, pk)
    return _trop_percu_page(request, trop_percu, form, status=400)


def _errors_on(form, error: ValidationError) -> None:
    """A service's refusal on the form: per field when it says which, else above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


# --- Reminders ------------------------------------------------------------------------------------


@regie_required
@require_http_methods(["GET", "POST"])
def relances(request):
    today = timezone.localdate()
    filters = RegieFilterForm(request.GET or None, commune=request.commune)
    regie = filters.regie()
    overdue = selectors.overdue_invoices(request.commune, today=today, regie=regie)
    form = RemindersForm(request.POST if request.method == "POST" else None, overdue=overdue)
    if request.method == "POST" and form.is_valid():
        # As many as ticked: a background job reminds them in batches, its page follows it.
        job = start_reminders(
            commune=request.commune,
            invoices=form.cleaned_data["invoices"],
            actor=request.user,
            return_url=request.get_full_path(),
        )
        return redirect("backoffice:travail", commune=request.commune.slug, pk=job.pk)
    page = Paginator(overdue, PER_PAGE).get_page(request.GET.get("page"))
    rows = [(invoice, family_emails(invoice.famille)) for invoice in page.object_list]
    return _page(
        request,
        "payments/guichet/relances.html",
        {
            "filters": filters,
            "form": form,
            "page": page,
            "rows": rows,
            "checked": {str(pk) for pk in form.data.getlist("invoices")}
            if form.is_bound
            else set(),
        },
        status=400 if form.errors else 200,
    )


# --- CSV exports for the Treasury ---------------------------------------------------------------


class _Echo:
    """A file that hands back what is written: the csv writer's lines, streamed."""

    def write(self, value):
        return value


def _amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _day(value) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _csv(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    """French Excel's CSV: UTF-8 with a BOM, « ; » between cells, decimal commas; streamed."""
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([spreadsheet_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _invoice_rows(invoices):
    for invoice in invoices.iterator(chunk_size=500):
        famille = invoice.famille
        yield (
            invoice.regie.code,
            invoice.number,
            _day(invoice.issued_on),
            _day(invoice.due_on),
            famille.reference,
            famille.name,
            invoice.label,
            _amount(invoice.total),
            _amount(invoice.paid),
            _amount(invoice.due_amount),
            invoice.get_status_display(),
        )


def _payment_rows(payments):
    for payment in payments.iterator(chunk_size=500):
        famille = payment.famille
        yield (
            payment.regie.code,
            payment.number,
            _day(payment.received_on),
            payment.get_method_display(),
            payment.reference or payment.transaction_reference,
            famille.reference,
            famille.name,
            _amount(payment.amount),
            payment.get_status_display(),
            ", ".join(
                f"{allocation.invoice.number} ({_amount(allocation.amount)})"
                for allocation in payment.allocations.all()
            ),
        )


@regie_required
@require_GET
def export(request):
    today = timezone.localdate()
    bound = "type" in request.GET
    form = ExportForm(request.GET if bound else None, commune=request.commune, today=today)
    if bound and form.is_valid():
        data = form.cleaned_data
        start, end, regie = data["du"], data["au"], data.get("regie")
        suffix = f"{request.commune.slug}-{start:%Y%m%d}-{end:%Y%m%d}"
        if data["type"] == EXPORT_INVOICES:
            invoices = selectors.period_invoices(request.commune, start=start, end=end, regie=regie)
            header = [
                _("Régie"),
                _("Numéro"),
                _("Émise le"),
                _("À régler avant le"),
                _("Code famille"),
                _("Famille"),
                _("Libellé"),
                _("Montant"),
                _("Réglé"),
                _("Reste dû"),
                _("État"),
            ]
            return _csv(f"factures-{suffix}.csv", header, _invoice_rows(invoices))
        payments = selectors.period_payments(request.commune, start=start, end=end, regie=regie)
        header = [
            _("Régie"),
            _("Reçu n°"),
            _("Reçu le"),
            _("Mode"),
            _("Référence"),
            _("Code famille"),
            _("Famille"),
            _("Montant"),
            _("État"),
            _("Factures (part réglée)"),
        ]
        return _csv(f"paiements-{suffix}.csv", header, _payment_rows(payments))
    return _page(
        request,
        "payments/guichet/export.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
