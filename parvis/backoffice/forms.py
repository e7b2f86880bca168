"""The guichet's forms. They validate; the views hand `cleaned_data` to the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from parvis.families.models import AuthorisedPerson, Famille, Personne
from parvis.families.selectors import full_name


class AgentLoginForm(forms.Form):
    username = forms.CharField(
        label=_("Identifiant"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Nom, prénom, courriel ou référence du dossier"),
        required=False,
        max_length=200,
        help_text=_("Par exemple « Durand », « Léa », « F000001 » ou une adresse électronique."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class FamilleForm(forms.ModelForm):
    class Meta:
        model = Famille
        fields = ["name", "address", "postal_code", "city"]
        widgets = {
            "address": forms.TextInput(attrs={"autocomplete": "off"}),
        }

    def clean_name(self):
        return self.cleaned_data["name"].strip()


RESPONSABLE_FIELDS = ["civility", "last_name", "first_names", "birth_date", "email", "phone"]
ENFANT_FIELDS = [
    "last_name",
    "first_names",
    "birth_date",
    "school",
    "class_name",
    "level",
    "has_pai",
    "health_notes",
]


class MemberForm(forms.ModelForm):
    """A responsable or a child: the fields shown depend on the kind."""

    class Meta:
        model = Personne
        fields = sorted(set(RESPONSABLE_FIELDS + ENFANT_FIELDS))
        widgets = {
            "birth_date": DateInput(),
            "health_notes": forms.Textarea(attrs={"rows": 3}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }
        help_texts = {
            "health_notes": _(
                "Allergies, traitements, consignes : ce que les équipes doivent savoir."
            ),
        }

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        wanted = RESPONSABLE_FIELDS if kind == "responsable" else ENFANT_FIELDS
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        self.order_fields(wanted)

    def clean(self):
        cleaned = super().clean()
        for name in ("last_name", "first_names"):
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].strip()
        return cleaned


class AuthorisedPersonForm(forms.ModelForm):
    class Meta:
        model = AuthorisedPerson
        fields = ["last_name", "first_name", "phone", "relationship"]
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})}


class ServiceKeyForm(forms.Form):
    service = forms.ModelChoiceField(
        label=_("Clé"),
        queryset=None,
        empty_label=None,
        error_messages={
            "invalid_choice": _("Choisissez une clé d'un service dont vous avez la charge.")
        },
    )
    send_to = forms.EmailField(
        label=_("Envoyer la clé par courriel à"),
        required=False,
        help_text=_("Laissez vide pour la remettre vous-même à la famille."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["service"].label_from_instance = lambda s: s.key_label


PAYEUR_PAR_DEFAUT = "defaut"


class PayeurForm(forms.Form):
    """« Payeur des factures »: one of the family's responsables, or the default one (the
    responsable whose account acts for the family, else the first entered).
    `cleaned_data["payeur"]` is the Personne, or None for the default."""

    payeur = forms.ChoiceField(
        label=_("Payeur des factures"),
        widget=forms.RadioSelect,
        help_text=_("Ses nom et prénom figurent sur les factures de la famille."),
        error_messages={
            "required": _("Choisissez le payeur des factures."),
            "invalid_choice": _("Choisissez le payeur des factures parmi les responsables."),
        },
    )

    def __init__(self, *args, responsables: list[Personne], default_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.responsables = {str(personne.pk): personne for personne in responsables}
        default = (
            _("Par défaut : %(name)s") % {"name": default_name}
            if default_name
            else _("Par défaut (aucun responsable enregistré)")
        )
        self.fields["payeur"].choices = [
            (PAYEUR_PAR_DEFAUT, default),
            *((pk, full_name(personne)) for pk, personne in self.responsables.items()),
        ]

    def clean_payeur(self) -> Personne | None:
        value = self.cleaned_data["payeur"]
        return None if value == PAYEUR_PAR_DEFAUT else self.responsables[value]
