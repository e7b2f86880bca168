"""Forms of online payment: the simulator's card (any well-formed test card is accepted) and the
commune's provider settings in the admin (the secret is never rendered back)."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.payments.models import ProviderConfig
from parvis.payments.providers import provider_class

TEST_CARD = "4970 1000 0000 0003"
MASK = "••••••••"


class SimulatorCardForm(forms.Form):
    """The simulator's fake card. Nothing is kept; any well-formed card pays."""

    numero = forms.CharField(
        label=_("Numéro de carte"),
        max_length=23,
        initial=TEST_CARD,
        help_text=_("De 12 à 19 chiffres, espaces permis : toute carte bien formée est acceptée."),
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiration = forms.CharField(
        label=_("Date d'expiration"),
        max_length=5,
        initial="12/30",
        help_text=_("Mois et année, par exemple 12/30."),
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "inputmode": "numeric"}),
    )
    cryptogramme = forms.CharField(
        label=_("Cryptogramme visuel"),
        max_length=4,
        initial="123",
        help_text=_("Les 3 chiffres au dos de la carte."),
        widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    def clean_numero(self):
        value = re.sub(r"[\s-]", "", self.cleaned_data["numero"])
        if not re.fullmatch(r"\d{12,19}", value):
            raise ValidationError(_("Saisissez de 12 à 19 chiffres."))
        return value

    def clean_expiration(self):
        value = self.cleaned_data["expiration"].strip()
        match = re.fullmatch(r"(\d{2})/(\d{2})", value)
        if not match or not 1 <= int(match.group(1)) <= 12:
            raise ValidationError(_("Saisissez le mois et l'année, par exemple 12/30."))
        return value

    def clean_cryptogramme(self):
        value = self.cleaned_data["cryptogramme"].strip()
        if not re.fullmatch(r"\d{3,4}", value):
            raise ValidationError(_("Saisissez les 3 chiffres du cryptogramme."))
        return value


def masked(secret: str) -> str:
    """« ••••••••1234 »: never more than the last four characters."""
    return MASK + secret[-4:] if secret else ""


class ProviderConfigForm(forms.ModelForm):
    """The secret is a password field never rendered back; left empty, the current key stays."""

    secret = forms.CharField(
        label=_("clé secrète"),
        required=False,
        max_length=256,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = ProviderConfig
        fields = ["provider", "options", "secret"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.secret if self.instance.pk else ""
        help_text = _(
            "Paybox : la clé HMAC (en hexadécimal) du back-office Paybox. Simulateur : facultative "
            "(une clé propre à la commune est dérivée sinon). PayFiP : aucune."
        )
        if current:
            help_text = _(
                "Clé actuelle : %(masked)s — laisser vide pour garder la clé actuelle."
            ) % {"masked": masked(current)}
        self.fields["secret"].help_text = help_text

    def clean_secret(self):
        value = self.cleaned_data.get("secret", "")
        if not value and self.instance.pk:
            return self.instance.secret  # kept
        return value

    def clean(self):
        cleaned = super().clean()
        provider = cleaned.get("provider")
        options = cleaned.get("options")
        if options is not None and not isinstance(options, dict):
            self.add_error("options", _("Les paramètres s'écrivent comme un objet JSON : {…}."))
            return cleaned
        cls = provider_class(provider) if provider else None
        if cls is not None and "options" in cleaned:
            try:
                cls.validate_options(options or {}, cleaned.get("secret", ""))
            except ValidationError as error:
                self.add_error("options", error)
        if cls is not None and "secret" in cleaned:
            try:
                cls.validate_secret(cleaned["secret"])
            except ValidationError as error:
                self.add_error("secret", error)
        return cleaned
