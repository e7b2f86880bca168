"""What the household grid and its basket post: cells as « <child id>:<unit id>:<YYYY-MM-DD> »
values, read against the household's own children, their activities' units and periods (any
other value — another family's child, a unit of an activity the child is not registered to, a
day out of the period — is ignored, never trusted); the period shown; the button pressed; and
the two tools' forms, « Copier la semaine » and « Appliquer un modèle de semaine »."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from parvis.activities.forms import MODIFY, PANIER, parse_cells
from parvis.activities.selectors import WEEKDAY_LABELS
from parvis.activities.selectors_foyer import VUES, Household, Line, Period, period
from parvis.communes.dates import monday_of

# The grid's buttons besides « Voir le panier » and the basket's « Modifier ».
COPY = "copier"
PATTERN = "modele"
GO = "aller"  # « aller:<vue>:<YYYY-MM-DD> »: another period, the changes kept
RESERVER, ANNULER = "reserver", "annuler"
MAX_DAYS = 400  # a tool reaches at most about a school year


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def read_period(data, *, today: date) -> Period:
    """The period of `?vue=mois|trimestre|annee&debut=YYYY-MM-DD` (anything else: the default)."""
    return period(data.get("vue"), _date(data.get("debut", "")), today=today)


def parse_keys(values, *, household: Household) -> set[tuple[int, int, date]]:
    """The (child id, unit id, day) among `values` that name a unit of an activity the child may
    book, within that activity's period."""
    by_child: dict[str, list[str]] = {}
    for value in values:
        child, _sep, rest = str(value).partition(":")
        by_child.setdefault(child, []).append(rest)
    keys = set()
    for line in household.lines:
        values = by_child.get(str(line.child.pk))
        if not values:
            continue
        cells = parse_cells(
            values,
            unit_ids={unit.pk for unit in line.units},
            start=line.activity.start,
            end=line.activity.end,
        )
        keys |= {(line.child.pk, unit_id, day) for unit_id, day in cells}
    return keys


@dataclass
class Posted:
    shown: Period  # the period the form was showing
    from_grid: bool  # the grid's form (else the basket's « Modifier »)
    checked: set = field(default_factory=set)
    add: set = field(default_factory=set)
    remove: set = field(default_factory=set)
    action: str = PANIER
    go: Period | None = None  # « aller »: the period to show next


def read_post(data, *, household: Household, today: date) -> Posted:
    def keys(name):
        return parse_keys(data.getlist(name), household=household)

    posted = Posted(
        shown=read_period(data, today=today),
        from_grid=data.get("grille") == "1",
        checked=keys("c"),
        add=keys("ajout"),
        remove=keys("retrait"),
    )
    action, _sep, rest = str(data.get("action", PANIER)).partition(":")
    if action in (COPY, PATTERN, MODIFY):
        posted.action = action
    elif action == GO:
        vue, _sep, debut = rest.partition(":")
        if vue in VUES:
            posted.action = GO
            posted.go = period(vue, _date(debut), today=today)
    return posted


# --- The tools -----------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ToolForm(forms.Form):
    # The tools sit in the grid's form: a required field left empty must not stop « Voir le
    # panier » in the browser; the server says what is missing, next to the field.
    use_required_attribute = False

    def __init__(self, *args, bounds: tuple[date, date], **kwargs):
        super().__init__(*args, **kwargs)
        self.bounds = bounds

    def _within(self, name: str, value: date | None) -> date | None:
        if value is not None and not self.bounds[0] <= value <= self.bounds[1]:
            self.add_error(
                name,
                _("Choisissez une date entre le %(start)s et le %(end)s.")
                % {
                    "start": self.bounds[0].strftime("%d/%m/%Y"),
                    "end": self.bounds[1].strftime("%d/%m/%Y"),
                },
            )
            return None
        return value


