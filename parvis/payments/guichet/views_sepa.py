"""The régie's SEPA direct debit (issue 19 §1), under /<commune>/guichet/regie/prelevements/:
the batches (prepare one for a collection date, download its pain.008, mark it transmitted,
cancel it before), each debit's reject (its reason code) or rejects pasted from the bank's
statement, the mandates (those suspended after two rejects to review first), a paper mandate to
record, a mandate to reactivate or end.

Régie agents and the administrator only (`regie_required`). Thin views: reads from
parvis.payments.selectors_sepa scoped to the commune in the URL (another commune's batch, debit
or mandate is a 404); writes through parvis.payments.services_sepa, which audit."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.agents import regie_required
from parvis.payments import selectors_sepa, sepa, services_sepa
from parvis.payments.forms_sepa import (
    BatchForm,
    ImportRejectsForm,
    PaperMandateForm,
    RejectForm,
    errors_on,
)
from parvis.payments.guichet import selectors as guichet_selectors
from parvis.payments.models import BatchStatus, DebitStatus, MandateStatus

SECTION = "guichet_regie:impayes"
PER_PAGE = 50


def _page(request, template, context, *, status=200):
    return render(
        request,
        template,
        {"current_section": SECTION, "here": "prelevements", **context},
        status=status,
    )


def _regies(request):
    return selectors_sepa.regies_with_creditor(commune=request.commune)


def _batch_or_404(request, pk):
    batch = selectors_sepa.batch(commune=request.commune, pk=pk)
    if batch is None:
        raise Http404(_("Ce lot de prélèvements n'existe pas."))
    return batch


def _mandate_or_404(request, pk):
    mandate = selectors_sepa.mandate(commune=request.commune, pk=pk)
    if mandate is None:
        raise Http404(_("Ce mandat n'existe pas."))
    return mandate


# --- Batches -------------------------------------------------------------------------------------


@regie_required
@require_http_methods(["GET", "POST"])
def prelevements(request):
    """The batches, newest first, the mandates to review, and « Préparer un lot »."""
    regies = _regies(request)
    form = BatchForm(
        request.POST or None,
        regies=regies,
        initial={"collection_date": sepa.earliest_collection(timezone.localdate())},
    )
    if request.method == "POST" and form.is_valid():
        regie = next((r for r in regies if r.pk == form.cleaned_data["regie"]), None)
        try:
            if regie is None:
                raise ValidationError({"regie": _("Choisissez une régie.")})
            batch = services_sepa.prepare_batch(
                regie=regie,
                collection_date=form.cleaned_data["collection_date"],
                actor=request.user,
            )
        except ValidationError as error:
            errors_on(form, error)
        else:
            messages.success(
                request,
                ngettext(
                    "Lot préparé : %(n)s prélèvement, %(total)s €.",
                    "Lot préparé : %(n)s prélèvements, %(total)s €.",
                    batch.count,
                )
                % {"n": batch.count, "total": f"{batch.total:.2f}".replace(".", ",")},
            )
            return redirect("guichet_regie:lot", commune=request.commune.slug, pk=batch.pk)
    page = Paginator(selectors_sepa.batches(commune=request.commune), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return _page(
        request,
        "payments/guichet/sepa/prelevements.html",
        {
            "form": form,
            "regies": regies,
            "page": page,
            "rows": list(page.object_list),
            "to_review": list(
                selectors_sepa.mandates(commune=request.commune, status=MandateStatus.SUSPENDU)[
                    :PER_PAGE
                ]
            ),
        },
        status=400 if form.errors else 200,
    )


def _batch_page(request, batch, *, import_form=None, status=200):
    debits = selectors_sepa.debits_of(batch)
    for debit in debits:
        debit.reject_label = sepa.reject_label(debit.reject_code) if debit.reject_code else ""
    return _page(
        request,
        "payments/guichet/sepa/lot.html",
        {
            "batch": batch,
            "debits": debits,
            "can_reject": batch.status in (BatchStatus.ENVOYE, BatchStatus.REGLE),
            "reject_form": RejectForm(initial={"rejected_on": timezone.localdate()}),
            "import_form": import_form or ImportRejectsForm(),
            "rejectable": (DebitStatus.EN_COURS, DebitStatus.PAYE),
        },
        status=status,
    )


@regie_required
@require_GET
def lot(request, pk):
    return _batch_page(request, _batch_or_404(request, pk))


@regie_required
@require_GET
def lot_xml(request, pk):
    """The batch's pain.008 file, as generated (and checked against the schema) when prepared."""
    batch = _batch_or_404(request, pk)
    if not batch.xml:
        raise Http404(_("Ce lot n'a pas de fichier."))
    response = HttpResponse(batch.xml.encode(), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{batch.message_id}.xml"'
    return response


@regie_required
@require_POST
def lot_transmis(request, pk):
    batch = _batch_or_404(request, pk)
    try:
        services_sepa.mark_sent(batch=batch, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Lot noté transmis à la banque."))
    return redirect("guichet_regie:lot", commune=request.commune.slug, pk=batch.pk)


@regie_required
@require_POST
def lot_annuler(request, pk):
    batch = _batch_or_404(request, pk)
    try:
        services_sepa.cancel_batch(batch=batch, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Lot annulé : ses factures sont de nouveau à régler."))
    return redirect("guichet_regie:lot", commune=request.commune.slug, pk=batch.pk)


@regie_required
@require_POST
def rejet(request, pk):
    """One debit's reject, from the batch's page."""
    debit = selectors_sepa.debit(commune=request.commune, pk=pk)
    if debit is None:
        raise Http404(_("Ce prélèvement n'existe pas."))
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services_sepa.record_reject(
                debit=debit,
                code=form.cleaned_data["code"],
                rejected_on=form.cleaned_data["rejected_on"],
                actor=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Rejet enregistré : la facture n° %(n)s est de nouveau à régler.")
                % {"n": debit.invoice.number},
            )
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("guichet_regie:lot", commune=request.commune.slug, pk=debit.batch_id)


@regie_required
@require_POST
def rejets_importer(request, pk):
    batch = _batch_or_404(request, pk)
    form = ImportRejectsForm(request.POST)
    if not form.is_valid():
        return _batch_page(request, batch, import_form=form, status=400)
    result = services_sepa.import_rejects(
        regie=batch.regie, text=form.cleaned_data["lines"], actor=request.user
    )
    if result.recorded:
        messages.success(
            request,
            ngettext("%(n)s rejet enregistré.", "%(n)s rejets enregistrés.", len(result.recorded))
            % {"n": len(result.recorded)},
        )
    if result.errors:
        form.add_error("lines", result.errors)
        return _batch_page(request, batch, import_form=form, status=400)
    return redirect("guichet_regie:lot", commune=request.commune.slug, pk=batch.pk)


# --- Mandates ------------------------------------------------------------------------------------


@regie_required
@require_GET
def mandats(request):
    status = request.GET.get("etat", "")
    if status not in MandateStatus.values:
        status = ""
    page = Paginator(
        selectors_sepa.mandates(commune=request.commune, status=status or None), PER_PAGE
    ).get_page(request.GET.get("page"))
    return _page(
        request,
        "payments/guichet/sepa/mandats.html",
        {
            "page": page,
            "rows": list(page.object_list),
            "status": status,
            "statuses": [
                (value, label)
                for value, label in MandateStatus.choices
                if value != MandateStatus.EN_ATTENTE
            ],
        },
    )


@regie_required
@require_GET
def mandat(request, pk):
    mandate = _mandate_or_404(request, pk)
    labels = dict(MandateStatus.choices)
    history = [
        (change, labels.get(change.from_status, ""), labels.get(change.to_status, ""))
        for change in selectors_sepa.mandate_history(mandate=mandate)
    ]
    return _page(
        request,
        "payments/guichet/sepa/mandat.html",
        {
            "mandate": mandate,
            "iban": sepa.format_iban(mandate.iban),
            "history": history,
            "debits": selectors_sepa.mandate_debits(mandate=mandate),
        },
    )


@regie_required
@require_POST
def mandat_reactiver(request, pk):
    mandate = _mandate_or_404(request, pk)
    try:
        services_sepa.reactivate_mandate(mandate=mandate, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Mandat réactivé : les prochaines factures seront prélevées."))
    return redirect("guichet_regie:mandat", commune=request.commune.slug, pk=mandate.pk)


@regie_required
@require_POST
def mandat_revoquer(request, pk):
    mandate = _mandate_or_404(request, pk)
    try:
        services_sepa.revoke_mandate(
            mandate=mandate, actor=request.user, reason=_("Fin enregistrée par la régie")
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Mandat terminé."))
    return redirect("guichet_regie:mandat", commune=request.commune.slug, pk=mandate.pk)


@regie_required
@require_http_methods(["GET", "POST"])
def mandat_papier(request):
    regies = _regies(request)
    form = PaperMandateForm(request.POST or None, regies=regies)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        regie = next((r for r in regies if r.pk == data["regie"]), None)
        famille = guichet_selectors.famille_by_code(commune=request.commune, code=data["famille"])
        try:
            if famille is None:
                raise ValidationError({"famille": _("Aucune famille de la commune n'a ce code.")})
            if regie is None:
                raise ValidationError({"regie": _("Choisissez une régie.")})
            mandate = services_sepa.record_paper_mandate(
                regie=regie,
                famille=famille,
                actor=request.user,
                holder_name=data["holder_name"],
                iban=data["iban"],
                bic=data["bic"],
                signed_on=data["signed_on"],
                rum=data["rum"],
            )
        except ValidationError as error:
            errors_on(form, error)
        else:
            messages.success(
                request, _("Mandat papier enregistré : %(rum)s.") % {"rum": mandate.rum}
            )
            return redirect("guichet_regie:mandat", commune=request.commune.slug, pk=mandate.pk)
    return _page(
        request,
        "payments/guichet/sepa/mandat_papier.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
