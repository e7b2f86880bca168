"""Forms of the citizen's own space: « Coordonnées », and the sections of « Modification de
votre espace » (password, e-mail, service keys), and the confirmation of the account deletion.

Each section of a page is its own form with its own prefix, so their fields never clash and an
error in one leaves the others alone. Forms only validate: the writes are the services'."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from parvis.accounts import services
from parvis.accounts.models import Civility
from parvis.communes.models import phone_validator

postal_code_validator = RegexValidator(
    r"^\d{5}$", _("Indiquez un code postal à 5 chiffres, par exemple 78955.")
)


class CoordinatesForm(forms.Form):
    """The account holder's own coordinates (not the e-mail: see EmailChangeForm)."""

    civility = forms.ChoiceField(
        label=_("Civilité"),
        choices=[("", _("Non précisée")), *Civility.choices],
        required=False,
        widget=forms.Select(attrs={"autocomplete": "honorific-prefix"}),
    )
    last_name = forms.CharField(
        label=_("Nom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        error_messages={"required": _("Indiquez votre nom.")},
    )
    first_name = forms.CharField(
        label=_("Prénom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        error_messages={"required": _("Indiquez votre prénom.")},
    )
    address = forms.CharField(
        label=_("Adresse"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    postal_code = forms.CharField(
        label=_("Code postal"),
        max_length=10,
        required=False,
        validators=[postal_code_validator],
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    city = forms.CharField(
        label=_("Ville"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    phone = forms.CharField(
        label=_("Téléphone"),
        max_length=30,
        required=False,
        validators=[phone_validator],
        help_text=_("Par exemple 06 12 34 56 78."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )

    @classmethod
    def initial_for(cls, user) -> dict:
        return {name: getattr(user, name) for name in services.COORDINATE_FIELDS}


class PasswordChangeForm(forms.Form):
    """Current password, then the new one twice, checked by Django's password validators."""

    old_password = forms.CharField(
        label=_("Mot de passe actuel"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Indiquez votre mot de passe actuel.")},
    )
    new_password1 = forms.CharField(
        label=_("Nouveau mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Choisissez un nouveau mot de passe.")},
    )
    new_password2 = forms.CharField(
        label=_("Confirmation du nouveau mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Saisissez le même mot de passe une seconde fois."),
        error_messages={"required": _("Saisissez le nouveau mot de passe une seconde fois.")},
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields[
            "new_password1"
        ].help_text = password_validation.password_validators_help_text_html()

    def clean_old_password(self):
        password = self.cleaned_data["old_password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                _("Ce n'est pas votre mot de passe actuel."), code="password_incorrect"
            )
        return password

    def clean(self):
        cleaned = super().clean()
        new1, new2 = cleaned.get("new_password1"), cleaned.get("new_password2")
        if new1 and new2 and new1 != new2:
            self.add_error(
                "new_password2",
                forms.ValidationError(
                    _("Les deux mots de passe ne sont pas identiques."), code="password_mismatch"
                ),
            )
        elif new1:
            try:
                password_validation.validate_password(new1, self.user)
            except forms.ValidationError as error:
                self.add_error("new_password1", error)
        return cleaned


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
