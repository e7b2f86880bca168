"""The family's PDFs, under /<commune>/mon-espace/factures/: an invoice (« Imprimer » /
« Télécharger la facture (PDF) » from « Mon compte »), a payment receipt, and « Édition de
documents » (the certificate for the tax credit on childcare, the attendance certificate, the
receipts of every payment).

Thin views: reads through parvis.billing.selectors_documents, scoped to the commune of the URL
and to the logged-in citizen (another family's invoice, payment or child, another commune's, a
malformed id: 404); the PDFs from parvis.billing.pdf. The two certificate forms are sent by GET
(they change nothing; the address of a certificate can be bookmarked) — POST is accepted too —
and on a mistake the documents page comes back with the errors next to the fields."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.billing import pdf
from parvis.billing import selectors_documents as selectors
from parvis.billing.forms_documents import AttendanceCertificateForm, TaxCertificateForm
from parvis.billing.pricing import money
from parvis.ids import parse_id

SECTION = "billing:documents"
PER_PAGE = 20


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, filename)
    return response


@never_cache
@require_GET
@citizen_required
def facture_pdf(request, pk):
    """The invoice as PDF, shown in the browser (« facture-7916.pdf »)."""
    invoice = selectors.family_invoice(user=request.user, commune=request.commune, pk=pk)
    if invoice is None:
        raise Http404(_("Cette facture n'existe pas."))
    return _pdf_response(pdf.invoice_pdf(invoice), f"facture-{invoice.number}.pdf")


@never_cache
@require_GET
@citizen_required
def recu_pdf(request, pk):
    """The receipt of one of the family's payments (« recu-12.pdf »); a cancelled payment's
    says « Annulé »."""
    payment = selectors.family_payment(user=request.user, commune=request.commune, pk=pk)
    if payment is None:
        raise Http404(_("Ce paiement n'existe pas."))
    return _pdf_response(pdf.receipt_pdf(payment), f"recu-{payment.number}.pdf")


def _forms(request, data=None, *, which=None):
    """The two forms of the page, the one named `which` bound to `data`."""
    user, commune = request.user, request.commune
    today = timezone.localdate()
    familles = selectors.linked_familles(user=user, commune=commune)
    tax_form = TaxCertificateForm(
        data if which == "tax" else None,
        familles=familles,
        years=selectors.payment_years(familles=familles),
        today=today,
    )
    presence_form = AttendanceCertificateForm(
        data if which == "presence" else None,
        children=selectors.family_children(user=user, commune=commune),
        today=today,
    )
    return familles, tax_form, presence_form


def _page(request, familles, tax_form, presence_form):
    paginator = Paginator(
        selectors.family_payments(user=request.user, commune=request.commune), PER_PAGE
    )
    page = paginator.get_page(request.GET.get("page"))
    payments = list(page.object_list)
    for payment in payments:
        payment.amount_text = money(payment.amount)
    return render(
        request,
        "billing/documents.html",
        {
            "familles": familles,
            "tax_form": tax_form,
            "has_years": bool(tax_form.fields["year"].choices),
            "presence_form": presence_form,
            "has_children": bool(presence_form.fields["child"].choices),
            "page": page,
            "payments": payments,
            "current_section": SECTION,
        },
    )


@never_cache
@require_GET
@citizen_required
def documents(request):
    """« Édition de documents »."""
    return _page(request, *_forms(request))


def _submitted(request):
    """The form's data (GET or POST), None when nothing was sent."""
    data = request.POST if request.method == "POST" else request.GET
    if not any(key != "page" for key in data):
        return None
    return data


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def attestation_fiscale(request):
    """« Attestation pour le crédit d'impôt (frais de garde) » of the year chosen, as PDF."""
    data = _submitted(request)
    if data is None:
        return redirect("billing:documents", commune=request.commune.slug)
    familles, tax_form, presence_form = _forms(request, data, which="tax")
    famille_id = parse_id(data.get("famille", ""))
    if famille_id is not None and famille_id not in tax_form.familles:
        raise Http404(_("Ce foyer n'existe pas."))
    if tax_form.is_valid():
        year = tax_form.cleaned_data["year"]
        content = pdf.tax_certificate_pdf(famille=tax_form.cleaned_data["famille"], year=year)
        return _pdf_response(content, f"attestation-frais-de-garde-{year}.pdf")
    return _page(request, familles, tax_form, presence_form)


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def attestation_presence(request):
    """« Attestation de présence » of a child for a period, as PDF."""
    data = _submitted(request)
    if data is None:
        return redirect("billing:documents", commune=request.commune.slug)
    familles, tax_form, presence_form = _forms(request, data, which="presence")
    child_id = parse_id(data.get("child", ""))
    if child_id is not None and child_id not in presence_form.children:
        # Only a hand-made address names a child the account does not see: another family's.
        raise Http404(_("Cet enfant n'existe pas."))
    if presence_form.is_valid():
        child = presence_form.cleaned_data["child"]
        start, end = presence_form.cleaned_data["start"], presence_form.cleaned_data["end"]
        # A child in shared custody: the certificate of the account's own household (its
        # address, its days), never the other parent's.
        mine = {famille.pk: famille for famille in familles}
        famille = mine.get(child.famille_id) or mine.get(child.custody.other_famille_id)
        content = pdf.attendance_certificate_pdf(famille=famille, child=child, start=start, end=end)
        return _pdf_response(
            content, f"attestation-presence-{child.pk}-{start:%Y%m%d}-{end:%Y%m%d}.pdf"
        )
    return _page(request, familles, tax_form, presence_form)
