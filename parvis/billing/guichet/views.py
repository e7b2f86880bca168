"""The invoicing pages of the régie, under /<commune>/guichet/regie/: the monthly runs, the
preview of a month (« Nouvelle facturation ») and « Émettre les factures » (a background task:
the run's page follows its progress and offers « Reprendre » when it stopped), a run's page (its
invoices, « Envoyer les factures en ligne », the paper invoices to print as one PDF), a single
invoice for a stay, and cancelling an invoice with a reason. Billing's agent pages: their routes
are in parvis.payments.guichet.urls, under the régie's namespace `guichet_regie`.

Thin views, for the régie's agents (`regie_required`): reads scoped to the commune (another
commune's run or invoice is a 404), writes through billing.services_runs / billing.services /
billing.delivery."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.agents import regie_required
from parvis.billing import invoicing, services_runs
from parvis.billing.guichet import selectors
from parvis.billing.guichet.forms import (
    CancelInvoiceForm,
    FamilyLookupForm,
    MonthForm,
    StayInvoiceForm,
)
from parvis.billing.models import (
    InvoiceStatus,
    InvoicingRun,
    InvoicingRunStatus,
)
from parvis.billing.pricing import money
from parvis.billing.services import cancel_invoice

SECTION = "guichet_regie:facturations"
PER_PAGE = 50
RUNS_PER_PAGE = 25
PRINT_BATCH = 200  # paper invoices per printed PDF


def _page(request, template, context, *, status=200):
    return render(request, template, {"current_section": SECTION, **context}, status=status)


def _run_url(request, run) -> str:
    return reverse("guichet_regie:facturation", args=[request.commune.slug, run.pk])


# --- The runs ------------------------------------------------------------------------------------


@regie_required
@require_GET
def facturations(request):
    page = Paginator(selectors.runs(request.commune), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    runs = list(page.object_list)
    now = timezone.now()
    for run in runs:
        run.running = services_runs.is_running(run, now=now)
    return _page(request, "billing/guichet/liste.html", {"page": page, "runs": runs})


# --- Preview and issue ------------------------------------------------------------------------


def _complete(run: InvoicingRun | None, regie, month) -> bool:
    """Whether that month's run is done (« terminée », no family left to bill)."""
    if run is None or run.status != InvoicingRunStatus.TERMINEE:
        return False
    return not services_runs.families_left(regie=regie, month=month)


@regie_required
@require_http_methods(["GET", "POST"])
def apercu(request):
    commune = request.commune
    if request.method == "POST":
        form = MonthForm(request.POST, commune=commune)
    else:
        data = request.GET.copy()
        for key, value in MonthForm.defaults(commune).items():
            data.setdefault(key, value)  # the first régie and the previous month
        form = MonthForm(data, commune=commune)
    context = {"form": form, "done": None, "bills": None}
    valid = form.is_valid()
    if not valid and "regie" in form.errors and not selectors.has_regie(commune):
        context["no_regie"] = True  # nothing to choose: said, not an error
    elif valid:
        regie, month = form.cleaned_data["regie"], form.cleaned_data["mois"]
        context.update(regie=regie, month=month, month_name=invoicing.month_name(month))
        run = selectors.run_of_month(regie, month)
        if _complete(run, regie, month):
            context["done"] = run
        elif run is not None and services_runs.is_running(run) and request.method == "GET":
            context["in_progress"] = run  # no preview while its task bills the families
        elif request.method == "POST":
            response = _issue(request, form, regie, month)
            if response is not None:
                return response
        else:
            _preview(request, form, regie, month, run, context)
    return _page(
        request,
        "billing/guichet/apercu.html",
        context,
        status=400 if form.errors and not context.get("no_regie") else 200,
    )


def _preview(request, form, regie, month, run, context) -> None:
    try:
        bills = invoicing.compute_month(
            regie=regie,
            month=month,
            famille_ids=services_runs.families_left(regie=regie, month=month),
        )
    except invoicing.MissingTariff as error:
        form.add_error(None, str(error))
        return
    page = Paginator(bills, PER_PAGE).get_page(request.GET.get("page"))
    context.update(
        bills=page.object_list,
        page=page,
        count=len(bills),
        total=sum((bill.total for bill in bills), invoicing.ZERO),
        resumed=run,  # a run started before (stopped by an error): the rest is billed
    )


