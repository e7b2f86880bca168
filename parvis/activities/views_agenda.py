"""« Agenda et rappels »: the private calendar feed of the household's bookings (create it, see
its address, revoke it) and the deadline reminders' opt-out; and the feed itself, an iCalendar
file that calendar apps fetch without logging in (the token in its URL is the credential).

Thin views: reads and writes through parvis.activities.services_agenda."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from parvis.accounts.decorators import citizen_required
from parvis.activities import services_agenda
from parvis.activities.models import BookingPreferences

SECTION = "activities:index"
CREATE = "creer"
REVOKE = "revoquer"
REMINDERS = "rappels"


class RemindersForm(forms.Form):
    deadline_reminders = forms.BooleanField(
        label=gettext_lazy(
            "M'envoyer un courriel la veille de la date limite de réservation quand la semaine "
            "suivante n'a aucune réservation"
        ),
        required=False,
    )


def _context(request, preferences: BookingPreferences | None, form: RemindersForm) -> dict:
    token = preferences.feed_token if preferences is not None else None
    url = services_agenda.feed_url(commune=request.commune, token=token) if token else None
    return {
        "feed_url": url,
        "webcal_url": "webcal://" + url.split("://", 1)[1] if url else None,
        "feed_created_at": preferences.feed_created_at if preferences is not None else None,
        "form": form,
        "create": CREATE,
        "revoke": REVOKE,
        "reminders": REMINDERS,
        "current_section": SECTION,
    }


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def agenda(request):
    preferences = services_agenda.preferences_of(user=request.user)
    enabled = preferences.deadline_reminders if preferences is not None else True
    form = RemindersForm(initial={"deadline_reminders": enabled})
    if request.method == "POST":
        action = request.POST.get("action")
        if action in (CREATE, REVOKE):
            services_agenda.create_feed(user=request.user)
            messages.success(
                request,
                _("Votre lien d'agenda est créé.")
                if action == CREATE or preferences is None or not preferences.feed_token
                else _("L'ancien lien est révoqué : il ne fonctionne plus. Voici le nouveau."),
            )
            return redirect("activities:agenda", commune=request.commune.slug)
        if action == REMINDERS:
            form = RemindersForm(request.POST)
            if form.is_valid():
                on = form.cleaned_data["deadline_reminders"]
                services_agenda.set_reminders(user=request.user, enabled=on)
                messages.success(
                    request,
                    _("Les rappels de date limite sont activés.")
                    if on
                    else _("Vous ne recevrez plus les rappels de date limite."),
                )
                return redirect("activities:agenda", commune=request.commune.slug)
        else:
            return redirect("activities:agenda", commune=request.commune.slug)
    return render(request, "activities/agenda.html", _context(request, preferences, form))


@require_safe
def flux(request, token):
    """The .ics file. No login (calendar apps cannot), no session: a 404 unless `token` is the
    current feed token of an account of this commune."""
    user = services_agenda.feed_account(commune=request.commune, token=token)
    if user is None:
        raise Http404(_("Cette page n'existe pas."))
    response = HttpResponse(
        services_agenda.feed(user=user, commune=request.commune),
        content_type="text/calendar; charset=utf-8",
    )
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="reservations.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
