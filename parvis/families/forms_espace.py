"""Forms of the citizen's own space: « Coordonnées », and the sections of « Modification de
votre espace » (password, e-mail, service keys), and the confirmation of the account deletion.

Each section of a page is its own form with its own prefix, so their fields never clash and an
error in one leaves the others alone. Forms only validate: the writes are the services'. (The
current password is checked by services.check_current_password, which throttles the checks and
records each one: the forms asking for it take the requesting address, `ip`.)

Also the household rows a family may edit itself when its commune allows it: the people authorised
to pick the children up, and a child's health information."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from parvis.accounts import fields, services
from parvis.accounts.forms_auth import NewPasswordMixin
from parvis.accounts.models import Civility

WRONG_PASSWORD = _("Ce n'est pas votre mot de passe actuel.")


def check_current_password(user, password: str, ip) -> str:
    """`password` if it is the account's current one; a ValidationError otherwise, saying until
    when the checks are locked after too many wrong passwords."""
    result = services.check_current_password(user=user, password=password, ip=ip)
    if result.ok:
        return password
    if result.locked_until is not None:
        raise forms.ValidationError(
            _("Trop d'essais infructueux. Réessayez après %(time)s."),
            code="locked",
            params={"time": services.retry_time(result.locked_until)},
        )
    raise forms.ValidationError(WRONG_PASSWORD, code="password_incorrect")


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
    """Current password, then the new one twice (checked as everywhere, see NewPasswordMixin).
    An account without a usable password (created with FranceConnect) has no current password
    to give: it chooses its first one, and `first_password` says so."""

    old_password = forms.CharField(
        label=_("Mot de passe actuel"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Indiquez votre mot de passe actuel.")},
    )

    field_order = ["old_password", "new_password1", "new_password2"]

    def __init__(self, user, *args, ip=None, **kwargs):
        self.ip = ip
        super().__init__(*args, user=user, **kwargs)
        self.first_password = not user.has_usable_password()
        if self.first_password:
            del self.fields["old_password"]
            self.fields["new_password1"].label = _("Mot de passe")
            self.fields["new_password2"].label = _("Confirmez le mot de passe")

    def clean_old_password(self):
        return check_current_password(self.user, self.cleaned_data["old_password"], self.ip)


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

    def __init__(self, user, *args, ip=None, **kwargs):
        self.user = user
        self.ip = ip
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        password, email = cleaned.get("password"), cleaned.get("new_email")
        if not self.user.has_usable_password():
            # An account created with FranceConnect: the password guards the address (the
            # way back into the account), so it chooses one first.
            self.errors.pop("password", None)
            self.add_error(
                "password",
                _(
                    "Votre espace n'a pas encore de mot de passe : choisissez-en un dans "
                    "« Authentification », puis changez de courriel."
                ),
            )
            return cleaned
        if password:
            try:
                check_current_password(self.user, password, self.ip)
            except forms.ValidationError as error:
                self.add_error("password", error)
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


DELETION_WORD = "SUPPRIMER"


class PasswordConfirmForm(forms.Form):
    """The password, to confirm a destructive action (deleting the account). An account without
    a usable password (created with FranceConnect) has none to give: it types « SUPPRIMER »
    instead (`typed_confirmation`)."""

    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Indiquez votre mot de passe pour confirmer.")},
    )

    def __init__(self, user, *args, ip=None, **kwargs):
        self.user = user
        self.ip = ip
        super().__init__(*args, **kwargs)
        self.typed_confirmation = not user.has_usable_password()
        if self.typed_confirmation:
            del self.fields["password"]
            self.fields["confirmation"] = forms.CharField(
                label=_("Confirmation"),
                help_text=_("Saisissez %(word)s pour confirmer la suppression.")
                % {"word": DELETION_WORD},
                max_length=40,
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                error_messages={
                    "required": _("Saisissez %(word)s pour confirmer.") % {"word": DELETION_WORD}
                },
            )

    def clean_password(self):
        return check_current_password(self.user, self.cleaned_data["password"], self.ip)

    def clean_confirmation(self):
        typed = self.cleaned_data["confirmation"].strip()
        if typed.upper() != DELETION_WORD:
            raise forms.ValidationError(
                _("Saisissez exactement %(word)s pour confirmer la suppression."),
                code="confirmation",
                params={"word": DELETION_WORD},
            )
        return typed


# --- The household rows a family may edit itself (when its commune allows it) -----------------


class AuthorisedPersonForm(forms.Form):
    """Someone allowed to pick the children up. Another person's name: the browser must not
    offer the account holder's own (autocomplete off)."""

    last_name = forms.CharField(
        label=_("Nom"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Indiquez le nom de la personne.")},
    )
    first_name = forms.CharField(
        label=_("Prénom"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Indiquez le prénom de la personne.")},
    )
    phone = fields.PhoneField(
        help_text=_(
            "Pour la joindre au moment de récupérer les enfants. Par exemple : 06 12 34 56 78."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel", "type": "tel"}),
        error_messages={"required": _("Indiquez le numéro de téléphone de la personne.")},
    )
    relationship = forms.CharField(
        label=_("Lien avec l'enfant"),
        max_length=80,
        required=False,
        help_text=_("Par exemple : grand-mère, oncle, voisine."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    FIELDS = ("last_name", "first_name", "phone", "relationship")

    @classmethod
    def initial_for(cls, person) -> dict:
        return {name: getattr(person, name) for name in cls.FIELDS}


class HealthForm(forms.Form):
    """A child's health information, as the teams caring for the child read it."""

    has_pai = forms.BooleanField(
        label=_("Projet d'accueil individualisé (PAI)"),
        required=False,
        help_text=_("Cochez si un PAI a été établi avec le médecin scolaire."),
    )
    health_notes = forms.CharField(
        label=_("Informations de santé"),
        required=False,
        max_length=2000,
        help_text=_("Allergies, traitements, consignes : ce que les équipes doivent savoir."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    FIELDS = ("has_pai", "health_notes")

    @classmethod
    def initial_for(cls, child) -> dict:
        return {name: getattr(child, name) for name in cls.FIELDS}
