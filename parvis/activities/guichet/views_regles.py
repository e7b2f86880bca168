"""The agents' « Règles de réservation » page of an activity (issue 21 §7): opening, booking and
cancellation deadlines set by form, with each rule said in a sentence and an example day computed
on the server (« Prévisualiser » shows them without saving). Scoped like the other activity pages
(the commune's activities of the services the agent covers; anything else is a 404); the write
goes through parvis.activities.services_regles (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from parvis.accounts.agents import agent_required
from parvis.activities.forms_rules import BookingRulesForm
from parvis.activities.guichet import selectors
from parvis.activities.rules_text import example_day
from parvis.activities.services_regles import set_booking_rules

PREVIEW = "previsualiser"


@agent_required
@require_http_methods(["GET", "POST"])
def regles(request, activite: str):
    activity = selectors.activity_for(request.commune, request.agent, activite)
    form = BookingRulesForm(request.POST or None, instance=activity)
    previewing = PREVIEW in request.POST
    if request.method == "POST" and form.is_valid() and not previewing:
        changed = set_booking_rules(
            commune=request.commune,
            activity=activity,
            actor=request.user,
            **{name: form.cleaned_data[name] for name in form.Meta.fields},
        )
        if changed:
            messages.success(request, _("Les règles de réservation sont enregistrées."))
        else:
            messages.info(request, _("Les règles de réservation n'ont pas changé."))
        return redirect(
            reverse("guichet_activites:regles", args=[request.commune.slug, activity.slug])
        )
    starts_at = selectors.first_unit_start(activity=activity)
    previews = form.previews(
        day=example_day(timezone.localdate()),
        starts_at=starts_at or timezone.datetime.min.time(),
    )
    return render(
        request,
        "activities/guichet/regles.html",
        {"activity": activity, "form": form, "previews": previews, "previewing": previewing},
        status=400 if form.errors else 200,
    )
