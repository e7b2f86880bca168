"""The attendance registers, under /<commune>/guichet/activites/: the day's registers of the
activities the agent covers (by school, by activity), a unit's register for a day (tick present /
absent, add an unbooked presence; printable) and its CSV. Thin views: reads from
`selectors_registres`, writes through `services_registres`; scoped to the commune and to the
agent's services (else 404)."""

from __future__ import annotations

import csv
from datetime import time
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.agents import agent_required
from parvis.activities import selectors_registres
from parvis.activities import services_registres as services
from parvis.activities.guichet import selectors
from parvis.activities.guichet.views import _day
from parvis.communes.dates import monday_of
from parvis.text import spreadsheet_cell

MARK_PREFIX = "p-"
LATE_PREFIX = "r-"
ADD_FORM = "ajout"
# « Retard le soir » is offered on the registers of the units that end from this time on (the
# evening care, a day at the leisure centre), not on the morning's or the canteen's.
EVENING_FROM = time(16, 0)


# --- The day's registers -------------------------------------------------------------------------


class DayForm(forms.Form):
    jour = forms.DateField(
        label=gettext_lazy("Jour"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    ecole = forms.ChoiceField(label=gettext_lazy("École"), required=False)
    activite = forms.ChoiceField(label=gettext_lazy("Activité"), required=False)

    def __init__(self, *args, activities, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ecole"].choices = [("", _("Toutes les écoles"))] + [(s, s) for s in schools]
        self.fields["activite"].choices = [("", _("Toutes les activités"))] + [
            (activity.slug, activity.name) for activity in activities
        ]


def _asked_day(value: str):
    try:
        return DayForm.base_fields["jour"].clean(value)
    except forms.ValidationError:
        return None  # the form says why


@agent_required
@require_GET
def registres(request):
    """The registers of a day (today unless asked): per activity and unit the agent covers,
    how many children are booked, ticked present, absent, still to tick."""
    activities = selectors.visible_activities(request.commune, request.agent)
    day = _asked_day(request.GET.get("jour", "")) or timezone.localdate()
    listed = list(activities)
    data = None
    if request.GET:
        data = request.GET.copy()
        data.setdefault("jour", day.isoformat())  # a school or an activity alone: today
    form = DayForm(
        data,
        initial={"jour": day},
        activities=listed,
        schools=selectors_registres.schools_of_day(activities, day),
    )
    summary, school, status = [], "", 200
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        data = form.cleaned_data if form.is_bound else {}
        school = data.get("ecole", "")
        if data.get("activite"):
            activities = selectors.visible_activities(
                request.commune, request.agent, slug=data["activite"]
            )
        summary = selectors_registres.day_summary(activities, day, school=school)
    return render(
        request,
        "activities/guichet/registres.html",
        {
            "form": form,
            "day": day,
            "school": school,
            "school_query": f"?{urlencode({'ecole': school})}" if school else "",
            "summary": summary,
        },
        status=status,
    )


# --- One register --------------------------------------------------------------------------------

CHOICES = [
    (services.PRESENT, gettext_lazy("Présent")),
    (services.ABSENT, gettext_lazy("Absent")),
]


class TickForm(forms.Form):
    """One present / absent choice per child on the register (none: not ticked yet), and on an
    evening register (`late`) a « Retard le soir » box per child."""

    def __init__(self, *args, rows, late: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        self.late = late
        for row in rows:
            name = f"{MARK_PREFIX}{row.child.pk}"
            self.fields[name] = forms.ChoiceField(
                label=f"{row.child.last_name} {row.child.first_names}",
                choices=CHOICES,
                required=False,
                widget=forms.RadioSelect,
                initial=row.state,
            )
            if late:
                self.fields[f"{LATE_PREFIX}{row.child.pk}"] = forms.BooleanField(
                    label=_("Retard le soir — %(name)s")
                    % {"name": f"{row.child.first_names} {row.child.last_name}"},
                    required=False,
                    initial=bool(row.attendance and row.attendance.late_pickup),
                )

    def clean(self):
        data = super().clean()
        # A child sent but not on this register (a forged or stale page): say so, save nothing.
        if any(
            key.startswith((MARK_PREFIX, LATE_PREFIX)) and key not in self.fields
            for key in self.data
        ):
            raise forms.ValidationError(
                _("Un enfant envoyé n'est pas sur ce registre : rien n'a été enregistré.")
            )
        if not self.errors and not self.marks():
            raise forms.ValidationError(
                _("Choisissez « Présent » ou « Absent » pour au moins un enfant.")
            )
        if not self.errors:
            marks = self.marks()
            for child_id in self.late_pickups() or ():
                if not marks.get(child_id):
                    self.add_error(
                        f"{LATE_PREFIX}{child_id}",
                        _("« Retard le soir » ne s'applique qu'à un enfant pointé présent."),
                    )
        return data

    def marks(self) -> dict[int, bool]:
        return {
            int(name.removeprefix(MARK_PREFIX)): value == services.PRESENT
            for name, value in self.cleaned_data.items()
            if name.startswith(MARK_PREFIX) and value
        }

    def late_pickups(self) -> set[int] | None:
        """The children ticked « Retard le soir »; None on a register without the boxes."""
        if not self.late:
            return None
        return {
            int(name.removeprefix(LATE_PREFIX))
            for name, value in self.cleaned_data.items()
            if name.startswith(LATE_PREFIX) and value
        }


class UnbookedForm(forms.Form):
    formulaire = forms.CharField(widget=forms.HiddenInput, initial=ADD_FORM)
    enfant = forms.TypedChoiceField(
        label=gettext_lazy("Enfant inscrit à l'activité, sans réservation ce jour-là"),
        coerce=int,
        empty_value=None,
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.children = {inscription.child.pk: inscription.child for inscription in candidates}
        self.fields["enfant"].choices = [("", _("Choisir un enfant"))] + [
            (child.pk, _child_label(child)) for child in self.children.values()
        ]

    def clean_enfant(self):
        return self.children[self.cleaned_data["enfant"]]


def _child_label(child) -> str:
    details = ", ".join(value for value in (child.class_name, child.school) if value)
    name = f"{child.last_name} {child.first_names}"
    return f"{name} ({details})" if details else name


def _target(request, activite: str, unite: str, jour: str):
    activity = selectors.activity_for(request.commune, request.agent, activite)
    unit = selectors.unit_for(activity, unite)
    unit.activity = activity  # already read, with its commune
    return activity, unit, _day(jour)


def _school(request) -> str:
    return request.GET.get("ecole", "").strip()[:120]


@agent_required
@require_http_methods(["GET", "POST"])
def registre(request, activite: str, unite: str, jour: str):
    activity, unit, day = _target(request, activite, unite, jour)
    school = _school(request)
    sheet = selectors_registres.register_sheet(unit, day, school=school)
    posted = request.POST if request.method == "POST" else None
    adding = posted is not None and posted.get("formulaire") == ADD_FORM
    evening = unit.ends_at >= EVENING_FROM
    tick_form = TickForm(None if adding else posted, rows=sheet.rows, late=evening)
    add_form = UnbookedForm(posted if adding else None, candidates=sheet.candidates)
    target = {"unit": unit, "day": day, "actor": request.user, "commune": request.commune}
    if posted is not None and not adding and tick_form.is_valid():
        try:
            counts = services.record_attendance(
                marks=tick_form.marks(), late_pickups=tick_form.late_pickups(), **target
            )
        except services.RegisterError as error:
            tick_form.add_error(None, str(error))
        else:
            messages.success(request, _saved_message(counts))
            return redirect(request.get_full_path())
    elif adding and add_form.is_valid():
        child = add_form.cleaned_data["enfant"]
        try:
            services.add_unbooked_presence(child=child, **target)
        except services.RegisterError as error:
            add_form.add_error("enfant", str(error))
        else:
            messages.success(
                request,
                _("Présence sans réservation ajoutée : %(name)s.")
                % {"name": f"{child.first_names} {child.last_name}"},
            )
            return redirect(request.get_full_path())
    for row in sheet.rows:
        row.field = tick_form[f"{MARK_PREFIX}{row.child.pk}"]
        row.late_field = tick_form[f"{LATE_PREFIX}{row.child.pk}"] if evening else None
    return render(
        request,
        "activities/guichet/registre.html",
        {
            "activity": activity,
            "unit": unit,
            "day": day,
            "sheet": sheet,
            "rows": sheet.rows,
            "others": sheet.others,
            "school": school,
            "school_query": f"?{urlencode({'ecole': school})}" if school else "",
            "can_tick": not sheet.closed and day <= timezone.localdate(),
            "future": day > timezone.localdate(),
            "tick_form": tick_form,
            "add_form": add_form,
            "monday": monday_of(day),
        },
        status=400 if tick_form.errors or add_form.errors else 200,
    )


def _saved_message(counts: dict[str, int]) -> str:
    present = ngettext("%(n)d présent", "%(n)d présents", counts["present"]) % {
        "n": counts["present"]
    }
    absent = ngettext("%(n)d absent", "%(n)d absents", counts["absent"]) % {"n": counts["absent"]}
    changed = ngettext(
        "%(n)d pointage nouveau ou modifié",
        "%(n)d pointages nouveaux ou modifiés",
        counts["changed"],
    ) % {"n": counts["changed"]}
    return _("Pointage enregistré : %(present)s, %(absent)s (%(changed)s).") % {
        "present": present,
        "absent": absent,
        "changed": changed,
    }


def _yes_no(value: bool) -> str:
    return _("oui") if value else _("non")


@agent_required
@require_GET
def registre_csv(request, activite: str, unite: str, jour: str):
    """The register as a CSV file for French Excel: UTF-8 with a BOM, « ; » between cells; a
    row per child booked or ticked without a booking, with what was ticked (« Présent » empty
    while not ticked)."""
    activity, unit, day = _target(request, activite, unite, jour)
    school = _school(request)
    sheet = selectors_registres.register_sheet(unit, day, school=school)
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
            _("Réservé"),
            _("Absence signalée"),
            _("Présent"),
        ]
    )
    for row in sheet.rows:
        child = row.child
        if row.absence is None:
            absence = ""
        else:
            absence = _("justifiée") if row.absence.justified else _("non justifiée")
        writer.writerow(
            spreadsheet_cell(value)
            for value in (
                child.last_name,
                child.first_names,
                child.class_name,
                child.school,
                _yes_no(child.has_pai),
                row.famille.number,
                _yes_no(row.booked),
                absence,
                "" if row.state is None else _yes_no(row.state == services.PRESENT),
            )
        )
    return response
