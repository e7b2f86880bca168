"""The forms of « Édition de documents »: the year of the certificate for the tax credit on
childcare, and the child and dates of an attendance certificate. Every mistake is said at once,
in French, next to its field; nothing here writes."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from parvis.activities.forms_absences import DateInput
from parvis.billing.selectors_documents import under_six_on_first_january
from parvis.families.models import Famille, MemberKind, Personne

DATE_INVALID = _("Indiquez une date valide, par exemple 15/09/2026.")


def one_year_after(start: date) -> date:
    """The last day a certificate starting on `start` may cover: a year, minus a day
    (01/09/2025 → 31/08/2026; 29/02/2028 → 28/02/2029)."""
    try:
        return start.replace(year=start.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        return date(start.year + 1, 2, 28)


def _family_label(famille: Famille) -> str:
    return f"{famille.name} ({famille.reference})"


class TaxCertificateForm(forms.Form):
    """« Attestation pour le crédit d'impôt (frais de garde) »: a year in which the account's
    families paid something (the latest first; last year by default), and the family when the
    account is linked to several."""

    famille = forms.TypedChoiceField(
        label=_("Foyer"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez le foyer.")},
    )
    year = forms.TypedChoiceField(
        label=_("Année des paiements"),
        coerce=int,
        help_text=_("Les sommes payées du 1er janvier au 31 décembre de cette année."),
        error_messages={
            "required": _("Choisissez l'année."),
            "invalid_choice": _("Choisissez une année de la liste."),
        },
    )

    def __init__(self, *args, familles: list[Famille], years: list[int], today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.familles = {famille.pk: famille for famille in familles}
        self.fields["year"].choices = [(year, str(year)) for year in years]
        if years:
            last_year = today.year - 1
            self.fields["year"].initial = last_year if last_year in years else years[0]
        if len(familles) > 1:
            self.fields["famille"].choices = [(f.pk, _family_label(f)) for f in familles]
        else:
            del self.fields["famille"]

    def clean_famille(self):
        pk = self.cleaned_data["famille"]
        if pk not in self.familles:
            raise forms.ValidationError(_("Choisissez le foyer."))
        return self.familles[pk]

    def clean(self):
        cleaned = super().clean()
        year = cleaned.get("year")
        if "famille" in self.fields:
            famille = cleaned.get("famille")
        else:
            famille = next(iter(self.familles.values()), None)
            cleaned["famille"] = famille
        if year is None or famille is None:
            return cleaned
        children = Personne.objects.filter(famille=famille, kind=MemberKind.ENFANT)
        if not any(under_six_on_first_january(child, year) for child in children):
            self.add_error(
                "year",
                _(
                    "Aucun enfant du foyer n'avait moins de 6 ans au 1er janvier %(year)s : "
                    "il n'y a pas d'attestation pour le crédit d'impôt pour frais de garde "
                    "cette année-là."
                )
                % {"year": year},
            )
        return cleaned


class AttendanceCertificateForm(forms.Form):
    """« Attestation de présence »: a child of the account's families and a period of at most a
    year, not after today."""

    child = forms.TypedChoiceField(
        label=_("Enfant"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez l'enfant."),
            "invalid_choice": _("Choisissez un enfant de la liste."),
        },
    )
    start = forms.DateField(
        label=_("Du"),
        widget=DateInput(),
        error_messages={"required": _("Indiquez le premier jour."), "invalid": DATE_INVALID},
    )
    end = forms.DateField(
        label=_("Au (inclus)"),
        widget=DateInput(),
        help_text=_("Un an au plus, jusqu'à aujourd'hui."),
        error_messages={"required": _("Indiquez le dernier jour."), "invalid": DATE_INVALID},
    )

    def __init__(self, *args, children: list[Personne], today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.children = {child.pk: child for child in children}
        several = len({child.famille_id for child in children}) > 1
        self.fields["child"].choices = [
            (child.pk, str(child) if several else child.first_names) for child in children
        ]
        if len(children) == 1:
            self.fields["child"].initial = children[0].pk

    def clean_child(self):
        return self.children[self.cleaned_data["child"]]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        today = date_format(self.today, "d/m/Y")
        if start is not None and start > self.today:
            self.add_error(
                "start",
                _("Choisissez un jour passé : au plus tard aujourd'hui, le %(today)s.")
                % {"today": today},
            )
            start = None
        if end is not None and end > self.today:
            self.add_error(
                "end",
                _(
                    "L'attestation ne porte que sur des jours passés : au plus tard "
                    "aujourd'hui, le %(today)s."
                )
                % {"today": today},
            )
            return cleaned
        if start is None or end is None:
            return cleaned
        if end < start:
            self.add_error("end", _("Le dernier jour est avant le premier."))
        elif end > one_year_after(start):
            self.add_error(
                "end",
                _("Un an au plus : à partir du %(start)s, au plus tard le %(limit)s.")
                % {
                    "start": date_format(start, "d/m/Y"),
                    "limit": date_format(one_year_after(start), "d/m/Y"),
                },
            )
        return cleaned
