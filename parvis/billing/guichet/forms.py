"""The forms of the invoicing pages at the guichet: the month to preview or issue, a family by its
code famille, a single invoice for a stay, the reason to cancel an invoice. Every message is in
French next to its field; any input (a forged id, garbage) is a form error, never a 500."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.billing.invoicing import month_bounds, previous_month
from parvis.billing.models import Regie
from parvis.families.models import Famille, MemberKind, Personne
from parvis.money import CENT

MONTH_RE = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})|(\d{1,2})/(\d{4}))\s*$")
FAMILY_CODE_RE = re.compile(r"^\s*F?0*(\d{1,9})\s*$", re.IGNORECASE)
BAD_DATE = gettext_lazy("Indiquez une date valide, par exemple 09/11/2026.")
REASON_MAX_LENGTH = 300


class RegieChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


def parse_month(value: str) -> date | None:
    """« 2026-11 » (the browser's month field) or « 11/2026 » → 1 November 2026; None if not."""
    match = MONTH_RE.match(value or "")
    if match is None:
        return None
    year, month = (match[1], match[2]) if match[1] else (match[4], match[3])
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        return None


class MonthForm(forms.Form):
    """The régie and the month of a run: a month that is over (never the current one nor one to
    come)."""

    regie = RegieChoiceField(
        label=gettext_lazy("Régie"),
        queryset=Regie.objects.none(),
        empty_label=None,
        error_messages={
            "required": gettext_lazy("Choisissez la régie."),
            "invalid_choice": gettext_lazy("Choisissez une régie de la commune."),
        },
    )
    mois = forms.CharField(
        label=gettext_lazy("Mois facturé"),
        help_text=gettext_lazy("Un mois terminé, par exemple 11/2026 pour novembre 2026."),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "month"}),
        error_messages={"required": gettext_lazy("Indiquez le mois à facturer.")},
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regie"].queryset = (
            Regie.objects.filter(commune=commune)
            .select_related("commune")
            .order_by("position", "name")
        )

    def clean_mois(self) -> date:
        month = parse_month(self.cleaned_data["mois"])
        if month is None:
            raise forms.ValidationError(_("Indiquez un mois, par exemple 11/2026."))
        today = timezone.localdate()
        if month > today:
            raise forms.ValidationError(
                _("Ce mois est à venir : on ne facture qu'un mois terminé.")
            )
        if month_bounds(month)[1] >= today:
            raise forms.ValidationError(
                _("Ce mois n'est pas terminé : on le facture à partir du 1er du mois suivant.")
            )
        return month

    @staticmethod
    def defaults(commune) -> dict:
        regie = Regie.objects.filter(commune=commune).order_by("position", "name").first()
        return {
            "regie": str(regie.pk) if regie else "",
            "mois": previous_month(timezone.localdate()).strftime("%Y-%m"),
        }


def famille_by_code(commune, value: str) -> Famille | None:
    """The commune's family of a code famille « F000012 » (or its number, « 12 »)."""
    match = FAMILY_CODE_RE.match(value or "")
    if match is None:
        return None
    return Famille.objects.filter(commune=commune, number=int(match[1])).first()


