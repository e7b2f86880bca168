"""Forms of « Créer mon espace »: one form per step of the wizard.

Every step carries the honeypot field (a robot that fills it is answered as if it succeeded, and
nothing is created). The last step asks for the password — never kept in the session — and for
the personal keys of the commune's services that issue keys."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.accounts import fields
from parvis.accounts.models import Civility, User
from parvis.communes.models import Service
from parvis.families.services import normalise_key

HONEYPOT_FIELD = "site_internet"


def key_services(commune) -> list[Service]:
    """The services of `commune` that give families a personal key, in display order."""
    return list(Service.objects.filter(commune=commune).exclude(key_label="").order_by("position"))


def key_field_name(service: Service) -> str:
    return f"cle_{service.pk}"


def key_help_text(service: Service) -> str:
    """Where to ask for the key (seed 000: « Pour l'obtenir, vous pouvez contacter le service
    … par mail »)."""
    values = {"service": service.name, "email": service.email}
    if service.email:
        return (
            _(
                "16 lettres et chiffres, par exemple : ABCD-EFGH-JKMN-PQRS. Pour l'obtenir, "
                "contactez le service « %(service)s » : %(email)s."
            )
            % values
        )
    return (
        _(
            "16 lettres et chiffres, par exemple : ABCD-EFGH-JKMN-PQRS. Pour l'obtenir, "
            "contactez le service « %(service)s »."
        )
        % values
    )


class SignupStepForm(forms.Form):
    """Base of the steps: the honeypot, and stripped values."""

    template_name = None  # rendered field by field by the wizard's template

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            label=_("Ne pas remplir ce champ"),
            required=False,
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )

    @property
    def robot(self) -> bool:
        """The honeypot was filled in: a robot (people don't see the field)."""
        return bool((self.data.get(self.add_prefix(HONEYPOT_FIELD)) or "").strip())

    def visible_fields(self):
        return [field for field in super().visible_fields() if field.name != HONEYPOT_FIELD]

    @property
    def honeypot(self):
        return self[HONEYPOT_FIELD]

    def stored(self) -> dict:
        """What to keep in the draft: the entries as typed (passwords and honeypot left out)."""
        kept = {}
        for name, field in self.fields.items():
            if name == HONEYPOT_FIELD or isinstance(field.widget, forms.PasswordInput):
                continue
            if isinstance(field, forms.BooleanField):
                kept[name] = field.widget.value_from_datadict(self.data, self.files, name)
            else:
                kept[name] = (self.data.get(self.add_prefix(name)) or "")[:300]
        return kept


class IdentityForm(SignupStepForm):
    civility = forms.ChoiceField(
        label=_("Civilité"),
        choices=Civility.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Indiquez votre civilité.")},
    )
    last_name = fields.last_name_field()
    first_name = fields.first_name_field()


class AddressForm(SignupStepForm):
    address = fields.address_field()
    postal_code = fields.PostalCodeField()
    city = fields.city_field()


class ContactForm(SignupStepForm):
    email = forms.EmailField(
        label=_("Courriel"),
        help_text=_(
            "Ce sera votre identifiant. Un courriel vous sera envoyé pour confirmer l'adresse."
        ),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "required": _("Indiquez votre adresse électronique."),
            "invalid": _("Indiquez une adresse électronique valide, par exemple : nom@exemple.fr."),
        },
    )
    phone = fields.PhoneField(required=False)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class CredentialsForm(SignupStepForm):
    """« Authentification »: the password (twice), the services' keys, the terms of use."""

    password1 = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Choisissez un mot de passe.")},
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        help_text=_("Saisissez le même mot de passe, pour vérification."),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Saisissez à nouveau le mot de passe.")},
    )
    accept_terms = forms.BooleanField(
        label=_("J'ai lu et j'accepte les conditions générales d'utilisation."),
        error_messages={
            "required": _("Pour créer votre espace, acceptez les conditions générales.")
        },
    )

    def __init__(self, *args, services: list[Service], person: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person  # the future account, for the similarity check of the password
        self.services = services
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html
        self.key_fields = []
        for service in services:
            name = key_field_name(service)
            self.fields[name] = forms.CharField(
                label=service.key_label,
                required=False,
                max_length=40,
                help_text=key_help_text(service),
                widget=forms.TextInput(
                    attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
                ),
            )
            self.key_fields.append(name)
        # The terms come last, after the keys.
        self.fields["accept_terms"] = self.fields.pop("accept_terms")

    def password_fields(self):
        return [self["password1"], self["password2"]]

    def key_bound_fields(self):
        return [self[name] for name in self.key_fields]

    def clean_password2(self):
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data["password2"]
        if password1 and password1 != password2:
            raise ValidationError(
                _("Les deux mots de passe ne sont pas identiques."), code="password_mismatch"
            )
        return password2

    def _post_clean(self):
        super()._post_clean()
        password = self.cleaned_data.get("password1")
        if password and "password1" not in self._errors:
            try:
                password_validation.validate_password(password, self.person)
            except ValidationError as error:
                self.add_error("password1", error)

    def clean(self):
        cleaned = super().clean()
        seen = {}
        for name in self.key_fields:
            key = normalise_key(cleaned.get(name, ""))
            cleaned[name] = key
            if key and key in seen:
                self.add_error(name, _("Vous avez déjà saisi cette clé pour un autre service."))
            seen.setdefault(key, name)
        return cleaned

    def typed_keys(self) -> list[tuple[Service, str]]:
        """The (service, key) pairs the person typed (after validation, even if another field
        is wrong)."""
        return [
            (service, self.cleaned_data[key_field_name(service)])
            for service in self.services
            if self.cleaned_data.get(key_field_name(service))
        ]


class ResendForm(forms.Form):
    email = forms.EmailField(
        label=_("Courriel"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "required": _("Indiquez votre adresse électronique."),
            "invalid": _("Indiquez une adresse électronique valide, par exemple : nom@exemple.fr."),
        },
    )


STEPS = {
    1: (_("Identité"), IdentityForm),
    2: (_("Adresse"), AddressForm),
    3: (_("Moyens de contact"), ContactForm),
    4: (_("Authentification"), CredentialsForm),
}
LAST_STEP = max(STEPS)
