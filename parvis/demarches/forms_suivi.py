"""Forms of the follow-up of requests: the dashboard's filter, the anonymous « suivi » (number and
tracking code), and the requester's message (the answer to « complément demandé », with a file).
Forms only validate: the writes are parvis.demarches.services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from parvis.demarches.models import Status
from parvis.uploads import check_upload

MESSAGE_MAX_LENGTH = 5000


ALL_STATES = "tous"


class DashboardFilterForm(forms.Form):
    etat = forms.ChoiceField(
        label=_("État"),
        choices=[(ALL_STATES, _("Tous les états")), *Status.choices],
        initial=ALL_STATES,
    )

    def status(self) -> str:
        """The state asked for, "" for all (or when the address holds an unknown one)."""
        if not self.is_bound or not self.is_valid() or self.cleaned_data["etat"] == ALL_STATES:
            return ""
        return self.cleaned_data["etat"]


def _compact(value: str) -> str:
    """« dem-2026-000123 » → « DEM-2026-000123 »; « abcd efgh 23 » → « ABCDEFGH23 »."""
    return "".join((value or "").split()).upper()


class CodeInput(forms.TextInput):
    """A visible text box (a code is easier typed seen) that, like a password box, never sends
    the code back in the page after a failed try."""

    def format_value(self, value):
        return None


class TrackingForm(forms.Form):
    numero = forms.CharField(
        label=_("Numéro de la demande"),
        max_length=40,
        help_text=_("Par exemple DEM-2026-000123 : il figure dans le courriel reçu au dépôt."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    code = forms.CharField(
        label=_("Code de suivi"),
        max_length=40,
        help_text=_("Les 10 caractères donnés au dépôt de la demande et dans le même courriel."),
        widget=CodeInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_numero(self) -> str:
        return _compact(self.cleaned_data["numero"])

    def clean_code(self) -> str:
        return _compact(self.cleaned_data["code"]).replace("-", "")


class MessageForm(forms.Form):
    """A message from the requester to the service, with an optional file."""

    message = forms.CharField(
        label=_("Votre message"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    fichier = forms.FileField(
        label=_("Pièce jointe"),
        required=False,
        help_text=_("PDF, JPEG ou PNG, 10 Mo au plus."),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
        ),
    )

    def __init__(self, *args, complement: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if complement:
            self.fields["message"].label = _("Votre réponse")
            self.fields["fichier"].label = _("Pièce demandée")

    def clean_fichier(self):
        upload = self.cleaned_data.get("fichier")
        if upload:
            check_upload(upload)
        return upload

    def uploads(self) -> list:
        upload = self.cleaned_data.get("fichier")
        return [upload] if upload else []