class FamilyLookupForm(forms.Form):
    famille = forms.CharField(
        label=gettext_lazy("Code famille"),
        help_text=gettext_lazy("Par exemple F000012."),
        max_length=20,
        error_messages={"required": gettext_lazy("Indiquez le code famille.")},
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.commune = commune

    def clean_famille(self) -> Famille:
        famille = famille_by_code(self.commune, self.cleaned_data["famille"])
        if famille is None:
            raise forms.ValidationError(_("Aucune famille de la commune n'a ce code famille."))
        return famille


class StayInvoiceForm(forms.Form):
    """A single invoice for a stay of `famille` (« CLASSES TRANSPLANTÉES », « Séjour CT 3 (Ecole
    du PARC) »): quantity × unit price."""

    regie = RegieChoiceField(
        label=gettext_lazy("Régie"),
        queryset=Regie.objects.none(),
        empty_label=None,
        error_messages={
            "required": gettext_lazy("Choisissez la régie."),
            "invalid_choice": gettext_lazy("Choisissez une régie de la commune."),
        },
    )
    enfant = forms.TypedChoiceField(
        label=gettext_lazy("Enfant"),
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": gettext_lazy("Choisissez un enfant de la famille.")},
    )
    rubrique = forms.CharField(
        label=gettext_lazy("Rubrique"),
        max_length=80,
        initial="CLASSES TRANSPLANTÉES",
        help_text=gettext_lazy("Imprimée en capitales, par exemple CLASSES TRANSPLANTÉES."),
        error_messages={"required": gettext_lazy("Indiquez la rubrique de la facture.")},
    )
    libelle = forms.CharField(
        label=gettext_lazy("Libellé"),
        max_length=200,
        help_text=gettext_lazy("Par exemple « Séjour CT 3 (Ecole du PARC) »."),
        error_messages={"required": gettext_lazy("Indiquez le libellé de la facture.")},
    )
    du = forms.DateField(
        label=gettext_lazy("Du"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={
            "required": gettext_lazy("Indiquez le premier jour du séjour."),
            "invalid": BAD_DATE,
        },
    )
    au = forms.DateField(
        label=gettext_lazy("Au (inclus)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={
            "required": gettext_lazy("Indiquez le dernier jour du séjour."),
            "invalid": BAD_DATE,
        },
    )
    quantite = forms.IntegerField(
        label=gettext_lazy("Quantité"),
        min_value=1,
        max_value=999,
        initial=1,
        help_text=gettext_lazy("Le nombre de jours, de nuitées… ou 1 pour un forfait."),
        error_messages={
            "required": gettext_lazy("Indiquez la quantité."),
            "invalid": gettext_lazy("Un nombre entier, par exemple 5."),
            "min_value": gettext_lazy("La quantité est de 1 au moins."),
            "max_value": gettext_lazy("La quantité est de 999 au plus."),
        },
    )
    prix_unitaire = forms.CharField(
        label=gettext_lazy("Prix unitaire (€)"),
        max_length=12,
        help_text=gettext_lazy("En euros et centimes, par exemple 73,80."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={"required": gettext_lazy("Indiquez le prix unitaire.")},
    )

    def __init__(self, *args, commune, famille: Famille, **kwargs):
        super().__init__(*args, **kwargs)
        self.famille = famille
        self.fields["regie"].queryset = (
            Regie.objects.filter(commune=commune)
            .select_related("commune")
            .order_by("position", "name")
        )
        self.children = {
            child.pk: child
            for child in Personne.objects.filter(famille=famille, kind=MemberKind.ENFANT).order_by(
                "birth_date", "first_names", "pk"
            )
        }
        self.fields["enfant"].choices = [("", _("Aucun (toute la famille)"))] + [
            (child.pk, f"{child.first_names} {child.last_name.upper()}")
            for child in self.children.values()
        ]

    def clean_enfant(self) -> Personne | None:
        pk = self.cleaned_data.get("enfant")
        return self.children.get(pk) if pk is not None else None

    def clean_prix_unitaire(self) -> Decimal:
        text = self.cleaned_data["prix_unitaire"].replace("€", "").replace("\u00a0", "")
        text = text.replace(" ", "").replace(",", ".")
        if not re.fullmatch(r"\d{1,6}(\.\d{1,2})?", text):
            raise forms.ValidationError(
                _("Indiquez un prix en euros et centimes, par exemple 73,80.")
            )
        return Decimal(text).quantize(CENT)

    def clean(self):
        data = super().clean()
        start, end = data.get("du"), data.get("au")
        if start and end and end < start:
            self.add_error("au", _("La fin du séjour est avant son début."))
        return data


class CancelInvoiceForm(forms.Form):
    motif = forms.CharField(
        label=gettext_lazy("Motif de l'annulation"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Gardé dans le journal : « erreur de saisie », « doublon »…"),
        error_messages={"required": gettext_lazy("Indiquez le motif de l'annulation.")},
    )
