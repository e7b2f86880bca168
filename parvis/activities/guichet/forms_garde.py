"""The agent's form of a child's shared custody (« garde partagée »): the other household, the
rule from the judgment or the parents' agreement, and its parameters."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from parvis.activities.forms_absences import DateInput
from parvis.activities.models import Activity
from parvis.families.models import CustodyRule, CustodySide, CustodySource, Famille

ACTIVITY_PREFIX = "activite_"


class CustodyForm(forms.Form):
    other_famille = forms.CharField(
        label=_("Numéro de dossier de l'autre foyer"),
        max_length=12,
        help_text=_("Le dossier de l'autre parent, par exemple F000007."),
    )
    source = forms.ChoiceField(
        label=_("Décidée par"), choices=CustodySource.choices, widget=forms.RadioSelect
    )
    source_date = forms.DateField(
        label=_("Date de la décision"), required=False, widget=DateInput()
    )
    since = forms.DateField(label=_("Applicable à partir du"), widget=DateInput())
    rule = forms.ChoiceField(
        label=_("Règle de garde"), choices=CustodyRule.choices, widget=forms.RadioSelect
    )
    first_side = forms.ChoiceField(
        label=_("Foyer des semaines paires, de la semaine de départ ou des autres activités"),
        choices=CustodySide.choices,
        initial=CustodySide.FOYER,
        widget=forms.RadioSelect,
    )
    start_week = forms.DateField(
        label=_("Semaine de départ (un lundi)"),
        required=False,
        widget=DateInput(),
        help_text=_("Pour « une semaine sur deux » : le lundi d'une semaine du foyer ci-dessus."),
    )
    percent_foyer = forms.DecimalField(
        label=_("Part du foyer de l'enfant (%)"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        localize=True,  # « 60,5 »
        help_text=_("Pour « un pourcentage » : l'autre foyer paie le reste, au centime près."),
    )
    note = forms.CharField(label=_("Précision"), required=False, max_length=300)

    def __init__(self, *args, child, activities: list[Activity], **kwargs):
        super().__init__(*args, **kwargs)
        self.child = child
        self.activities = activities
        for activity in activities:
            self.fields[f"{ACTIVITY_PREFIX}{activity.pk}"] = forms.ChoiceField(
                label=_("« %(activity)s » payée par") % {"activity": activity.name},
                choices=[("", _("le foyer des autres activités")), *CustodySide.choices],
                required=False,
            )

    def clean_other_famille(self):
        value = self.cleaned_data["other_famille"].strip().upper().removeprefix("F")
        famille = None
        if value.isascii() and value.isdigit() and len(value) <= 9:
            famille = Famille.objects.filter(
                commune_id=self.child.commune_id, number=int(value)
            ).first()
        if famille is None:
            raise forms.ValidationError(_("Aucun dossier de famille ne porte ce numéro."))
        if famille.pk == self.child.famille_id:
            raise forms.ValidationError(
                _("C'est le dossier de l'enfant : indiquez celui de l'autre parent.")
            )
        return famille

    def clean(self):
        cleaned = super().clean()
        rule = cleaned.get("rule")
        if rule == CustodyRule.ALTERNANCE:
            start = cleaned.get("start_week")
            if start is None:
                self.add_error("start_week", _("Indiquez le lundi de la semaine de départ."))
            elif start.weekday() != 0:
                self.add_error("start_week", _("La semaine de départ commence un lundi."))
        if rule == CustodyRule.POURCENTAGE and cleaned.get("percent_foyer") is None:
            self.add_error("percent_foyer", _("Indiquez la part du foyer de l'enfant."))
        return cleaned

    def activity_sides(self) -> dict[Activity, str]:
        return {
            activity: self.cleaned_data[f"{ACTIVITY_PREFIX}{activity.pk}"]
            for activity in self.activities
            if self.cleaned_data.get(f"{ACTIVITY_PREFIX}{activity.pk}")
        }

    def activity_fields(self):
        return [self[f"{ACTIVITY_PREFIX}{activity.pk}"] for activity in self.activities]

    def main_fields(self):
        return [self[name] for name in self.fields if not name.startswith(ACTIVITY_PREFIX)]
