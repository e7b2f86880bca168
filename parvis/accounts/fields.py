"""The fields a person's identity and coordinates are typed in, the same in every form (sign-up,
« Coordonnées », first login), with the same checks and messages."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.text import normalise_phone

POSTAL_CODE_RE = re.compile(r"^\d{5}$", re.ASCII)  # « ١٢٣٤٥ » is no postal code


def postal_code_hint(example: str = "") -> str:
    if POSTAL_CODE_RE.match(example or ""):
        return _("5 chiffres, par exemple : %(example)s.") % {"example": example}
    return _("5 chiffres.")


class PostalCodeField(forms.CharField):
    """A French postal code. Its example is the commune's own (`example`, or later
    `use_commune_postal_code`): another town's code in the hint would mislead its residents."""

    def __init__(self, *, example: str = "", **kwargs):
        self.example = ""
        kwargs.setdefault("label", _("Code postal"))
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"autocomplete": "postal-code", "inputmode": "numeric", "size": "8"}
            ),
        )
        kwargs.setdefault("error_messages", {"required": _("Indiquez votre code postal.")})
        hinted = "help_text" not in kwargs
        super().__init__(**kwargs)
        self.hinted = hinted
        self.set_example(example)

    def set_example(self, example: str) -> None:
        self.example = example if POSTAL_CODE_RE.match(example or "") else ""
        if self.hinted:
            self.help_text = postal_code_hint(self.example)

    def clean(self, value):
        value = re.sub(r"\s", "", super().clean(value) or "")
        if value and not POSTAL_CODE_RE.match(value):
            if self.example:
                message = _("Le code postal comporte 5 chiffres, par exemple : %(example)s.") % {
                    "example": self.example
                }
            else:
                message = _("Le code postal comporte 5 chiffres.")
            raise ValidationError(message, code="invalid")
        return value


def use_commune_postal_code(form, commune) -> None:
    """The postal-code fields of `form` take `commune`'s code as their example."""
    for field in form.fields.values():
        if isinstance(field, PostalCodeField):
            field.set_example(commune.postal_code)


class PhoneField(forms.CharField):
    """A French phone number, stored as « 06 12 34 56 78 » whatever the spacing typed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Téléphone"))
        kwargs.setdefault("help_text", _("Par exemple : 06 12 34 56 78."))
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        raw = super().clean(value) or ""
        if not raw:
            return ""
        phone = normalise_phone(raw)  # the one rule of parvis.text
        if phone is None:
            raise ValidationError(
                _(
                    "Indiquez un numéro de téléphone français à 10 chiffres, "
                    "par exemple : 06 12 34 56 78."
                ),
                code="invalid",
            )
        return phone


def last_name_field() -> forms.CharField:
    return forms.CharField(
        label=_("Nom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        error_messages={"required": _("Indiquez votre nom.")},
    )


def first_name_field() -> forms.CharField:
    return forms.CharField(
        label=_("Prénom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        error_messages={"required": _("Indiquez votre prénom.")},
    )


def address_field(*, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("Adresse"),
        help_text=_("Numéro et voie, par exemple : 5, allée des Tilleuls."),
        max_length=200,
        required=required,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
        error_messages={"required": _("Indiquez votre adresse.")},
    )


def city_field(*, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("Ville"),
        max_length=120,
        required=required,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
        error_messages={"required": _("Indiquez votre ville.")},
    )
