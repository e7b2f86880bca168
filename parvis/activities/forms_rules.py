"""Booking rules without JSON (issue 21 §7): a form field that sets one rule of
parvis.activities.rules (opening, booking deadline, cancellation deadline) with a choice of its
kind and a few inputs, stores the same JSON `rules.py` reads, validates it with the same
`validate_rule`, and says it in a sentence (« Réservation jusqu'au vendredi 9 h de la semaine
précédente ») with an example computed by `rules.moment`.

Used by the admin's Activity form and by the agents' « Règles de réservation » page at the
guichet (parvis.activities.guichet.views_regles)."""

from __future__ import annotations

from datetime import date, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.activities.models import Activity
from parvis.activities.rules import WEEKDAYS, RuleError, validate_rule
from parvis.activities.rules_text import BOOKING, CANCEL, OPENING, example, sentence

NO_RULE = ""

DEADLINE_KINDS = [
    ("days_before", gettext_lazy("Un nombre de jours avant (J-N), à une heure")),
    ("hours_before", gettext_lazy("Un nombre d'heures avant le début (72 h…)")),
    ("weekly", gettext_lazy("Un jour de la semaine précédente, à une heure")),
    ("monthly", gettext_lazy("Un jour du mois précédent, à une heure")),
]
OPENING_KINDS = [
    (NO_RULE, gettext_lazy("Dès l'inscription acceptée")),
    ("weeks_before", gettext_lazy("Un nombre de semaines avant")),
    *DEADLINE_KINDS,
]
# The inputs, in the order of the widget; the keys of the JSON rule they fill.
PARTS = ["kind", "days", "working_days", "time", "hours", "weekday", "day", "weeks"]
NEEDS = {
    "days_before": ["days", "time"],
    "hours_before": ["hours"],
    "weekly": ["weekday", "time"],
    "monthly": ["day", "time"],
    "weeks_before": ["weeks"],
}
BOUNDS = {"days": (0, 60), "hours": (0, 24 * 60), "day": (1, 31), "weeks": (0, 52)}
MISSING = {
    "days": gettext_lazy("Indiquez le nombre de jours."),
    "time": gettext_lazy("Indiquez l'heure limite (par exemple 09:00)."),
    "hours": gettext_lazy("Indiquez le nombre d'heures."),
    "weekday": gettext_lazy("Choisissez le jour de la semaine."),
    "day": gettext_lazy("Indiquez le jour du mois."),
    "weeks": gettext_lazy("Indiquez le nombre de semaines."),
}
PART_LABELS = {
    "kind": gettext_lazy("Forme de la règle"),
    "days": gettext_lazy("Nombre de jours avant (J-N)"),
    "working_days": gettext_lazy("Ne compter que les jours ouvrés (ni week-end ni jour férié)"),
    "time": gettext_lazy("À l'heure (HH:MM)"),
    "hours": gettext_lazy("Nombre d'heures avant le début de l'accueil"),
    "weekday": gettext_lazy("Jour de la semaine précédente"),
    "day": gettext_lazy("Jour du mois précédent (1 à 31)"),
    "weeks": gettext_lazy("Nombre de semaines avant"),
}


