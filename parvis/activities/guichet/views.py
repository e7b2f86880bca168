"""The agents' activities pages, under /<commune>/guichet/activites/: the activities of the
services the agent covers, the occupancy of a week, the attendance register of a unit and day
(printable, CSV), closing a day, and the queue of pending inscriptions and bookings, paginated,
with bulk acceptance and refusal (with a reason). Closing a day and the bulk decisions are
background jobs (activities.services_fermeture, services_decisions): the click records the job
and opens its page (backoffice:travail).

Thin views: reads from `guichet.selectors` (scoped to the commune and to the agent's
services: anything else is a 404), writes through the activities' services."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.agents import agent_required
from parvis.activities import services_decisions, services_fermeture
from parvis.activities.guichet import selectors
from parvis.activities.services_inscriptions import REASON_MAX_LENGTH
from parvis.communes.dates import monday_of
from parvis.ids import parse_ids


class CloseDayForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("Jour à fermer"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    reason = forms.CharField(
        label=gettext_lazy("Motif"),
        max_length=120,
        help_text=gettext_lazy("Dit aux familles : « grève », « travaux »…"),
    )

    def clean_day(self):
        day = self.cleaned_data["day"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("Ce jour est passé."))
        return day


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise Http404 from error


@agent_required
@require_GET
def activites(request):
    today = timezone.localdate()
    return render(
        request,
        "activities/guichet/liste.html",
        {
            "activities": selectors.visible_activities_with_units(request.commune, request.agent),
            "today": today,
        },
    )


@agent_required
@require_GET
def occupation(request, activite: str):
    activity = selectors.activity_for(request.commune, request.agent, activite)
    asked = request.GET.get("semaine")
    monday = monday_of(_day(asked) if asked else timezone.localdate())
    days, rows = selectors.occupancy(activity, monday)
    return render(
        request,
        "activities/guichet/occupation.html",
        {
            "activity": activity,
            "monday": monday,
            "days": days,
            "rows": rows,
            "previous": monday - timedelta(weeks=1),
            "next": monday + timedelta(weeks=1),
        },
    )


@agent_required
@require_http_methods(["GET", "POST"])
def fermer(request, activite: str):
    activity = selectors.activity_for(request.commune, request.agent, activite)
    form = CloseDayForm(request.POST or None, initial={"day": request.GET.get("jour")})
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["day"]
        occupancy = reverse(
            "guichet_activites:occupation", args=[request.commune.slug, activity.slug]
        )
        occupancy += f"?semaine={monday_of(day).isoformat()}"
        try:
            job = services_fermeture.start_closing(
                commune=request.commune,
                activity=activity,
                day=day,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                return_url=occupancy,
            )
        except services_fermeture.AlreadyClosed:
            form.add_error("day", _("Cette activité est déjà fermée ce jour-là."))
        else:
            named = {"activity": activity.name, "day": day.strftime("%d/%m/%Y")}
            if job is None:
                messages.success(
                    request,
                    _("%(activity)s est fermé le %(day)s : personne n'avait réservé ce jour-là.")
                    % named,
                )
                return redirect(occupancy)
            messages.success(
                request,
                _(
                    "%(activity)s est fermé le %(day)s : les réservations de ce jour sont "
                    "annulées et les familles prévenues par courriel. Cette page suit "
                    "l'avancement."
                )
                % named,
            )
            return redirect("backoffice:travail", commune=request.commune.slug, pk=job.pk)
    return render(
        request,
        "activities/guichet/fermer.html",
        {"activity": activity, "form": form},
        status=400 if form.errors else 200,
    )


class RefusalForm(forms.Form):
    """The reason of a refusal from the queue: required, sent to the families."""

    use_required_attribute = False  # the same form's « Accepter » needs no reason

    motif = forms.CharField(
        label=gettext_lazy("Motif du refus"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Envoyé à la famille ; obligatoire pour refuser."),
        error_messages={
            "required": gettext_lazy("Indiquez le motif du refus : il est envoyé à la famille.")
        },
    )


PAGE_PARAMS = ("page_inscriptions", "page_reservations")


def _page(request, queryset, param: str):
    """One page of a queue: a count and one query, whatever its length."""
    return Paginator(queryset, selectors.QUEUE_PAGE_SIZE).get_page(request.GET.get(param))


def _render_queue(request, *, forms_sent=None, checked=None, status=200):
    """The queue; after a refusal without its reason, `forms_sent` ({kind: form}) and `checked`
    ({kind: ids}) show the form again as it was sent."""
    sent = forms_sent or {}
    return render(
        request,
        "activities/guichet/a_valider.html",
        {
            "inscriptions": _page(
                request,
                selectors.pending_inscriptions(request.commune, request.agent),
                "page_inscriptions",
            ),
            "bookings": _page(
                request,
                selectors.pending_bookings(request.commune, request.agent),
                "page_reservations",
            ),
            "inscriptions_form": sent.get("inscriptions") or RefusalForm(prefix="inscriptions"),
            "bookings_form": sent.get("reservations") or RefusalForm(prefix="reservations"),
            "checked": {kind: set(ids) for kind, ids in (checked or {}).items()},
            "query": _query(request),
        },
        status=status,
    )


@agent_required
@require_GET
def a_valider(request):
    return _render_queue(request)


def _ids(request) -> list[int]:
    """The ticked ids; anything else (« ² », 30 digits, letters) is dropped, never a 500."""
    return parse_ids(request.POST.getlist("ids"))


def _query(request) -> str:
    """The queue's pages the agent was on (« ?page_inscriptions=2 »), kept across a decision."""
    kept = {
        param: request.GET[param] for param in PAGE_PARAMS if request.GET.get(param, "").isdigit()
    }
    return f"?{urlencode(kept)}" if kept else ""


