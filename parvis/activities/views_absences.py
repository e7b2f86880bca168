"""The families' absences, under /<commune>/mon-espace/absences/: « Signaler une absence »
(phone first: the child, « Aujourd'hui » / « Demain » / « Plusieurs jours », the reason, a
comment, the certificate from the phone's camera), the household's absences with their state in
words, and one absence's page with its bookings and « Ajouter un certificat ».

Thin views: reads through parvis.activities.selectors_absences and
parvis.families.selectors_citizen (scoped to the commune of the URL and to the logged-in
citizen: another family's or another commune's absence is a 404), writes through
parvis.activities.services_absences."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.activities import selectors_absences as selectors
from parvis.activities.forms_absences import SEVERAL, AbsenceForm, CertificateForm
from parvis.activities.services_absences import (
    add_certificate,
    declare_absence,
    may_add_certificate,
    open_until,
)
from parvis.families import selectors_citizen

SECTION = "activities:index"
PER_PAGE = 20


def _with_state(absences, now):
    """Each absence with `open_until` (until when a certificate still helps) and
    `may_add_certificate` (the form is shown), for the templates."""
    for absence in absences:
        absence.open_until = open_until(absence, now=now)
        # Once justified (by the rule or an agent), a certificate changes nothing.
        absence.may_add_certificate = may_add_certificate(absence) and not absence.justified
    return absences


def _state_message(absence) -> str:
    if absence.justified:
        return _("Cette absence est justifiée : %(why)s.") % {"why": absence.justification}
    return _("Cette absence n'est pas justifiée : %(why)s.") % {"why": absence.justification}


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def absences(request):
    """« Signaler une absence », then the household's absences, the latest first."""
    user, commune = request.user, request.commune
    now = timezone.now()
    households = selectors_citizen.households(user=user, commune=commune)
    shared = selectors.shared_children(user=user, commune=commune)
    form = None
    if shared or any(household.children for household in households):
        arguments = {
            "households": households,
            "shared": shared,
            "today": timezone.localdate(now),
        }
        if request.method == "POST":
            form = AbsenceForm(request.POST, request.FILES, **arguments)
            if form.is_valid():
                try:
                    absence = declare_absence(actor=user, now=now, **form.declare_arguments())
                except ValidationError as error:
                    form.add_service_error(error)
                else:
                    messages.success(
                        request,
                        _("L'absence de %(child)s est enregistrée. %(state)s")
                        % {"child": absence.child.first_names, "state": _state_message(absence)},
                    )
                    return redirect("activities:absence", commune=commune.slug, pk=absence.pk)
        else:
            form = AbsenceForm(**arguments)
    paginator = Paginator(selectors.family_absences(user=user, commune=commune), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "activities/absences.html",
        {
            "form": form,
            "several": SEVERAL,
            "page": page,
            "absences": _with_state(selectors.with_bookings(page.object_list), now),
            "current_section": SECTION,
        },
    )


@never_cache
@citizen_required
def absence(request, pk):
    """One absence: its days, reason, bookings and state; « Ajouter un certificat » while
    there is none (or the one sent was refused)."""
    user, commune = request.user, request.commune
    found = selectors.family_absence(user=user, commune=commune, pk=pk)
    if found is None:
        raise Http404(_("Cette absence n'existe pas."))
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    now = timezone.now()
    _with_state([found], now)
    form = None
    if found.may_add_certificate:
        if request.method == "POST":
            form = CertificateForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    updated = add_certificate(
                        absence=found,
                        upload=form.cleaned_data["certificat"],
                        actor=user,
                        now=now,
                    )
                except ValidationError as error:
                    form.add_service_error(error)
                else:
                    messages.success(
                        request,
                        _("Le certificat est reçu. %(state)s") % {"state": _state_message(updated)},
                    )
                    return redirect("activities:absence", commune=commune.slug, pk=found.pk)
        else:
            form = CertificateForm()
    elif request.method == "POST":
        return redirect("activities:absence", commune=commune.slug, pk=found.pk)
    return render(
        request,
        "activities/absences_detail.html",
        {"absence": found, "form": form, "current_section": SECTION},
    )
