"""The commune administrator's pages on personal data: the retention rules with what a run would
delete today (the dry run's report, read before turning the deletions on), the runs so far, and
the record of processing activities (« registre des traitements ») for the commune's DPO."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from parvis.accounts.agents import administrateur_required
from parvis.rgpd import registre as registre_data
from parvis.rgpd import retention, services
from parvis.rgpd.guichet import selectors
from parvis.rgpd.models import RetentionKind


def _rows(commune, found: dict) -> list[dict]:
    return [
        {
            "kind": key,
            "label": RetentionKind(key).label,
            "what": kind.what,
            "why": kind.why,
            "days": found["days"][key],
            "default_days": kind.default_days,
            "count": found["counts"][key],
        }
        for key, kind in retention.KINDS.items()
    ]


@never_cache
@require_http_methods(["GET", "POST"])
@administrateur_required
def conservation(request):
    commune = request.commune
    if request.method == "POST":
        services.enable_retention(commune=commune, actor=request.user)
        messages.success(
            request,
            _(
                "La suppression automatique est activée : la tâche quotidienne applique "
                "désormais ces durées."
            ),
        )
        return redirect("guichet_rgpd:conservation", commune=commune.slug)
    found = services.report(commune=commune, now=timezone.now())
    policy = selectors.retention_policy(commune=commune)
    return render(
        request,
        "rgpd/guichet/conservation.html",
        {
            "rows": _rows(commune, found),
            "warn": found["warn"],
            "notice_days": retention.NOTICE_DAYS,
            "accounting_years": retention.ACCOUNTING_YEARS,
            "policy": policy if policy and policy.enabled_at else None,
            "runs": [
                {
                    "run": run,
                    "counts": [
                        (RetentionKind(key).label, run.counts.get(key, 0))
                        for key in retention.KINDS
                    ],
                }
                for run in selectors.recent_runs(commune=commune)
            ],
        },
    )


@never_cache
@require_http_methods(["GET"])
@administrateur_required
def registre(request):
    commune = request.commune
    days = retention.durations(commune)
    treatments = [
        {
            "treatment": treatment,
            "categories": registre_data.categories(treatment),
            "durations": [
                {
                    "label": RetentionKind(kind).label,
                    "days": days[kind],
                    "what": retention.KINDS[kind].what,
                }
                for kind in treatment.retention_kinds
            ],
        }
        for treatment in registre_data.TREATMENTS
    ]
    return render(
        request,
        "rgpd/guichet/registre.html",
        {"treatments": treatments, "generated_at": timezone.now()},
    )
