"""The agents' page of a child's shared custody (« garde partagée »), reached from the family
file: the other household and the rule an agent records from the judgment or the parents'
agreement, written by activities.services_custody (audited in both households' journals)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from parvis.accounts.agents import family_editor_required
from parvis.activities.guichet import selectors_garde
from parvis.activities.guichet.forms_garde import ACTIVITY_PREFIX, CustodyForm
from parvis.activities.services_custody import end_custody, record_custody
from parvis.families.models import Personne


def _child(request, child) -> Personne:
    found = selectors_garde.custody_child(commune=request.commune, agent=request.agent, pk=child)
    if found is None:
        raise Http404(_("Cet enfant n'existe pas."))
    return found


def _file_url(request, famille) -> str:
    return reverse("backoffice:famille", args=[request.commune.slug, famille.number])


def _initial(custody) -> dict:
    if custody is None:
        return {}
    initial = {
        "other_famille": custody.other_famille.reference,
        "source": custody.source,
        "source_date": custody.source_date,
        "since": custody.since,
        "rule": custody.rule,
        "first_side": custody.first_side,
        "start_week": custody.start_week,
        "percent_foyer": custody.percent_foyer,
        "note": custody.note,
    }
    for activity_id, side in selectors_garde.custody_sides(custody=custody).items():
        initial[f"{ACTIVITY_PREFIX}{activity_id}"] = side
    return initial


@family_editor_required
@require_http_methods(["GET", "POST"])
def garde(request, child):
    kid = _child(request, child)
    custody = getattr(kid, "custody", None)
    activities = selectors_garde.custody_activities(commune=request.commune)
    form = CustodyForm(
        request.POST or None, child=kid, activities=activities, initial=_initial(custody)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        record_custody(
            child=kid, other_famille=data["other_famille"], actor=request.user,
            rule=data["rule"], since=data["since"], source=data["source"],
            source_date=data["source_date"], first_side=data["first_side"],
            start_week=data["start_week"], percent_foyer=data["percent_foyer"],
            note=data["note"], activity_sides=form.activity_sides(),
        )  # fmt: skip
        messages.success(
            request, _("La garde partagée de %(name)s est enregistrée.") % {"name": kid}
        )
        return redirect(_file_url(request, kid.famille))
    return render(
        request,
        "activities/guichet/garde.html",
        {"child": kid, "famille": kid.famille, "custody": custody, "form": form},
    )


@family_editor_required
@require_POST
def garde_terminer(request, child):
    kid = _child(request, child)
    custody = getattr(kid, "custody", None)
    if custody is None:
        raise Http404(_("Cet enfant n'est pas en garde partagée."))
    end_custody(custody=custody, actor=request.user)
    messages.success(
        request,
        _("%(name)s n'est plus en garde partagée : son foyer paie tout.") % {"name": kid},
    )
    return redirect(_file_url(request, kid.famille))
