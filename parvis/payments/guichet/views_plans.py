"""The régie's payment plans (« échéanciers », issue 19 §3), under /<commune>/guichet/regie/:
the list (plans with a late instalment first: the flag of a missed instalment), granting a plan
to a family for some of its due invoices, one plan with its instalments and history, a payment
of an instalment at the counter and the end of a plan (« rompu », « annulé »).

Régie agents and the administrator only (`regie_required`). Thin views: reads from
parvis.billing.selectors_plans scoped to the commune in the URL (another commune's plan or
family is a 404); writes through parvis.billing.services_plans (grant_plan, end_plan) and
parvis.billing.services.record_payment (the counter payment, spread over the plan's invoices in
order), which audit."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.agents import regie_required
from parvis.billing import selectors_plans, services, services_plans
from parvis.billing.models import InstalmentStatus, PlanStatus
from parvis.billing.pricing import money
from parvis.payments.guichet import selectors
from parvis.payments.guichet.forms_plans import (
    CALCULATE,
    EndPlanForm,
    GrantPlanForm,
    InstalmentPaymentForm,
    PlansFilterForm,
)
from parvis.payments.guichet.views import _errors_on

PER_PAGE = 50
SECTION = "guichet_regie:impayes"


def _page(request, template, context, *, status=200):
    return render(request, template, {"current_section": SECTION, **context}, status=status)


@regie_required
@require_GET
def echeanciers(request):
    form = PlansFilterForm(request.GET or None)
    filters = form.filters()
    rows = selectors_plans.regie_plans(request.commune, **filters)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return _page(
        request,
        "payments/guichet/echeanciers.html",
        {
            "form": form,
            "filters_active": any(filters.values()),
            "page": page,
            "rows": list(page.object_list),
            "late_instalments": selectors_plans.late_instalment_count(request.commune),
        },
    )


@regie_required
@require_http_methods(["GET", "POST"])
def accorder(request, pk: int):
    famille = selectors.famille_for(request.commune, pk)
    today = timezone.localdate()
    invoices = selectors.plannable_invoices(commune=request.commune, famille=famille)
    form = None
    status = 200
    if invoices:
        if request.method == "POST" and request.POST.get("action") == CALCULATE:
            base = GrantPlanForm(request.POST, invoices=invoices, today=today, with_schedule=False)
            if base.is_valid():
                data = base.cleaned_data
                form = GrantPlanForm(
                    initial={
                        "invoices": data["invoices"],
                        "nombre": data["nombre"],
                        "premiere": data["premiere"],
                        "note": data["note"],
                    },
                    invoices=invoices,
                    today=today,
                    with_schedule=True,
                )
            else:
                form, status = base, 400
        elif request.method == "POST":
            form = GrantPlanForm(request.POST, invoices=invoices, today=today, with_schedule=True)
            if form.is_valid():
                try:
                    plan = services_plans.grant_plan(
                        famille=famille,
                        invoices=form.chosen(),
                        schedule=form.cleaned_data["schedule"],
                        actor=request.user,
                        note=form.cleaned_data["note"],
                        today=today,
                    )
                except ValidationError as error:
                    _errors_on(form, error)
                else:
                    messages.success(
                        request,
                        _("Échéancier accordé : %(total)s en %(count)d échéances.")
                        % {"total": money(plan.total), "count": len(form.cleaned_data["schedule"])},
                    )
                    return redirect("guichet_regie:echeancier", request.commune.slug, plan.pk)
            status = 400
        else:
            form = GrantPlanForm(invoices=invoices, today=today, with_schedule=True)
    schedule_rows = []
    if form is not None and form.count:
        schedule_rows = [
            (number, form[f"date_{number}"], form[f"montant_{number}"])
            for number in range(1, form.count + 1)
        ]
    return _page(
        request,
        "payments/guichet/echeancier_accorder.html",
        {
            "famille": famille,
            "form": form,
            "invoices": invoices,
            "schedule_rows": schedule_rows,
        },
        status=status,
    )


def _plan_page(request, plan, *, end_form=None, status=200):
    labels = {**dict(PlanStatus.choices), **dict(InstalmentStatus.choices)}
    history = [
        (change, labels.get(change.from_status, ""), labels.get(change.to_status, ""))
        for change in plan.history.all()
    ]
    return _page(
        request,
        "payments/guichet/echeancier.html",
        {
            "plan": plan,
            "next": selectors_plans.next_instalment(plan),
            "remaining": selectors_plans.remaining(plan),
            "history": history,
            "end_form": end_form or EndPlanForm(),
            "active": plan.status == PlanStatus.ACTIF,
        },
        status=status,
    )


@regie_required
@require_GET
def echeancier(request, pk: int):
    return _plan_page(request, selectors_plans.plan_for(request.commune, pk))


@regie_required
@require_POST
def terminer(request, pk: int):
    plan = selectors_plans.plan_for(request.commune, pk)
    form = EndPlanForm(request.POST)
    if form.is_valid():
        try:
            services_plans.end_plan(
                plan=plan,
                to=form.cleaned_data["to"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _errors_on(form, error)
        else:
            messages.success(
                request,
                _("L'échéancier a pris fin : ses factures sont de nouveau dues comme factures."),
            )
            return redirect("guichet_regie:echeancier", request.commune.slug, plan.pk)
    plan = selectors_plans.plan_for(request.commune, pk)
    return _plan_page(request, plan, end_form=form, status=400)


@regie_required
@require_http_methods(["GET", "POST"])
def encaisser_echeance(request, pk: int):
    plan = selectors_plans.plan_for(request.commune, pk)
    instalment = selectors_plans.next_instalment(plan)
    if instalment is None:
        messages.info(request, _("Cet échéancier n'a plus d'échéance à payer."))
        return redirect("guichet_regie:echeancier", request.commune.slug, plan.pk)
    today = timezone.localdate()
    remaining = selectors_plans.remaining(plan)
    form = InstalmentPaymentForm(
        request.POST if request.method == "POST" else None,
        plan=plan,
        instalment=instalment,
        remaining=remaining,
        today=today,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        allocations = selectors_plans.instalment_allocations(plan, data["amount"])
        try:
            if sum(share for _invoice, share in allocations) != data["amount"]:
                raise ValidationError(
                    {"amount": _("Les factures de l'échéancier n'ont plus autant à régler.")}
                )
            payment = services.record_payment(
                regie=plan.regie,
                famille=plan.famille,
                allocations=allocations,
                method=data["method"],
                received_on=data["received_on"],
                actor=request.user,
                reference=data.get("reference", ""),
                payer_name=data.get("payer_name", ""),
            )
        except ValidationError as error:
            _errors_on(form, error)
        else:
            messages.success(
                request,
                _("Paiement de %(amount)s enregistré : reçu n° %(number)s.")
                % {"amount": money(payment.amount), "number": payment.number},
            )
            return redirect("guichet_regie:echeancier", request.commune.slug, plan.pk)
    return _page(
        request,
        "payments/guichet/echeance_encaisser.html",
        {"plan": plan, "instalment": instalment, "remaining": remaining, "form": form},
        status=400 if form.errors else 200,
    )
