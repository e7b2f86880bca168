"""The agents' activities pages, under /<commune>/guichet/activites/: the activities of the
services the agent covers, the occupancy of a week, the attendance register of a unit and day
(printable, CSV), closing a day, and the queue of pending inscriptions and bookings with bulk
acceptance.

Thin views: reads from `selectors_activites` (scoped to the commune and to the agent's
services: anything else is a 404), writes through `services_activites`."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.backoffice import selectors_activites as selectors
from parvis.backoffice import services_activites as services
from parvis.backoffice.permissions import agent_required
from parvis.backoffice.views import _render
from parvis.backoffice.views_demandes import _cell


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
    return _render(
        request,
        "backoffice/activites/liste.html",
        {
            "activities": list(
                selectors.visible_activities(request.commune, request.agent).prefetch_related(
                    "units"
                )
            ),
            "today": today,
        },
    )


@agent_required
@require_GET
def occupation(request, activite: str):
    activity = selectors.activity_for(request.commune, request.agent, activite)
    asked = request.GET.get("semaine")
    monday = selectors.week_of(_day(asked) if asked else timezone.localdate())
    days, rows = selectors.occupancy(activity, monday)
    return _render(
        request,
        "backoffice/activites/occupation.html",
        {
            "activity": activity,
            "monday": monday,
            "days": days,
            "rows": rows,
            "previous": monday - timedelta(weeks=1),
            "next": monday + timedelta(weeks=1),
        },
    )


def _register_context(request, activite: str, unite: str, jour: str):
    activity = selectors.activity_for(request.commune, request.agent, activite)
    unit = selectors.unit_for(activity, unite)
    day = _day(jour)
    return activity, unit, day, selectors.register(unit, day)


@agent_required
@require_GET
def registre(request, activite: str, unite: str, jour: str):
    activity, unit, day, rows = _register_context(request, activite, unite, jour)
    return _render(
        request,
        "backoffice/activites/registre.html",
        {
            "activity": activity,
            "unit": unit,
            "day": day,
            "rows": rows,
            "others": selectors.other_states(unit, day),
            "monday": selectors.week_of(day),
        },
    )


@agent_required
@require_GET
def registre_csv(request, activite: str, unite: str, jour: str):
    """The register as a CSV file for French Excel: UTF-8 with a BOM, « ; » between cells,
    and a « Présent » column to fill in."""
    activity, unit, day, rows = _register_context(request, activite, unite, jour)
    filename = f"registre-{activity.slug}-{unit.code}-{day:%Y-%m-%d}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Nom"),
            _("Prénom"),
            _("Classe"),
            _("École"),
            _("PAI"),
            _("Famille"),
            _("Présent"),
        ]
    )
    for reservation in rows:
        child = reservation.child
        writer.writerow(
            _cell(value)
            for value in (
                child.last_name,
                child.first_names,
                child.class_name,
                child.school,
                _("oui") if child.has_pai else _("non"),
                reservation.famille.number,
                "",
            )
        )
    return response


@agent_required
@require_http_methods(["GET", "POST"])
def fermer(request, activite: str):
    activity = selectors.activity_for(request.commune, request.agent, activite)
    form = CloseDayForm(request.POST or None, initial={"day": request.GET.get("jour")})
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["day"]
        try:
            services.close_day(
                commune=request.commune,
                activity=activity,
                day=day,
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except services.AlreadyClosed:
            form.add_error("day", _("Cette activité est déjà fermée ce jour-là."))
        else:
            messages.success(
                request,
                _(
                    "%(activity)s est fermé le %(day)s : les réservations de ce jour sont "
                    "annulées et les familles prévenues par courriel."
                )
                % {"activity": activity.name, "day": day.strftime("%d/%m/%Y")},
            )
            url = reverse(
                "guichet_activites:occupation", args=[request.commune.slug, activity.slug]
            )
            return redirect(f"{url}?semaine={selectors.week_of(day).isoformat()}")
    return _render(
        request,
        "backoffice/activites/fermer.html",
        {"activity": activity, "form": form},
        status=400 if form.errors else 200,
    )


@agent_required
@require_GET
def a_valider(request):
    return _render(
        request,
        "backoffice/activites/a_valider.html",
        {
            "inscriptions": selectors.pending_inscriptions(request.commune, request.agent),
            "bookings": selectors.pending_bookings(request.commune, request.agent),
        },
    )


def _ids(request) -> list[int]:
    return [int(value) for value in request.POST.getlist("ids") if value.isdigit()]


def _queue_url(request) -> str:
    return reverse("guichet_activites:a_valider", args=[request.commune.slug])


@agent_required
@require_POST
def valider_inscriptions(request):
    ids = _ids(request)
    if not ids:
        messages.error(request, _("Cochez au moins une inscription."))
        return redirect(_queue_url(request))
    count = services.accept_inscriptions(
        commune=request.commune,
        actor=request.user,
        ids=ids,
        activities=selectors.visible_activities(request.commune, request.agent),
    )
    messages.success(
        request,
        ngettext("%(count)d inscription acceptée.", "%(count)d inscriptions acceptées.", count)
        % {"count": count},
    )
    if count < len(set(ids)):
        messages.error(request, _("Les autres n'étaient plus en attente : rien n'y a été changé."))
    return redirect(_queue_url(request))


@agent_required
@require_POST
def valider_reservations(request):
    ids = _ids(request)
    if not ids:
        messages.error(request, _("Cochez au moins une réservation."))
        return redirect(_queue_url(request))
    count = services.accept_bookings(
        commune=request.commune,
        actor=request.user,
        ids=ids,
        activities=selectors.visible_activities(request.commune, request.agent),
    )
    messages.success(
        request,
        ngettext("%(count)d réservation acceptée.", "%(count)d réservations acceptées.", count)
        % {"count": count},
    )
    if count < len(set(ids)):
        messages.error(request, _("Les autres n'étaient plus en attente : rien n'y a été changé."))
    return redirect(_queue_url(request))