class RuleWidget(forms.MultiWidget):
    """The inputs of one rule, each with its own label (template activities/widgets/rule.html);
    the inputs a kind does not use are said « selon la forme choisie »."""

    template_name = "activities/widgets/rule.html"

    def __init__(self, kinds, attrs=None, *, opening: bool = False):
        self.opening = opening
        widgets = {
            "kind": forms.Select(choices=kinds),
            "days": forms.NumberInput(attrs={"min": 0, "max": 60, "class": "rule-number"}),
            "working_days": forms.CheckboxInput(),
            "time": forms.TextInput(
                attrs={"type": "time", "class": "rule-time", "pattern": "[0-2][0-9]:[0-5][0-9]"}
            ),
            "hours": forms.NumberInput(attrs={"min": 0, "max": 1440, "class": "rule-number"}),
            "weekday": forms.Select(
                choices=[("", "—"), *((str(i), day) for i, day in enumerate(WEEKDAYS))]
            ),
            "day": forms.NumberInput(attrs={"min": 1, "max": 31, "class": "rule-number"}),
            "weeks": forms.NumberInput(attrs={"min": 0, "max": 52, "class": "rule-number"}),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if not isinstance(value, dict):
            return [NO_RULE, None, False, "", None, "", None, None]
        return [
            value.get("kind", NO_RULE),
            value.get("days"),
            bool(value.get("working_days", False)),
            value.get("time", ""),
            value.get("hours"),
            "" if value.get("weekday") is None else str(value["weekday"]),
            value.get("day"),
            value.get("weeks"),
        ]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for part, subwidget in zip(PARTS, context["widget"]["subwidgets"], strict=True):
            subwidget["part"] = part
            subwidget["label"] = PART_LABELS[part]
            # Weeks only open booking: a deadline's form does not offer them.
            subwidget["skip"] = part == "weeks" and not self.opening
        return context


class RuleField(forms.MultiValueField):
    """One booking rule as inputs; cleans to the JSON dict `rules.py` reads (None for an
    opening « dès l'inscription »)."""

    def __init__(self, *, opening: bool = False, **kwargs):
        self.opening = opening
        kinds = OPENING_KINDS if opening else [("", "—"), *DEADLINE_KINDS]
        choices = [(value, label) for value, label in kinds if value or opening]
        fields = (
            forms.ChoiceField(choices=kinds, required=False),
            forms.IntegerField(required=False),
            forms.BooleanField(required=False),
            forms.CharField(required=False),
            forms.IntegerField(required=False),
            forms.TypedChoiceField(
                choices=[(str(i), day) for i, day in enumerate(WEEKDAYS)],
                coerce=int,
                required=False,
                empty_value=None,
            ),
            forms.IntegerField(required=False),
            forms.IntegerField(required=False),
        )
        kwargs.setdefault("required", not opening)
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.pop("max_length", None)
        super().__init__(
            fields, require_all_fields=False, widget=RuleWidget(choices, opening=opening), **kwargs
        )

    def compress(self, data_list):
        if not data_list:
            return None
        values = dict(zip(PARTS, data_list, strict=True))
        kind = values["kind"]
        if kind == NO_RULE:
            if self.opening:
                return None
            raise ValidationError(_("Choisissez la forme de la règle."), code="required")
        errors = []
        for part in NEEDS[kind]:
            value = values[part]
            if value in (None, ""):
                errors.append(ValidationError(MISSING[part], code="required"))
            elif part in BOUNDS and not BOUNDS[part][0] <= value <= BOUNDS[part][1]:
                low, high = BOUNDS[part]
                errors.append(
                    ValidationError(
                        _("%(label)s : un nombre entier de %(low)s à %(high)s.")
                        % {"label": PART_LABELS[part], "low": low, "high": high},
                        code="bounds",
                    )
                )
        if errors:
            raise ValidationError(errors)
        rule = {"kind": kind, **{part: values[part] for part in NEEDS[kind]}}
        if kind == "days_before":
            rule["working_days"] = bool(values["working_days"])
        try:
            validate_rule(rule, opening=self.opening)
        except RuleError as error:
            if "time" in str(error):
                raise ValidationError(MISSING["time"], code="time") from error
            raise ValidationError(str(error), code="rule") from error
        return rule

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != initial
        except ValidationError:
            return True


RULE_FIELDS = {
    "booking_opens": OPENING,
    "booking_deadline": BOOKING,
    "cancel_deadline": CANCEL,
}


def rule_fields() -> dict[str, RuleField]:
    return {
        "booking_opens": RuleField(
            opening=True,
            label=gettext_lazy("Ouverture des réservations"),
            help_text=gettext_lazy("À partir de quand un jour peut être réservé."),
        ),
        "booking_deadline": RuleField(
            label=gettext_lazy("Date limite pour réserver"),
            help_text=gettext_lazy("Une réservation est possible strictement avant ce moment."),
        ),
        "cancel_deadline": RuleField(
            label=gettext_lazy("Date limite pour annuler"),
            help_text=gettext_lazy("Une annulation est possible strictement avant ce moment."),
        ),
    }


class BookingRulesForm(forms.ModelForm):
    """The agents' form: the three rules of an activity, nothing else."""

    class Meta:
        model = Activity
        fields = ["booking_opens", "booking_deadline", "cancel_deadline"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in rule_fields().items():
            self.fields[name] = field

    def rules(self) -> dict[str, dict | None]:
        """The rules the form holds now: cleaned when valid, else the activity's own."""
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned[name] if name in cleaned else getattr(self.instance, name)
            for name in RULE_FIELDS
        }

    def previews(self, *, day: date, starts_at: time) -> list[dict]:
        """Each rule's sentence and example, for the preview beside the form."""
        rows = []
        for name, rule in self.rules().items():
            which = RULE_FIELDS[name]
            valid = name not in self.errors
            rows.append(
                {
                    "name": name,
                    "label": self.fields[name].label,
                    "valid": valid,
                    "sentence": sentence(rule, which) if valid else "",
                    "example": example(rule, which, day=day, starts_at=starts_at) if valid else "",
                }
            )
        return rows
