"""Forms of the family's secure storage (« porte-documents »): adding a document, renaming one.

Forms only validate what the page shows; the writes (and the checks that keep the store safe:
content, size, dates, quota, the person's household) are parvis.families.services_documents'.
The form runs the same pure checks first (parvis.uploads.check_upload, check_dates) so that every
mistake is said at once, next to its field; the service checks again when it stores."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.families.models import DocumentType
from parvis.families.services_documents import check_dates
from parvis.uploads import check_upload

WHOLE_HOUSEHOLD = "foyer"
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
LABEL_MAX_LENGTH = 120

# The service's errors are keyed by the store's names; a refusal of the file itself (content,
# size, quota) has no key: it goes next to the file.
SERVICE_FIELDS = {
    "personne": "personne",
    "document_date": "document_date",
    "income_year": "income_year",
    "doc_type": "doc_type",
    "label": "label",
}
FILE_FIELD = "fichier"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _family_label(famille) -> str:
    return _("Foyer %(name)s (dossier %(reference)s)") % {
        "name": famille.name,
        "reference": famille.reference,
    }


class DocumentForm(forms.Form):
    """A new document of one of the account's households. `households` are the account's own
    (parvis.families.selectors_citizen.households): the family and person choices come only from
    them."""

    famille = forms.TypedChoiceField(label=_("Foyer"), coerce=int)
    doc_type = forms.ChoiceField(
        label=_("Type de document"),
        choices=[("", _("Choisissez le type")), *DocumentType.choices],
        error_messages={"required": _("Choisissez le type du document.")},
    )
    personne = forms.ChoiceField(
        label=_("Personne concernée"),
        help_text=_("« Tout le foyer » pour un document qui concerne toute la famille."),
    )
    label = forms.CharField(
        label=_("Nom du document"),
        required=False,
        max_length=LABEL_MAX_LENGTH,
        help_text=_(
            "Pour le retrouver facilement. Sans nom, le document prend le nom de son type et de "
            "la personne concernée."
        ),
    )
    fichier = forms.FileField(
        label=_("Fichier"),
        # An empty file is refused by check_upload, with its own message.
        allow_empty_file=True,
        help_text=_(
            "PDF, JPEG ou PNG, 10 Mo au plus. Une photo prise avec un téléphone convient si elle "
            "est lisible. Après une erreur, choisissez de nouveau le fichier."
        ),
        error_messages={"required": _("Choisissez le fichier à déposer.")},
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    document_date = forms.DateField(
        label=_("Date du document"),
        required=False,
        widget=DateInput(),
        help_text=_(
            "Nécessaire pour un justificatif de domicile, une attestation CAF, un certificat "
            "médical ou une attestation d'assurance : elle fixe jusqu'à quand le document est "
            "valable (3 mois pour un justificatif de domicile ou une attestation CAF, un an pour "
            "un certificat médical ou une attestation d'assurance)."
        ),
        error_messages={"invalid": _("Indiquez une date valide, par exemple 15/09/2026.")},
    )
    income_year = forms.IntegerField(
        label=_("Année des revenus"),
        required=False,
        min_value=1900,
        max_value=9999,
        help_text=_(
            "Nécessaire pour un avis d'imposition : l'année des revenus qu'il déclare (par "
            "exemple 2025 sur l'avis d'imposition 2026)."
        ),
        error_messages={"invalid": _("Indiquez une année, par exemple 2025.")},
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    field_order = [
        "famille",
        "doc_type",
        "personne",
        "fichier",
        "document_date",
        "income_year",
        "label",
    ]

    def __init__(self, *args, households, **kwargs):
        super().__init__(*args, **kwargs)
        self.households = list(households)
        self._families = {h.famille.pk: h.famille for h in self.households}
        self._members = {}
        for household in self.households:
            for member in (*household.responsables, *household.children):
                self._members[str(member.pk)] = member
        self.fields["famille"].choices = [
            (h.famille.pk, _family_label(h.famille)) for h in self.households
        ]
        if len(self.households) == 1:
            only = self.households[0].famille.pk
            self.fields["famille"].widget = forms.HiddenInput()
            self.fields["famille"].initial = only
        personne_choices = [(WHOLE_HOUSEHOLD, _("Tout le foyer"))]
        if len(self.households) == 1:
            personne_choices += self._member_choices(self.households[0])
        else:
            for household in self.households:
                personne_choices.append(
                    (_family_label(household.famille), self._member_choices(household))
                )
        self.fields["personne"].choices = personne_choices
        self.fields["personne"].initial = WHOLE_HOUSEHOLD

    @staticmethod
    def _member_choices(household) -> list[tuple[str, str]]:
        return [(str(m.pk), str(m)) for m in (*household.responsables, *household.children)]

    def clean_fichier(self):
        upload = self.cleaned_data.get("fichier")
        if upload is not None:
            check_upload(upload)
        return upload

    def clean(self):
        data = super().clean()
        famille = self._families.get(data.get("famille"))
        data["famille"] = famille
        raw = data.get("personne")
        if raw and raw != WHOLE_HOUSEHOLD:
            member = self._members.get(raw)
            if famille is not None and member is not None and member.famille_id != famille.pk:
                self.add_error(
                    "personne",
                    _("Cette personne n'est pas du foyer choisi : choisissez-en une de ce foyer."),
                )
                member = None
            data["personne"] = member
        else:
            data["personne"] = None
        doc_type = data.get("doc_type")
        if doc_type and "document_date" not in self.errors and "income_year" not in self.errors:
            try:
                check_dates(
                    doc_type=doc_type,
                    document_date=data.get("document_date"),
                    income_year=data.get("income_year"),
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    for message in messages:
                        self.add_error(field, message)
        return data

    def add_service_error(self, error: ValidationError) -> None:
        """A refusal of services_documents.store_document, next to the field it is about."""
        if hasattr(error, "error_dict"):
            for key, messages in error.message_dict.items():
                field = SERVICE_FIELDS.get(key, FILE_FIELD)
                for message in messages:
                    self.add_error(field, message)
        else:
            for message in error.messages:
                self.add_error(FILE_FIELD, message)

    def store_arguments(self) -> dict:
        """The keyword arguments of store_document, from the cleaned data."""
        data = self.cleaned_data
        return {
            "famille": data["famille"],
            "personne": data["personne"],
            "doc_type": data["doc_type"],
            "label": data.get("label") or "",
            "upload": data["fichier"],
            "document_date": data.get("document_date"),
            "income_year": data.get("income_year"),
        }


class RenameForm(forms.Form):
    label = forms.CharField(
        label=_("Nouveau nom du document"),
        max_length=LABEL_MAX_LENGTH,
        error_messages={"required": _("Indiquez le nouveau nom du document.")},
    )