def _queue_url(request) -> str:
    return reverse("guichet_activites:a_valider", args=[request.commune.slug]) + _query(request)


def _decide(request, *, kind: str, refuse: bool):
    """Accept or refuse the ticked inscriptions or bookings (`kind`), as many as ticked: a
    background job (activities.services_decisions) decides them batch by batch and its page
    follows it; those the agent does not cover, or no longer pending, are left as they are, and
    said there. A refusal needs its reason: without one, the queue comes back with the error next
    to the field, nothing queued."""
    ids = _ids(request)
    inscriptions = kind == "inscriptions"
    if not ids:
        messages.error(
            request,
            _("Cochez au moins une inscription.")
            if inscriptions
            else _("Cochez au moins une réservation."),
        )
        return redirect(_queue_url(request))
    reason = ""
    if refuse:
        form = RefusalForm(request.POST, prefix=kind)
        if not form.is_valid():
            return _render_queue(request, forms_sent={kind: form}, checked={kind: ids}, status=400)
        reason = form.cleaned_data["motif"]
    job = services_decisions.start_decisions(
        commune=request.commune,
        actor=request.user,
        what=services_decisions.INSCRIPTIONS if inscriptions else services_decisions.BOOKINGS,
        decision=services_decisions.REFUSE if refuse else services_decisions.ACCEPT,
        ids=ids,
        activities=selectors.visible_activities(request.commune, request.agent),
        reason=reason,
        return_url=_queue_url(request),
    )
    return redirect("backoffice:travail", commune=request.commune.slug, pk=job.pk)


@agent_required
@require_POST
def valider_inscriptions(request):
    return _decide(request, kind="inscriptions", refuse=False)


@agent_required
@require_POST
def refuser_inscriptions(request):
    return _decide(request, kind="inscriptions", refuse=True)


@agent_required
@require_POST
def valider_reservations(request):
    return _decide(request, kind="reservations", refuse=False)


@agent_required
@require_POST
def refuser_reservations(request):
    return _decide(request, kind="reservations", refuse=True)