class CopyWeekForm(ToolForm):
    """« Copier la semaine »: the week of a day, to the following N weeks or until a date."""

    semaine = forms.DateField(
        label=_("Semaine à copier"),
        widget=DateInput,
        help_text=_("Un jour de cette semaine : elle est copiée du lundi au dimanche."),
    )
    semaines = forms.IntegerField(
        label=_("Vers les semaines suivantes : combien ?"),
        min_value=1,
        max_value=52,
        required=False,
        help_text=_("Par exemple 4 : les quatre semaines qui suivent."),
    )
    jusqu_au = forms.DateField(
        label=_("Ou jusqu'au"), required=False, widget=DateInput, help_text=_("Date incluse.")
    )

    def clean(self):
        data = super().clean()
        day = self._within("semaine", data.get("semaine"))
        count, until = data.get("semaines"), self._within("jusqu_au", data.get("jusqu_au"))
        if self.errors or day is None:
            return data
        monday = monday_of(day)
        if count is None and until is None:
            self.add_error("semaines", _("Indiquez un nombre de semaines, ou une date."))
        elif count is not None and until is not None:
            self.add_error(
                "jusqu_au", _("Indiquez un nombre de semaines ou une date, pas les deux.")
            )
        elif until is not None and until < monday + timedelta(days=7):
            self.add_error("jusqu_au", _("Choisissez une date après la semaine copiée."))
        return data

    def targets(self) -> tuple[date, list[date]]:
        """The Monday copied and the Mondays it is copied to."""
        data = self.cleaned_data
        monday = monday_of(data["semaine"])
        if data.get("semaines"):
            return monday, [monday + timedelta(weeks=n) for n in range(1, data["semaines"] + 1)]
        targets, next_monday = [], monday + timedelta(weeks=1)
        while next_monday <= data["jusqu_au"]:
            targets.append(next_monday)
            next_monday += timedelta(weeks=1)
        return monday, targets


class _Normalised(BaseChoiceIterator):
    """Choices built as Django normalises them, (value, label) or (group, [(value, label)]):
    taken as they are (django.utils.choices.normalize_choices walked them again, option by
    option, a third of the pattern form's construction)."""

    def __init__(self, choices: list):
        self.choices = choices

    def __iter__(self):
        return iter(self.choices)

    def __len__(self):
        return len(self.choices)


class PatternForm(ToolForm):
    """« Appliquer un modèle de semaine »: for a child and a unit (or all the units of an
    activity), the weekdays ticked from a date to another become booked, or cancelled."""

    pour = forms.ChoiceField(label=_("Pour"))
    jours = forms.MultipleChoiceField(label=_("Les jours"), widget=forms.CheckboxSelectMultiple)
    du = forms.DateField(label=_("Du"), widget=DateInput)
    au = forms.DateField(label=_("Au (inclus)"), widget=DateInput)
    choix = forms.ChoiceField(
        label=_("Ces jours-là"),
        choices=[(RESERVER, _("réserver")), (ANNULER, _("annuler"))],
        widget=forms.RadioSelect,
        initial=RESERVER,
    )

    def __init__(self, *args, household: Household, columns: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.household = household
        every = gettext("%(child)s — %(activity)s : toutes les unités")
        by_child: dict[int, list] = {}
        for line in household.lines:
            by_child.setdefault(line.child.pk, []).append(line)
        choices = []
        for child in household.children:
            # The child's name in each option too: not every screen reader says the group's.
            options, name = [], child.first_names
            for line in by_child[child.pk]:
                activity = str(line.activity)
                if len(line.units) > 1:
                    options.append(
                        (
                            f"a:{child.pk}:{line.activity.pk}",
                            every % {"child": name, "activity": activity},
                        )
                    )
                for unit in line.units:
                    options.append(
                        (
                            f"u:{child.pk}:{unit.pk}",
                            f"{name} — {activity} : {unit.label} ({unit.code})",
                        )
                    )
            choices.append((f"{child.first_names} {child.last_name}", options))
        # Already in the form Django normalises choices to (for every option of every request).
        self.fields["pour"].choices = _Normalised(choices)
        self.fields["jours"].choices = _Normalised([(str(d), WEEKDAY_LABELS[d]) for d in columns])

    def clean(self):
        data = super().clean()
        first, last = self._within("du", data.get("du")), self._within("au", data.get("au"))
        if first and last:
            if last < first:
                self.add_error("au", _("La date de fin doit suivre la date de début."))
            elif (last - first).days > MAX_DAYS:
                self.add_error("au", _("Choisissez au plus une année scolaire."))
        return data

    def target(self) -> tuple[Line, list]:
        """The line (child, activity) and the units the pattern is for."""
        kind, child_id, pk = self.cleaned_data["pour"].split(":")
        for line in self.household.lines:
            if str(line.child.pk) != child_id:
                continue
            if kind == "a" and str(line.activity.pk) == pk:
                return line, list(line.units)
            units = [unit for unit in line.units if str(unit.pk) == pk]
            if kind == "u" and units:
                return line, units
        raise ValueError(self.cleaned_data["pour"])  # not among the choices: cannot happen

    @property
    def weekdays(self) -> set[int]:
        return {int(d) for d in self.cleaned_data["jours"]}

    @property
    def wanted(self) -> bool:
        return self.cleaned_data["choix"] == RESERVER