def _issue(request, form, regie, month):
    """Records the run and queues its task (billing.services_runs.start_run); the run's page
    follows it. A second click while it works queues nothing."""
    try:
        run, queued = services_runs.start_run(regie=regie, month=month, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            form.add_error("mois", message)
        return None
    _say_started(request, run, queued)
    return redirect(_run_url(request, run))


def _say_started(request, run, queued: bool) -> None:
    run.refresh_from_db()  # the immediate backend (development) has already billed it
    month = invoicing.month_name(run.month)
    if run.status == InvoicingRunStatus.TERMINEE and not run.error:
        messages.success(
            request,
            ngettext(
                "Facturation de %(month)s : %(count)d facture émise, %(total)s.",
                "Facturation de %(month)s : %(count)d factures émises, %(total)s.",
                run.invoice_count,
            )
            % {"month": month, "count": run.invoice_count, "total": money(run.total)},
        )
    elif queued:
        messages.success(
            request,
            _("Facturation de %(month)s lancée : cette page suit son avancement.")
            % {"month": month},
        )
    else:
        messages.info(
            request,
            _("La facturation de %(month)s est déjà en cours : cette page suit son avancement.")
            % {"month": month},
        )


# --- One run -------------------------------------------------------------------------------------


REFRESH_SECONDS = 5  # the run's page reloads itself this often while the run moves
SENDING_WATCH = timedelta(hours=1)  # followed that long after « Envoyer »; then a reload


@regie_required
@require_http_methods(["GET", "POST"])
def facturation(request, pk: int):
    run = selectors.run_for(request.commune, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "reprendre":
            return _resume(request, run)
        if action != "envoyer":
            messages.error(request, _("Action inconnue : rien n'a été fait."))
            return redirect(_run_url(request, run))
        from parvis.billing.services_delivery import deliver_run

        result = deliver_run(run=run, actor=request.user)
        _say_delivered(request, result)
        return redirect(_run_url(request, run))
    page = Paginator(selectors.run_invoices(run), PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.delivery_counts(run)
    now = timezone.now()
    running = services_runs.is_running(run, now=now)
    online = counts["emailed"] + counts["to_email"]
    sending = bool(
        not running
        and counts["to_email"]
        and run.sending_requested_at
        and now - run.sending_requested_at < SENDING_WATCH
    )
    follow = request.GET.get("suivi") != "non"
    response = _page(
        request,
        "billing/guichet/facturation.html",
        {
            "run": run,
            "month_name": invoicing.month_name(run.month),
            "page": page,
            "invoices": list(page.object_list),
            "counts": counts,
            "running": running,
            "interrupted": run.status != InvoicingRunStatus.TERMINEE and not running,
            "run_error": services_runs.error_message(run),
            "families_done": min(run.families_done, run.families_total),
            "online": online,
            "sending": sending,
            "follow": follow,
            "refresh_seconds": REFRESH_SECONDS,
        },
    )
    if (running or sending) and follow:
        # Reloaded by the browser without JavaScript (the header is <meta http-equiv="refresh">'s
        # twin); « Arrêter l'actualisation » (?suivi=non) stops it, as WCAG 2.2.1 asks.
        response["Refresh"] = str(REFRESH_SECONDS)
    return response


def _resume(request, run):
    try:
        run, queued = services_runs.start_run(regie=run.regie, month=run.month, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(_run_url(request, run))
    if not queued and run.status == InvoicingRunStatus.TERMINEE:
        messages.info(request, _("Cette facturation est terminée : rien à reprendre."))
        return redirect(_run_url(request, run))
    _say_started(request, run, queued)
    return redirect(_run_url(request, run))


def _say_delivered(request, result) -> None:
    queued = result.get("queued", 0) if isinstance(result, dict) else 0
    if not queued:
        messages.info(request, _("Aucune facture en ligne à envoyer."))
        return
    messages.success(
        request,
        ngettext(
            "Envoi par courriel lancé pour %(n)d facture.",
            "Envoi par courriel lancé pour %(n)d factures.",
            queued,
        )
        % {"n": queued},
    )


@regie_required
@require_http_methods(["GET", "POST"])
def a_imprimer(request, pk: int):
    """The run's paper invoices; « Imprimer » makes one PDF of those not printed yet (by
    batches of PRINT_BATCH, in number order) and marks them printed."""
    run = selectors.run_for(request.commune, pk)
    if request.method == "POST":
        batch = selectors.print_batch(run, PRINT_BATCH)
        if not batch:
            messages.info(request, _("Toutes les factures papier de ce mois sont imprimées."))
            return redirect("guichet_regie:a_imprimer", request.commune.slug, run.pk)
        from parvis.billing.delivery import mark_printed
        from parvis.billing.pdf import invoices_pdf

        content = invoices_pdf(batch)
        mark_printed(invoices=batch, actor=request.user)
        response = HttpResponse(content, content_type="application/pdf")
        filename = (
            f"factures-{run.regie.code}-{run.month:%Y-%m}-{batch[0].number}-{batch[-1].number}.pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    page = Paginator(selectors.paper_invoices(run), PER_PAGE).get_page(request.GET.get("page"))
    left = selectors.paper_left(run)
    return _page(
        request,
        "billing/guichet/a_imprimer.html",
        {
            "run": run,
            "month_name": invoicing.month_name(run.month),
            "page": page,
            "invoices": list(page.object_list),
            "left": left,
            "batch": min(left, PRINT_BATCH),
        },
    )


# --- Single invoices and cancelling ------------------------------------------------------------


@regie_required
@require_http_methods(["GET", "POST"])
def facture_sejour(request):
    """Step 1, the family by its code famille (GET ?famille=…); step 2, the stay."""
    commune = request.commune
    lookup = FamilyLookupForm(request.GET if "famille" in request.GET else None, commune=commune)
    if not lookup.is_valid():
        if request.method == "POST":
            return redirect("guichet_regie:facture_sejour", commune.slug)
        return _page(
            request,
            "billing/guichet/sejour.html",
            {"lookup": lookup, "form": None},
            status=400 if lookup.errors else 200,
        )
    famille = lookup.cleaned_data["famille"]
    form = StayInvoiceForm(request.POST or None, commune=commune, famille=famille)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invoice = services_runs.create_stay_invoice(
                regie=data["regie"], famille=famille, category=data["rubrique"],
                label=data["libelle"], child=data["enfant"], period_start=data["du"],
                period_end=data["au"], quantity=data["quantite"],
                unit_price=data["prix_unitaire"], actor=request.user,
            )  # fmt: skip
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                _("Facture n° %(number)s émise : %(label)s, %(total)s.")
                % {"number": invoice.number, "label": invoice.label, "total": money(invoice.total)},
            )
            return redirect("guichet_regie:facture", commune.slug, invoice.pk)
    return _page(
        request,
        "billing/guichet/sejour.html",
        {"lookup": lookup, "famille": famille, "form": form},
        status=400 if form.errors else 200,
    )


STAY_FIELDS = {
    "label": "libelle",
    "period_end": "au",
    "quantity": "quantite",
    "unit_price": "prix_unitaire",
    "child": "enfant",
}


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            for message in errors:
                form.add_error(STAY_FIELDS.get(field), message)
    else:
        for message in error.messages:
            form.add_error(None, message)


@regie_required
@require_http_methods(["GET", "POST"])
def annuler_facture(request, pk: int):
    invoice = selectors.invoice_to_cancel(request.commune, pk)
    form = CancelInvoiceForm(request.POST or None)
    if request.method == "POST" and invoice.status == InvoiceStatus.ANNULEE:
        form.add_error(None, _("Cette facture est déjà annulée."))
    elif request.method == "POST" and form.is_valid():
        try:
            cancel_invoice(invoice=invoice, actor=request.user, reason=form.cleaned_data["motif"])
        except ValidationError as error:
            for message in error.messages:
                form.add_error("motif", message)
        else:
            messages.success(
                request, _("La facture n° %(number)s est annulée.") % {"number": invoice.number}
            )
            return redirect("guichet_regie:facture", request.commune.slug, invoice.pk)
    return _page(
        request,
        "billing/guichet/annuler.html",
        {
            "invoice": invoice,
            "form": form,
            "cancellable": invoice.status != InvoiceStatus.ANNULEE and invoice.paid == 0,
        },
        status=400 if form.errors else 200,
    )
