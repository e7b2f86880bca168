"""The family's SEPA direct debit (issue 19 §1), under /<commune>/paiement/prelevement/: sign a
mandate for a régie (holder, IBAN, the SEPA wording, consent), confirm it with the code e-mailed,
see it and download it as a PDF, revoke it. « Mon compte » shows the panel that leads here.

Thin views: reads through parvis.payments.selectors_sepa, scoped to the commune of the URL and
the families of the logged-in account; writes through parvis.payments.services_sepa."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from parvis.accounts.decorators import citizen_required
from parvis.accounts.network import client_ip
from parvis.billing import selectors as billing_selectors
from parvis.billing.pdf import render_pdf
from parvis.ids import parse_id
from parvis.payments import selectors_sepa, sepa, services_sepa
from parvis.payments.forms_sepa import CodeForm, MandateForm, RevokeForm, errors_on
from parvis.payments.models import MandateStatus

SECTION = "billing:mon_compte"
# A form sent back with its errors answers 200 (« Erreur : » in its title, the summary, each
# message at its field), as the families' other forms do.


def _families(request):
    return list(billing_selectors.citizen_families(user=request.user, commune=request.commune))


def _creditor_or_404(request, regie_pk):
    pk = parse_id(regie_pk)
    for creditor in selectors_sepa.creditors(commune=request.commune):
        if creditor.regie_id == pk:
            return creditor
    raise Http404(_("Cette régie ne propose pas le prélèvement automatique."))


def _mandate_or_404(request, pk):
    mandate = selectors_sepa.mandate_of(famille=_families(request), commune=request.commune, pk=pk)
    if mandate is None:
        raise Http404(_("Ce mandat n'existe pas."))
    return mandate


def _user_agent(request) -> str:
    return request.headers.get("User-Agent", "")[:300]


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def signer(request, regie_pk):
    """« Signer un mandat de prélèvement » for a régie: also how a family changes its account
    (a new mandate replaces the old one once confirmed)."""
    creditor = _creditor_or_404(request, regie_pk)
    families = _families(request)
    if not families:
        raise Http404(_("Aucun dossier famille n'est lié à votre espace."))
    form = MandateForm(request.POST or None, families=families)
    if request.method == "POST" and form.is_valid():
        famille = families[0]
        if "famille" in form.cleaned_data:
            famille = next(f for f in families if f.pk == form.cleaned_data["famille"])
        try:
            mandate, _code = services_sepa.start_mandate(
                famille=famille,
                regie=creditor.regie,
                user=request.user,
                holder_name=form.cleaned_data["holder_name"],
                iban=form.cleaned_data["iban"],
                bic=form.cleaned_data["bic"],
                consent=form.cleaned_data["consent"],
                ip=client_ip(request),
                user_agent=_user_agent(request),
            )
        except ValidationError as error:
            errors_on(form, error)
        else:
            return redirect(
                "payments:mandat_confirmer", commune=request.commune.slug, pk=mandate.pk
            )
    return render(
        request,
        "payments/sepa/signer.html",
        {
            "form": form,
            "creditor": creditor,
            "wording": sepa.mandate_wording(creditor.creditor_name),
            "current": selectors_sepa.live_mandate_of(
                famille=families, commune=request.commune, regie=creditor.regie
            ),
            "current_section": SECTION,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def confirmer(request, pk):
    """The code e-mailed: typed here, it signs the mandate."""
    mandate = _mandate_or_404(request, pk)
    if mandate.status != MandateStatus.EN_ATTENTE:
        return redirect("payments:mandat", commune=request.commune.slug, pk=mandate.pk)
    if mandate.created_by_id != request.user.pk:
        raise Http404(_("Ce mandat n'existe pas."))  # the code went to the account that asked
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services_sepa.confirm_mandate(
            mandate=mandate,
            user=request.user,
            code=form.cleaned_data["code"],
            ip=client_ip(request),
            user_agent=_user_agent(request),
        )
        if result.ok:
            messages.success(
                request,
                _("Votre mandat est signé : référence %(rum)s.") % {"rum": result.mandate.rum},
            )
            return redirect("payments:mandat", commune=request.commune.slug, pk=mandate.pk)
        form.add_error("code", result.error)
    return render(
        request,
        "payments/sepa/confirmer.html",
        {"form": form, "mandate": mandate, "current_section": SECTION},
    )


@never_cache
@require_safe
@citizen_required
def mandat(request, pk):
    mandate = _mandate_or_404(request, pk)
    if mandate.status == MandateStatus.EN_ATTENTE:
        if mandate.created_by_id != request.user.pk:
            raise Http404(_("Ce mandat n'existe pas."))
        return redirect("payments:mandat_confirmer", commune=request.commune.slug, pk=mandate.pk)
    return _mandate_page(request, mandate, RevokeForm())


def _mandate_page(request, mandate, form, *, status=200):
    creditor = selectors_sepa.creditor_of(mandate.regie)
    return render(
        request,
        "payments/sepa/mandat.html",
        {
            "mandate": mandate,
            "creditor": creditor,
            "iban": sepa.format_iban(mandate.iban),
            "live": mandate.status in (MandateStatus.ACTIF, MandateStatus.SUSPENDU),
            "form": form,
            "current_section": SECTION,
        },
        status=status,
    )


@never_cache
@require_POST
@citizen_required
def revoquer(request, pk):
    mandate = _mandate_or_404(request, pk)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services_sepa.revoke_mandate(
                mandate=mandate, actor=request.user, reason=_("Révoqué par la famille")
            )
        except ValidationError as error:
            errors_on(form, error)
        else:
            messages.success(
                request, _("Votre mandat a pris fin : plus aucune facture ne sera prélevée.")
            )
            return redirect("payments:mandat", commune=request.commune.slug, pk=mandate.pk)
    return _mandate_page(request, mandate, form)


@never_cache
@require_safe
@citizen_required
def mandat_pdf(request, pk):
    mandate = _mandate_or_404(request, pk)
    if not mandate.rum:
        raise Http404(_("Ce mandat n'est pas encore signé."))
    pdf = render_pdf("payments/pdf/mandat.html", mandate_pdf_context(mandate))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="mandat-{mandate.rum}.pdf"'
    return response


def mandate_pdf_context(mandate) -> dict:
    creditor = selectors_sepa.creditor_of(mandate.regie)
    return {
        "mandate": mandate,
        "creditor": creditor,
        "commune": mandate.commune,
        "regie": mandate.regie,
        "iban": sepa.format_iban(mandate.iban),
        "wording": sepa.mandate_wording(creditor.creditor_name if creditor else mandate.regie.name),
    }
