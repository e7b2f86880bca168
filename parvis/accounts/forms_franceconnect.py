"""Forms of a first login with FranceConnect: link an existing space (its password, or a link
e-mailed to it), or create a new one around the certified identity."""

from django import forms
from django.utils.translation import gettext_lazy as _

from parvis.accounts import fields, services
from parvis.accounts.forms_auth import LoginForm

EMAIL_ERRORS = {
    "required": _("Indiquez votre adresse électronique."),
    "invalid": _("Indiquez une adresse électronique valide, par exemple : nom@exemple.fr."),
}


def email_field(**kwargs) -> forms.EmailField:
    return forms.EmailField(
        label=_("Courriel"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages=EMAIL_ERRORS,
        **kwargs,
    )


class LinkWithPasswordForm(LoginForm):
    """« J'ai déjà un espace »: its identifier (e-mail or code famille) and password."""


class LinkByEmailForm(forms.Form):
    email = email_field(
        help_text=_("L'adresse électronique de votre espace : un lien vous y sera envoyé.")
    )

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class FranceConnectSignupForm(forms.Form):
    """The coordinates FranceConnect does not certify (the identity is shown, not typed)."""

    email = email_field(
        help_text=_("Un courriel vous sera envoyé pour confirmer l'adresse."),
    )
    phone = fields.PhoneField(required=False)
    address = fields.address_field()
    postal_code = fields.PostalCodeField()
    city = fields.city_field()
    accept_terms = forms.BooleanField(
        label=_("J'ai lu et j'accepte les conditions générales d'utilisation."),
        error_messages={
            "required": _("Pour créer votre espace, acceptez les conditions générales.")
        },
    )

    def __init__(self, *args, commune, **kwargs):
        self.commune = commune
        super().__init__(*args, **kwargs)
        fields.use_commune_postal_code(self, commune)

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if services.email_taken(commune=self.commune, email=email):
            raise forms.ValidationError(
                _(
                    "Un espace existe déjà avec cette adresse : reliez-le plutôt à FranceConnect "
                    "avec son mot de passe ou en recevant un lien (ci-dessus)."
                ),
                code="taken",
            )
        return email
