"""The forms of the guichet's documents and family quotient: the queue's filter, the batch
validation, the refusal's reason, the QF calculator and a QF given as is. They validate; the
views hand `cleaned_data` to the services."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.demarches.guichet.forms_demandes import FilterBoundField, TextForm
from parvis.demarches.guichet.selectors_documents import NO_SERVICE, DocumentFilters
from parvis.families.forms_documents import DateInput
from parvis.families.models import QfSource
from parvis.ids import parse_ids
from parvis.money import CENT, ZERO

MAX_AMOUNT = Decimal("9999999.99")
MAX_CHILDREN = 20
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


class DocumentFilterForm(forms.Form):
    """The queue's filter (GET): one service, « Sans service », or all. An unknown value is
    dropped, not fatal."""

    bound_field_class = FilterBoundField
    service = forms.ChoiceField(label=_("Service"), required=False)

    def __init__(self, *args, services, with_no_service: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {str(service.pk): service for service in services}
        choices = [("", _("Tous vos services"))]
        choices += [(pk, service.name) for pk, service in self.services.items()]
        if with_no_service:
            choices.append((NO_SERVICE, _("Sans service")))
        self.fields["service"].choices = choices

    def filters(self) -> DocumentFilters:
        value = ""
        if self.is_bound and self.is_valid():
            value = self.cleaned_data["service"]
        return DocumentFilters(service=self.services.get(value), no_service=value == NO_SERVICE)

    @property
    def active(self) -> bool:
        filters = self.filters()
        return filters.service is not None or filters.no_service


class DocumentBatchForm(forms.Form):
    """The documents ticked in the queue, for « Valider la sélection »."""

    documents = forms.MultipleChoiceField(
        label=_("Documents sélectionnés"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Cochez au moins un document.")},
    )

    def __init__(self, *args, pks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["documents"].choices = [(str(pk), str(pk)) for pk in pks]

    def clean_documents(self):
        values = self.cleaned_data["documents"]
        # Not a document's id (« ² », « -99999999999999999999 », letters): dropped; none left
        # is nothing ticked.
        pks = parse_ids(values)
        if not pks:
            raise forms.ValidationError(self.fields["documents"].error_messages["required"])
        return pks


class RefuseDocumentForm(TextForm):
    label = _("Motif du refus")
    help_text = _("Envoyé à la famille par courriel : un refus est toujours motivé.")
    required_message = _("Indiquez le motif du refus : il est envoyé à la famille.")


# --- Family quotient -----------------------------------------------------------------------------


class EuroField(forms.CharField):
    """An amount in euros as people type it: « 30 000 », « 30000,50 », « 150.5 € »; a Decimal to
    the cent, never a float."""

    def __init__(self, *, required=True, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(required=required, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def clean(self, value):
        text = super().clean(value)  # a string, its length checked
        if text in self.empty_values:
            return None
        text = _SPACES.sub("", text).removesuffix("€").replace(",", ".")
        if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", text):
            raise forms.ValidationError(
                _("Saisissez un montant en euros, par exemple 30 000 ou 150,50."), code="invalid"
            )
        try:
            amount = Decimal(text)
        except InvalidOperation as error:  # pragma: no cover — the pattern excludes it
            raise forms.ValidationError(_("Saisissez un montant en euros."), code="invalid") from (
                error
            )
        if amount != amount.quantize(CENT):
            raise forms.ValidationError(
                _("Au plus deux chiffres après la virgule (les centimes)."), code="cents"
            )
        if amount > MAX_AMOUNT:
            raise forms.ValidationError(_("Ce montant est trop élevé."), code="max")
        return amount.quantize(CENT)


def default_validity(today: date | None = None) -> tuple[date, date]:
    """A new QF counts from 1 January to 31 December of the current year by default."""
    today = today or timezone.localdate()
    return date(today.year, 1, 1), date(today.year, 12, 31)


class _ValidityForm(forms.Form):
    valid_from = forms.DateField(
        label=_("Valable du"),
        widget=DateInput(),
        error_messages={
            "required": _("Indiquez le premier jour de validité."),
            "invalid": _("Saisissez une date valide, par exemple 01/01/2026."),
        },
    )
    valid_until = forms.DateField(
        label=_("Au (inclus)"),
        widget=DateInput(),
        error_messages={
            "required": _("Indiquez le dernier jour de validité."),
            "invalid": _("Saisissez une date valide, par exemple 31/12/2026."),
        },
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("La fin de validité ne peut pas précéder son début."))
        return cleaned


class QfCalculatorForm(_ValidityForm):
    """QF = (revenu fiscal de référence / 12 + prestations familiales mensuelles) / parts."""

    COUPLE, SINGLE = "couple", "isole"

    income = EuroField(
        label=_("Revenu fiscal de référence (€ par an)"),
        help_text=_("Indiqué sur l'avis d'imposition. Par exemple : 30 000."),
        error_messages={"required": _("Indiquez le revenu fiscal de référence.")},
    )
    benefits = EuroField(
        label=_("Prestations familiales mensuelles (€)"),
        required=False,
        help_text=_("Allocations familiales, complément familial… par mois. Vide : aucune."),
    )
    situation = forms.ChoiceField(
        label=_("Situation du foyer"),
        widget=forms.RadioSelect,
        choices=[
            (COUPLE, _("En couple")),
            (SINGLE, _("Parent seul (isolé)")),
        ],
        error_messages={"required": _("Indiquez si le foyer compte un ou deux parents.")},
    )
    children = forms.IntegerField(
        label=_("Nombre d'enfants à charge"),
        min_value=0,
        max_value=MAX_CHILDREN,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": _("Indiquez le nombre d'enfants à charge (0 si aucun)."),
            "invalid": _("Saisissez un nombre entier, par exemple 2."),
            "min_value": _("Le nombre d'enfants ne peut pas être négatif."),
            "max_value": _("Pas plus de %(limit_value)s enfants."),
        },
    )

    field_order = ["income", "benefits", "situation", "children", "valid_from", "valid_until"]

    @property
    def couple(self) -> bool:
        return self.cleaned_data["situation"] == self.COUPLE

    @property
    def benefits_amount(self) -> Decimal:
        return self.cleaned_data.get("benefits") or ZERO


class QfDirectForm(_ValidityForm):
    """A QF given as is: the one on the CAF's certificate, or set by an agent."""

    value = EuroField(
        label=_("Quotient familial (€)"),
        error_messages={"required": _("Indiquez le quotient familial.")},
    )
    source = forms.ChoiceField(
        label=_("Source"),
        widget=forms.RadioSelect,
        choices=[(QfSource.CAF, QfSource.CAF.label), (QfSource.AGENT, QfSource.AGENT.label)],
        error_messages={"required": _("Indiquez d'où vient ce quotient familial.")},
    )

    field_order = ["value", "source", "valid_from", "valid_until"]
