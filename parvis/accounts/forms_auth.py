"""Forms of logging in, first login with a code famille and forgotten password."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.accounts import services


def identifier_label(commune) -> str:
    """« Identifiant » (e-mail), « Code famille », or both, as the commune's login modes say."""
    return commune.identifiant_label


def identifier_help(commune) -> str:
    return commune.identifiant_aide


class AuthForm(forms.Form):
    """Labels as the seeds write them: « Identifiant », « Mot de passe » (no colon)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(AuthForm):
    """The names `username` and `password` are also those of the home page's form."""

    username = forms.CharField(
        max_length=254, error_messages={"required": _("Indiquez votre identifiant.")}
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Indiquez votre mot de passe.")},
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.label = identifier_label(commune)
        field.help_text = identifier_help(commune)
        field.error_messages["required"] = commune.identifiant_manquant
        field.widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        )


class NewPasswordMixin(AuthForm):
    """A new password, typed twice, checked by Django's validators (settings) against `user`."""

    new_password1 = forms.CharField(
        label=_("Nouveau mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Choisissez un mot de passe.")},
    )
    new_password2 = forms.CharField(
        label=_("Confirmez le nouveau mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Tapez le mot de passe une seconde fois.")},
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        help_text = password_validation.password_validators_help_text_html()
        self.fields["new_password1"].help_text = help_text

    def clean_new_password2(self):
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data.get("new_password2")
        if first and second and first != second:
            raise forms.ValidationError(_("Les deux mots de passe ne sont pas identiques."))
        return second

    def _post_clean(self):
        super()._post_clean()
        password = self.cleaned_data.get("new_password2")
        if password:
            try:
                password_validation.validate_password(password, self.user)
            except forms.ValidationError as error:
                self.add_error("new_password1", error)


class FirstLoginForm(NewPasswordMixin):
    email = forms.EmailField(
        label=_("Adresse électronique"),
        max_length=254,
        help_text=_(
            "Un lien de confirmation part à cette adresse. Une fois confirmée, c'est là "
            "qu'arrivent les liens « mot de passe oublié »."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "required": _("Indiquez votre adresse électronique."),
            "invalid": _("Indiquez une adresse électronique valide, par exemple : nom@exemple.fr."),
        },
    )

    field_order = ["new_password1", "new_password2", "email"]

    def clean_new_password1(self):
        password = self.cleaned_data["new_password1"]
        if self.user.check_password(password):
            raise forms.ValidationError(
                _("Choisissez un mot de passe différent du mot de passe provisoire.")
            )
        return password

    def clean_email(self):
        email = services.normalise_identifier(self.cleaned_data["email"])
        if services.email_taken(commune=self.user.commune, email=email, exclude=self.user):
            raise forms.ValidationError(
                _("Cette adresse est déjà celle d'un autre espace de la commune.")
            )
        return email


class SetNewPasswordForm(NewPasswordMixin):
    pass


class PasswordResetRequestForm(AuthForm):
    identifier = forms.CharField(
        max_length=254, error_messages={"required": _("Indiquez votre identifiant.")}
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["identifier"]
        if commune.login_with_family_code:
            field.label = _("Code famille ou adresse électronique")
            field.help_text = _(
                "Le code famille remis par la mairie, ou l'adresse électronique de votre espace."
            )
        else:
            field.label = _("Adresse électronique")
            field.help_text = _("L'adresse électronique de votre espace.")
        field.widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        )


class AdminLoginForm(AdminAuthenticationForm):
    """The administration's login (/admin/) under the staff doors' throttling rules
    (services.attempt_admin_login), counted apart from every commune's doors."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        result = services.attempt_admin_login(
            request=self.request, username=username, password=password
        )
        if result.locked_until is not None:
            raise ValidationError(services.staff_retry_message(result.locked_until))
        if result.user is None:
            raise self.get_invalid_login_error()
        self.user_cache = result.user
        self.confirm_login_allowed(result.user)
        return self.cleaned_data
