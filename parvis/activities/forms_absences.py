"""The forms of « Signaler une absence » (phone first) and « Ajouter un certificat ».

The forms check what the page shows and say every mistake at once, next to its field (the
dates through services_absences.check_dates, the file through parvis.uploads.check_upload); the
service checks again when it writes, and its refusals (an overlap, the family's storage full) go
next to their field too (`add_service_error`)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.activities.models import AbsenceReason
from parvis.activities.services_absences import CERTIFICATE, COMMENT_MAX_LENGTH, check_dates
from parvis.communes.dates import long_date
from parvis.uploads import check_upload

TODAY, TOMORROW, SEVERAL = "aujourdhui", "demain", "plusieurs"
# Photos from the phone's camera (capture) or a PDF; the content is checked, not this.
ACCEPT = "image/*,application/pdf"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class CertificateInput(forms.FileInput):
    def __init__(self, attrs=None):
        super().__init__({"accept": ACCEPT, "capture": "environment", **(attrs or {})})


def certificate_field(*, required: bool, help_text) -> forms.FileField:
    return forms.FileField(
        label=_("Certificat médical"),
        required=required,
        # An empty file is refused by check_upload, with its own message.
        allow_empty_file=True,
        help_text=help_text,
        error_messages={"required": _("Choisissez la photo ou le PDF du certificat.")},
        widget=CertificateInput(),
    )


class AbsenceForm(forms.Form):
    """« Signaler une absence » for a child of the account's households (`households`, from
    parvis.families.selectors_citizen.households): the child, when (today, tomorrow or from…
    to…), the reason, a comment, the certificate."""

    child = forms.TypedChoiceField(
        label=_("Enfant absent"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez l'enfant absent.")},
    )
    quand = forms.ChoiceField(
        label=_("Quand ?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez le jour de l'absence.")},
    )
    du = forms.DateField(
        label=_("Du"),
        required=False,
        widget=DateInput(),
        help_text=_("Seulement pour « Plusieurs jours » : le premier jour d'absence."),
        error_messages={"invalid": _("Indiquez une date valide, par exemple 15/09/2026.")},
    )
    au = forms.DateField(
        label=_("Au (inclus)"),
        required=False,
        widget=DateInput(),
        help_text=_("Seulement pour « Plusieurs jours » : le dernier jour d'absence."),
        error_messages={"invalid": _("Indiquez une date valide, par exemple 15/09/2026.")},
    )
    reason = forms.ChoiceField(
        label=_("Motif"),
        choices=AbsenceReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez le motif de l'absence.")},
    )
    comment = forms.CharField(
        label=_("Précision"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Par exemple « fièvre » ou « rendez-vous médical »."),
    )
    certificat = certificate_field(
        required=False,
        help_text=_(
            "Une photo lisible du certificat, ou un PDF (JPEG, PNG ou PDF, 10 Mo au plus). Vous "
            "pourrez aussi l'envoyer plus tard depuis la page de l'absence. Après une erreur, "
            "choisissez de nouveau le fichier."
        ),
    )

    def __init__(self, *args, households, today, shared=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self._children = {}
        choices = []
        for household in households:
            for child in household.children:
                self._children[child.pk] = (household.famille, child)
                label = child.first_names
                if len(households) > 1:
                    label = f"{child.first_names} {child.last_name}"
                choices.append((child.pk, label))
        # A shared child of another household (« garde partagée »), declared by this one's.
        for famille, child in shared:
            if child.pk not in self._children:
                self._children[child.pk] = (famille, child)
                choices.append((child.pk, f"{child.first_names} {child.last_name}"))
        self.fields["child"].choices = choices
        if len(choices) == 1:
            self.fields["child"].initial = choices[0][0]
        tomorrow = today + timedelta(days=1)
        self.fields["quand"].choices = [
            (TODAY, _("Aujourd'hui (%(day)s)") % {"day": long_date(today, "l j F")}),
            (TOMORROW, _("Demain (%(day)s)") % {"day": long_date(tomorrow, "l j F")}),
            (SEVERAL, _("Plusieurs jours")),
        ]
        self.fields["quand"].initial = TODAY

    def clean_certificat(self):
        upload = self.cleaned_data.get("certificat")
        if upload is not None:
            check_upload(upload)
        return upload

    def _days(self, data):
        """(first day, last day) of the choice, or None (the error said next to its field)."""
        quand = data.get("quand")
        if quand == TODAY:
            return self.today, self.today
        if quand == TOMORROW:
            tomorrow = self.today + timedelta(days=1)
            return tomorrow, tomorrow
        if quand != SEVERAL:
            return None
        first, last = data.get("du"), data.get("au")
        if first is None and "du" not in self.errors:
            self.add_error("du", _("Indiquez le premier jour d'absence."))
        if last is None and "au" not in self.errors:
            self.add_error("au", _("Indiquez le dernier jour d'absence."))
        if first is None or last is None:
            return None
        return first, last

    def clean(self):
        data = super().clean()
        child = self._children.get(data.get("child"))
        data["famille"], data["child"] = child if child else (None, None)
        days = self._days(data)
        data["first_day"], data["last_day"] = days or (None, None)
        if days is not None:
            try:
                check_dates(first_day=days[0], last_day=days[1], today=self.today)
            except ValidationError as error:
                self.add_service_error(error)
        return data

    def _field_of(self, key: str) -> str | None:
        several = self.data.get("quand") == SEVERAL
        return {
            "child": "child",
            "reason": "reason",
            "comment": "comment",
            "first_day": "du" if several else "quand",
            "last_day": "au" if several else "quand",
            CERTIFICATE: "certificat",
        }.get(key)

    def add_service_error(self, error: ValidationError) -> None:
        """A refusal of services_absences (or of its date check), next to its field."""
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for key, messages in error.message_dict.items():
            field = self._field_of(key)
            for message in messages:
                if field is not None and field in self.errors and message in self.errors[field]:
                    continue
                self.add_error(field, message)

    def declare_arguments(self) -> dict:
        """The keyword arguments of services_absences.declare_absence (without actor)."""
        data = self.cleaned_data
        return {
            "famille": data["famille"],
            "child": data["child"],
            "first_day": data["first_day"],
            "last_day": data["last_day"],
            "reason": data["reason"],
            "comment": data.get("comment") or "",
            "certificate_upload": data.get("certificat"),
        }


class CertificateForm(forms.Form):
    """« Ajouter un certificat » to an absence already declared."""

    certificat = certificate_field(
        required=True,
        help_text=_(
            "Une photo lisible du certificat, ou un PDF (JPEG, PNG ou PDF, 10 Mo au plus). "
            "Après une erreur, choisissez de nouveau le fichier."
        ),
    )

    def clean_certificat(self):
        upload = self.cleaned_data.get("certificat")
        if upload is not None:
            check_upload(upload)
        return upload

    def add_service_error(self, error: ValidationError) -> None:
        for message in error.messages:
            self.add_error("certificat", message)
