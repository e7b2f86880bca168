"""« Payer cette échéance », under /<commune>/paiement/echeance/: starts paying online the next
instalment of one of the family's payment plans (issue 19 §3) and sends the browser to the
provider, as « Payer » does for invoices. The browser sends only the plan's id (`echeancier`);
the amount is the server's (payments.services_plans)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from parvis.accounts.decorators import citizen_required
from parvis.billing.pricing import money
from parvis.billing.selectors import citizen_families
from parvis.payments import services, services_plans

SECTION = "billing:mon_compte"


@never_cache
@require_POST
@citizen_required
def payer_echeance(request):
    commune = request.commune
    plan_id = request.POST.get("echeancier", "")
    try:
        transaction, target = services_plans.start_instalment_payment(
            families=citizen_families(user=request.user, commune=commune),
            user=request.user,
            commune=commune,
            plan_id=plan_id,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("billing:mon_compte", commune=commune.slug)
    if not target.is_form:
        return redirect(target.url)
    provider = services.provider_for_transaction(transaction)
    response = render(
        request,
        "payments/formulaire.html",
        {
            "transaction": transaction,
            "target": target,
            "provider": provider,
            "amount": money(transaction.amount),
            "current_section": SECTION,
        },
    )
    origin = provider.form_origin()
    if origin:
        response._csp_update = {"form-action": [origin]}
    return response
