"""The form of the administrative file (« Dossier administratif »): insert a document into one
slot of the checklist. The type, the person and the service come from the slot, never from the
form; the family gives the file and the date the type's validity needs."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.families.documents import MONTHS_VALID, needs_document_date, needs_income_year
from parvis.uploads import check_upload

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def _validity_help(doc_type: str) -> str:
    months = MONTHS_VALID[doc_type]
    if months % 12 == 0:
        return _("La date inscrite sur le document : il est valable un an à partir de cette date.")
    return _(
        "La date inscrite sur le document (facture, attestation…) : il est valable "
        "%(months)s mois à partir de cette date."
    ) % {"months": months}


class InsertDocumentForm(forms.Form):
    """One document for one slot: the file, and the document's date or the income year when the
    type needs it (a tax notice serves the school year after its income year: « revenus N-1 »)."""

    fichier = forms.FileField(
        label=gettext_lazy("Document"),
        help_text=gettext_lazy("PDF, JPEG ou PNG, 10 Mo au plus."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    document_date = forms.DateField(
        label=gettext_lazy("Date du document"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    income_year = forms.IntegerField(
        label=gettext_lazy("Année des revenus"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, slot, school_year: int, **kwargs):
        kwargs.setdefault("prefix", f"doc-{slot.key}")
        super().__init__(*args, **kwargs)
        self.slot = slot
        self.school_year = school_year
        doc_type = slot.requirement.doc_type
        if needs_document_date(doc_type):
            self.fields["document_date"].help_text = _validity_help(doc_type)
        else:
            del self.fields["document_date"]
        if needs_income_year(doc_type):
            field = self.fields["income_year"]
            field.initial = self.income_year_wanted
            field.help_text = _(
                "Revenus N-1 : pour l'année scolaire %(year)s, joignez l'avis d'imposition "
                "%(notice)s sur les revenus %(income)s."
            ) % {
                "year": f"{school_year}-{school_year + 1}",
                "notice": school_year,
                "income": self.income_year_wanted,
            }
        else:
            del self.fields["income_year"]

    @property
    def income_year_wanted(self) -> int:
        return self.school_year - 1

    def clean_fichier(self):
        upload = self.cleaned_data.get("fichier")
        if upload:
            check_upload(upload)
        return upload

    def clean_document_date(self):
        day = self.cleaned_data.get("document_date")
        if day and day > timezone.localdate():
            raise forms.ValidationError(_("La date du document ne peut pas être dans le futur."))
        return day

    def clean_income_year(self):
        year = self.cleaned_data.get("income_year")
        if year is not None and year != self.income_year_wanted:
            raise forms.ValidationError(
                _(
                    "Pour l'année scolaire %(year)s, seul l'avis d'imposition sur les revenus "
                    "%(income)s compte (revenus N-1) : l'avis sur les revenus %(given)s ne "
                    "compléterait pas le dossier."
                )
                % {
                    "year": f"{self.school_year}-{self.school_year + 1}",
                    "income": self.income_year_wanted,
                    "given": year,
                }
            )
        return year

    def service_arguments(self) -> dict:
        """What store_document takes from this form."""
        return {
            "upload": self.cleaned_data["fichier"],
            "document_date": self.cleaned_data.get("document_date"),
            "income_year": self.cleaned_data.get("income_year"),
        }
