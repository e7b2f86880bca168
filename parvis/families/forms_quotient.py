"""« Récupérer mon quotient familial CAF ou MSA »: the identity API Particulier finds the
allocataire by, and the family's explicit consent (issue 20 §2)."""

from __future__ import annotations

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.families.api_particulier import FRANCE, Identity
from parvis.families.forms_documents import DateInput

YES, NO = "oui", "non"
COMMUNE_COG = re.compile(r"^(\d{5}|2[AB]\d{3})$")
COUNTRY_COG = re.compile(r"^99\d{3}$")


class QuotientApiForm(forms.Form):
    birth_name = forms.CharField(
        label=_("Nom de naissance"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        error_messages={"required": _("Indiquez votre nom de naissance.")},
    )
    usage_name = forms.CharField(
        label=_("Nom d'usage"),
        max_length=120,
        required=False,
        help_text=_("Par exemple le nom d'époux ou d'épouse, s'il diffère du nom de naissance."),
    )
    first_names = forms.CharField(
        label=_("Prénoms"),
        max_length=200,
        help_text=_("Tous vos prénoms, dans l'ordre de l'état civil, séparés par des espaces."),
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        error_messages={"required": _("Indiquez vos prénoms.")},
    )
    sex = forms.ChoiceField(
        label=_("Sexe à l'état civil"),
        choices=[("F", _("Féminin")), ("M", _("Masculin"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Indiquez votre sexe à l'état civil.")},
    )
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        widget=DateInput(attrs={"autocomplete": "bday"}),
        error_messages={
            "required": _("Indiquez votre date de naissance."),
            "invalid": _("Saisissez une date valide, par exemple 09/04/1986."),
        },
    )
    born_in_france = forms.ChoiceField(
        label=_("Êtes-vous né ou née en France ?"),
        choices=[(YES, _("Oui")), (NO, _("Non"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Indiquez si vous êtes né ou née en France.")},
    )
    birth_commune = forms.CharField(
        label=_("Code de la commune de naissance (code officiel géographique)"),
        max_length=5,
        required=False,
        help_text=_(
            "Si vous êtes né ou née en France : 5 caractères, par exemple 78498 pour Poissy. "
            "C'est le code INSEE de la commune, différent de son code postal."
        ),
    )
    birth_country = forms.CharField(
        label=_("Code du pays de naissance (code officiel géographique)"),
        max_length=5,
        required=False,
        help_text=_(
            "Si vous êtes né ou née à l'étranger : 5 chiffres commençant par 99, par exemple "
            "99351 pour la Tunisie."
        ),
    )
    consent = forms.BooleanField(
        label=_(
            "J'accepte que la commune demande à la CAF ou à la MSA, par API Particulier, mon "
            "quotient familial et la composition de mon foyer."
        ),
        error_messages={
            "required": _(
                "Cochez la case pour autoriser la demande, ou joignez votre avis d'imposition."
            )
        },
    )

    def clean_birth_date(self):
        value = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        if value > today or value.year < today.year - 120:
            raise forms.ValidationError(_("Saisissez votre date de naissance."))
        return value

    def clean(self):
        cleaned = super().clean()
        born_here = cleaned.get("born_in_france")
        commune = (cleaned.get("birth_commune") or "").strip().upper()
        country = (cleaned.get("birth_country") or "").strip()
        if born_here == YES:
            if not COMMUNE_COG.match(commune):
                self.add_error(
                    "birth_commune",
                    _("Indiquez le code de 5 caractères de votre commune de naissance."),
                )
            cleaned["birth_commune"], cleaned["birth_country"] = commune, FRANCE
        elif born_here == NO:
            if not COUNTRY_COG.match(country) or country == FRANCE:
                self.add_error(
                    "birth_country",
                    _(
                        "Indiquez le code de votre pays de naissance : 5 chiffres commençant "
                        "par 99."
                    ),
                )
            cleaned["birth_commune"], cleaned["birth_country"] = "", country
        return cleaned

    def identity(self) -> Identity:
        data = self.cleaned_data
        return Identity(
            birth_name=data["birth_name"].strip(),
            usage_name=data["usage_name"].strip(),
            first_names=tuple(data["first_names"].split()),
            sex=data["sex"],
            birth_date=data["birth_date"],
            birth_country=data["birth_country"],
            birth_commune=data["birth_commune"],
        )

    @classmethod
    def initial_for(cls, personne) -> dict:
        """What Parvis knows of the responsable linked to the account (they check and complete
        it: the birth name and place are not in the household file)."""
        if personne is None:
            return {}
        sex = {"mme": "F", "m": "M"}.get(personne.civility or "")
        return {
            "birth_name": personne.last_name,
            "first_names": personne.first_names,
            "sex": sex,
            "birth_date": personne.birth_date,
        }
