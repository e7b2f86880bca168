"""Forms of the citizen's own space: « Coordonnées », and the sections of « Modification de
votre espace » (password, e-mail, service keys), and the confirmation of the account deletion.

Each section of a page is its own form with its own prefix, so their fields never clash and an
error in one leaves the others alone. Forms only validate: the writes are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from parvis.accounts import fields, services
from parvis.accounts.forms_auth import NewPasswordMixin
from parvis.accounts.models import Civility


class CoordinatesForm(forms.Form):
    """The account holder's own coordinates (not the e-mail: see EmailChangeForm)."""

    civility = forms.ChoiceField(
        label=_("Civilité"),
        choices=[("", _("Non précisée")), *Civility.choices],
        required=False,
        widget=forms.Select(attrs={"autocomplete": "honorific-prefix"}),
    )
    last_name = fields.last_name_field()
    first_name = fields.first_name_field()
    address = fields.address_field(required=False)
    postal_code = fields.PostalCodeField(required=False)
    city = fields.city_field(required=False)
    phone = fields.PhoneField(required=False)

    @classmethod
    def initial_for(cls, user) -> dict:
        return {name: getattr(user, name) for name in services.COORDINATE_FIELDS}


class PasswordChangeForm(NewPasswordMixin):
    """Current password, then the new one twice (checked as everywhere, see NewPasswordMixin)."""

    old_password = forms.CharField(
        label=_("Mot de passe actuel"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Indiquez votre mot de passe actuel.")},
    )

    field_order = ["old_password", "new_password1", "new_password2"]

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, user=user, **kwargs)

    def clean_old_password(self):
        password = self.cleaned_data["old_password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                _("Ce n'est pas votre mot de passe actuel."), code="password_incorrect"
            )
        return password


class EmailChangeForm(forms.Form):
    """A new e-mail, confirmed by the current password. Whether another account of the commune
    uses the address is said only once the password is right."""

    new_email = forms.EmailField(
        label=_("Nouveau courriel"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Indiquez votre nouvelle adresse électronique."),
            "invalid": _("Indiquez une adresse électronique valide, par exemple nom@exemple.fr."),
        },
    )
    password = forms.CharField(
        label=_("Mot de passe actuel"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Indiquez votre mot de passe actuel.")},
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        password, email = cleaned.get("password"), cleaned.get("new_email")
        if password and not self.user.check_password(password):
            self.add_error(
                "password",
                forms.ValidationError(
                    _("Ce n'est pas votre mot de passe actuel."), code="password_incorrect"
                ),
            )
            return cleaned
        if not (password and email):
            return cleaned
        email = services.normalise_identifier(email)
        if email == services.normalise_identifier(self.user.email):
            self.add_error("new_email", _("C'est déjà l'adresse de votre espace."))
        elif services.email_taken(commune=self.user.commune, email=email, exclude=self.user):
            self.add_error(
                "new_email", _("Un autre compte de la commune utilise déjà cette adresse.")
            )
        cleaned["new_email"] = email
        return cleaned


class ServiceKeysForm(forms.Form):
    """« Service / Clé »: one field per service of the commune that gives keys. Checking a key
    is a write (it links a family and is throttled), so the view does it, not this form."""

    def __init__(self, key_services, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {}
        for service in key_services:
            name = f"service_{service.pk}"
            self.services[name] = service
            self.fields[name] = forms.CharField(
                label=service.key_label,
                max_length=40,
                required=False,
                help_text=_("16 lettres et chiffres, donnés par le service « %(service)s ».")
                % {"service": service.name},
                widget=forms.TextInput(
                    attrs={
                        "autocomplete": "off",
                        "autocapitalize": "characters",
                        "spellcheck": "false",
                    }
                ),
            )

    def clean(self):
        cleaned = super().clean()
        if self.services and not any(cleaned.get(name) for name in self.services):
            first = next(iter(self.services))
            self.add_error(first, _("Saisissez une clé."))
        return cleaned

    def entered_keys(self) -> list[tuple[str, str]]:
        """(field name, key) of each field filled in."""
        return [
            (name, self.cleaned_data[name].strip())
            for name in self.services
            if self.cleaned_data.get(name, "").strip()
        ]


class PasswordConfirmForm(forms.Form):
    """The password, to confirm a destructive action (deleting the account)."""

    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Indiquez votre mot de passe pour confirmer.")},
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                _("Ce n'est pas votre mot de passe actuel."), code="password_incorrect"
            )
        return password
