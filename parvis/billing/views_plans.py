"""A family's payment plan (« échéancier », issue 19 §3), under
/<commune>/mon-espace/factures/echeanciers/<pk>/: its invoices, its instalments and what is paid
of each, and « Payer cette échéance » (payments:payer_echeance) for the next one.

Thin view: reads through parvis.billing.selectors_plans, scoped to the commune of the URL and
to the families of the logged-in account (another family's or commune's plan → 404)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from parvis.accounts.decorators import citizen_required
from parvis.billing import selectors, selectors_plans

SECTION = "billing:mon_compte"


@never_cache
@require_safe
@citizen_required
def echeancier(request, pk):
    families = selectors.citizen_families(user=request.user, commune=request.commune)
    plan = selectors_plans.family_plan(famille=families, commune=request.commune, pk=pk)
    if plan is None:
        raise Http404(_("Cet échéancier n'existe pas."))
    return render(
        request,
        "billing/echeancier.html",
        {
            "plan": plan,
            "next": selectors_plans.next_instalment(plan),
            "remaining": selectors_plans.remaining(plan),
            "current_section": SECTION,
        },
    )
