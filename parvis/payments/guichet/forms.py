"""The régie's forms: filters of its lists, a payment at the counter (one invoice, or several
of a family with the amount spread oldest first), the cancellation of a payment, the reminders,
the Treasury's export and the refund of a trop-perçu. Every error is French and stands next to
its field; nothing here writes (parvis.billing.services and parvis.payments.services do)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.billing.models import (
    COUNTER_METHODS,
    Invoice,
    PaymentMethod,
    PaymentStatus,
    Regie,
)
from parvis.billing.pricing import money
from parvis.communes.dates import first_of_month, month_bounds
from parvis.families import selectors as family_selectors
from parvis.money import CENT, ZERO
from parvis.payments.guichet import selectors
from parvis.payments.models import RefundMethod, TropPercuStatus

BAD_DATE = gettext_lazy("Indiquez une date valide, par exemple 15/09/2026.")
BAD_REGIE = gettext_lazy("Choisissez une régie de la liste.")
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


def _date_field(label, *, required: bool = False, help_text="") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=DATE_FORMATS,
        error_messages={"invalid": BAD_DATE, "required": BAD_DATE},
    )


def _regie_field(commune) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=gettext_lazy("Régie"),
        queryset=Regie.objects.filter(commune=commune).order_by("position", "name"),
        required=False,
        empty_label=gettext_lazy("Toutes les régies"),
        error_messages={"invalid_choice": BAD_REGIE},
    )


class MoneyField(forms.DecimalField):
    """An amount in euros as people type it: « 45,10 », « 45.10 », « 45,10 € », « 1 234,50 »."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", CENT)
        kwargs.setdefault("localize", True)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        messages = {
            "required": gettext_lazy("Indiquez le montant reçu, par exemple 45,10."),
            "invalid": gettext_lazy("Indiquez un montant en euros, par exemple 45,10."),
            "min_value": gettext_lazy("Le montant est supérieur à 0 €."),
            "max_decimal_places": gettext_lazy(
                "Au plus deux chiffres après la virgule (les centimes)."
            ),
            "max_digits": gettext_lazy("Ce montant est trop grand."),
            "max_whole_digits": gettext_lazy("Ce montant est trop grand."),
        }
        messages.update(kwargs.pop("error_messages", {}))
        super().__init__(error_messages=messages, **kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            for character in ("€", " ", "\u00a0", "\u202f"):
                value = value.replace(character, "")
            value = value.replace(",", ".")
        return super().to_python(value)


# --- Filters -------------------------------------------------------------------------------------


class UnpaidFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Famille"),
        required=False,
        max_length=120,
        help_text=gettext_lazy("Nom de la famille, code famille (F000012) ou numéro de facture."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    en_retard = forms.BooleanField(label=gettext_lazy("En retard seulement"), required=False)

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"regie": _regie_field(commune), **self.fields}

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "regie": data.get("regie"),
            "overdue_only": bool(data.get("en_retard")),
            "query": data.get("q") or "",
        }


class RegieFilterForm(forms.Form):
    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regie"] = _regie_field(commune)

    def regie(self) -> Regie | None:
        if not self.is_bound or not self.is_valid():
            return None
        return self.cleaned_data.get("regie")


class PaymentsFilterForm(forms.Form):
    du = _date_field(gettext_lazy("Reçus du"))
    au = _date_field(gettext_lazy("au (inclus)"))
    mode = forms.ChoiceField(
        label=gettext_lazy("Mode de paiement"),
        required=False,
        choices=[("", gettext_lazy("Tous les modes")), *PaymentMethod.choices],
        error_messages={"invalid_choice": gettext_lazy("Choisissez un mode de la liste.")},
    )
    etat = forms.ChoiceField(
        label=gettext_lazy("État"),
        required=False,
        choices=[("", gettext_lazy("Tous")), *PaymentStatus.choices],
        error_messages={"invalid_choice": gettext_lazy("Choisissez un état de la liste.")},
    )

    def __init__(self, *args, commune, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regie"] = _regie_field(commune)
        self.today = today
        self.default_start = first_of_month(today)
        if not self.is_bound:
            self.initial.update({"du": self.default_start, "au": today})

    def clean(self):
        data = super().clean()
        start, end = data.get("du"), data.get("au")
        if start and end and start > end:
            self.add_error("au", _("La fin de la période est avant son début."))
        return data

    def filters(self) -> dict:
        """The period (this month by default), mode, régie and state; an invalid form filters
        on the default period only."""
        defaults = {"start": self.default_start, "end": self.today}
        if not self.is_bound or not self.is_valid():
            return defaults
        data = self.cleaned_data
        return {
            "start": data.get("du") or (None if self.data.get("du") == "" else defaults["start"]),
            "end": data.get("au") or (None if self.data.get("au") == "" else defaults["end"]),
            "method": data.get("mode") or "",
            "regie": data.get("regie"),
            "status": data.get("etat") or "",
        }


# --- A payment at the counter --------------------------------------------------------------------

REFERENCE_REQUIRED = {
    PaymentMethod.CHEQUE: gettext_lazy(
        "Pour un chèque, indiquez son numéro et sa banque, par exemple « 1234567 — Banque "
        "Populaire »."
    ),
    PaymentMethod.CESU: gettext_lazy("Pour des CESU, indiquez les numéros des titres."),
    PaymentMethod.VIREMENT: gettext_lazy("Pour un virement, indiquez sa référence."),
}


def spread(amount: Decimal, invoices: list[Invoice], limits: dict[int, Decimal]):
    """`amount` over `invoices` in their order (oldest first), each up to its limit: the shares
    of the allocations, without the invoices nothing is left for."""
    shares, left = [], amount
    for invoice in invoices:
        if left <= 0:
            break
        share = min(left, limits[invoice.pk])
        if share > 0:
            shares.append((invoice, share))
            left -= share
    return shares


def invoice_choice_label(invoice: Invoice) -> str:
    return _(
        "N° %(number)s — %(label)s, émise le %(issued)s, à régler avant le %(due_on)s : "
        "reste %(due)s sur %(total)s (%(regie)s)"
    ) % {
        "number": invoice.number,
        "label": invoice.label,
        "issued": invoice.issued_on.strftime("%d/%m/%Y"),
        "due_on": invoice.due_on.strftime("%d/%m/%Y"),
        "due": money(invoice.due_amount),
        "total": money(invoice.total),
        "regie": invoice.regie.name,
    }


class CounterPaymentForm(forms.Form):
    """Money received at the counter for one invoice (`invoices` of one item), or for the
    checked invoices of a family (`choose`): `cleaned_data["allocations"]` is the list of
    (invoice, share) for billing.services.record_payment, and `cleaned_data["regie"]`."""

    method = forms.ChoiceField(
        label=gettext_lazy("Mode de paiement"),
        choices=[(m.value, m.label) for m in COUNTER_METHODS],
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choisissez le mode de paiement."),
            "invalid_choice": gettext_lazy("Choisissez le mode de paiement."),
        },
    )
    amount = MoneyField(label=gettext_lazy("Montant reçu (€)"))
    received_on = _date_field(
        gettext_lazy("Reçu le"),
        required=True,
        help_text=gettext_lazy("Le jour où l'argent a été remis, pas après aujourd'hui."),
    )
    reference = forms.CharField(
        label=gettext_lazy("Référence"),
        required=False,
        max_length=120,
        help_text=gettext_lazy(
            "Obligatoire pour un chèque (n° de chèque et banque), des CESU (numéros des titres) "
            "ou un virement (sa référence) ; facultative pour des espèces."
        ),
        error_messages={"max_length": gettext_lazy("120 caractères au plus.")},
    )
    payer_name = forms.CharField(
        label=gettext_lazy("Payé par"),
        required=False,
        max_length=200,
        help_text=gettext_lazy(
            "La personne qui paie, nommée sur le reçu. Par défaut, le payeur des factures de la "
            "famille."
        ),
        error_messages={"max_length": gettext_lazy("200 caractères au plus.")},
    )

    def __init__(self, *args, famille, invoices: list[Invoice], today: date, choose=False, **kw):
        super().__init__(*args, **kw)
        self.famille, self.today, self.choose = famille, today, choose
        self.invoices = list(invoices)
        due = sum((invoice.due_amount for invoice in self.invoices), ZERO)
        self.fields["amount"].help_text = (
            _(
                "Au plus ce qui reste dû sur les factures cochées ; il est réparti de la plus "
                "ancienne à la plus récente."
            )
            if choose
            else _("Au plus ce qui reste dû : %(due)s.") % {"due": money(due)}
        )
        if choose:
            self.fields = {
                "invoices": forms.MultipleChoiceField(
                    label=gettext_lazy("Factures réglées"),
                    choices=[(str(i.pk), invoice_choice_label(i)) for i in self.invoices],
                    widget=forms.CheckboxSelectMultiple,
                    error_messages={
                        "required": gettext_lazy("Cochez au moins une facture."),
                        "invalid_choice": gettext_lazy("Cochez des factures de la liste."),
                    },
                ),
                **self.fields,
            }
        if not self.is_bound:
            self.initial.setdefault("received_on", today)
            self.initial.setdefault("amount", due)
            self.initial.setdefault("payer_name", family_selectors.payeur_name(famille))
            if choose:
                self.initial.setdefault("invoices", [str(i.pk) for i in self.invoices])

    def _chosen(self) -> list[Invoice] | None:
        if not self.choose:
            return self.invoices
        picked = self.cleaned_data.get("invoices")
        if picked is None:
            return None
        return [invoice for invoice in self.invoices if str(invoice.pk) in picked]

    def clean_received_on(self):
        day = self.cleaned_data["received_on"]
        if day > self.today:
            raise forms.ValidationError(
                _("La date de réception ne peut pas être après aujourd'hui (%(today)s).")
                % {"today": self.today.strftime("%d/%m/%Y")}
            )
        return day

    def clean_reference(self):
        return " ".join(self.cleaned_data.get("reference", "").split())

    def clean(self):
        data = super().clean()
        method, amount = data.get("method"), data.get("amount")
        missing_reference = not data.get("reference") and "reference" not in self.errors
        if method in REFERENCE_REQUIRED and missing_reference:
            self.add_error("reference", REFERENCE_REQUIRED[method])
        chosen = self._chosen()
        if not chosen:
            return data
        if len({invoice.regie_id for invoice in chosen}) > 1:
            self.add_error(
                "invoices",
                _(
                    "Les factures cochées relèvent de régies différentes : encaissez-les "
                    "séparément, un reçu par régie."
                ),
            )
            return data
        if method is None or amount is None:
            return data
        limits = {invoice.pk: invoice.due_amount for invoice in chosen}
        due = sum(limits.values(), ZERO)
        if amount > due:
            self.add_error(
                "amount",
                _(
                    "Le montant dépasse ce qui reste dû (%(due)s) : un paiement ne peut pas "
                    "régler plus que la facture."
                )
                % {"due": money(due)}
                if len(chosen) == 1
                else _(
                    "Le montant dépasse ce qui reste dû sur les factures cochées (%(due)s) : "
                    "un paiement ne peut pas régler plus que les factures."
                )
                % {"due": money(due)},
            )
            return data
        if method == PaymentMethod.CESU:
            limits = selectors.cesu_limits(chosen)
            cesu = sum(limits.values(), ZERO)
            if cesu == 0:
                self.add_error(
                    "method",
                    _(
                        "Le CESU ne paie que la garde des enfants de moins de 6 ans : "
                        "ces factures n'ont pas de frais de garde d'un enfant de moins de "
                        "6 ans à régler. Choisissez un autre mode de paiement."
                    ),
                )
                return data
            if amount > cesu:
                self.add_error(
                    "amount",
                    _(
                        "Le CESU ne paie que la garde des enfants de moins de 6 ans : au plus "
                        "%(cesu)s sur ces factures (leurs frais de garde de ces enfants). "
                        "Le reste se règle par un autre mode."
                    )
                    % {"cesu": money(cesu)},
                )
                return data
        data["allocations"] = spread(amount, chosen, limits)
        data["regie"] = chosen[0].regie
        return data


class CancelPaymentForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motif de l'annulation"),
        max_length=300,
        help_text=gettext_lazy(
            "Gardé au journal : « chèque sans provision », « erreur de saisie »…"
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": gettext_lazy("Indiquez le motif de l'annulation."),
            "max_length": gettext_lazy("300 caractères au plus."),
        },
    )


# --- Trop-perçus ---------------------------------------------------------------------------------


class TropPercusFilterForm(forms.Form):
    etat = forms.ChoiceField(
        label=gettext_lazy("État"),
        required=False,
        choices=[("", gettext_lazy("Tous")), *TropPercuStatus.choices],
        error_messages={"invalid_choice": gettext_lazy("Choisissez un état de la liste.")},
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"regie": _regie_field(commune), **self.fields}

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {"status": self.cleaned_data.get("etat") or "", "regie": self.cleaned_data["regie"]}


class RefundForm(forms.Form):
    """« Rembourser »: how, when and with which reference the régie gave the money back. The
    rules (a reference but for cash, a day between the trop-perçu and today) are the service's,
    which puts its refusals on these fields."""

    method = forms.ChoiceField(
        label=gettext_lazy("Moyen du remboursement"),
        choices=RefundMethod.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choisissez le moyen du remboursement."),
            "invalid_choice": gettext_lazy("Choisissez le moyen du remboursement."),
        },
    )
    refunded_on = _date_field(
        gettext_lazy("Remboursé le"),
        required=True,
        help_text=gettext_lazy(
            "Le jour où la somme a été rendue ou envoyée, pas après aujourd'hui."
        ),
    )
    reference = forms.CharField(
        label=gettext_lazy("Référence du remboursement"),
        required=False,
        max_length=120,
        help_text=gettext_lazy(
            "Obligatoire sauf en espèces : référence du virement, numéro du chèque ou de "
            "l'opération de remboursement sur la carte."
        ),
        error_messages={"max_length": gettext_lazy("120 caractères au plus.")},
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["refunded_on"] = today


# --- Reminders and export ------------------------------------------------------------------------


class RemindersForm(forms.Form):
    invoices = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Factures à relancer"),
        queryset=Invoice.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": gettext_lazy("Cochez au moins une facture à relancer."),
            "invalid_choice": gettext_lazy(
                "Une facture cochée n'est plus en retard ou n'existe pas : rechargez la page."
            ),
            "invalid_pk_value": gettext_lazy("Cochez des factures de la liste."),
        },
    )

    def __init__(self, *args, overdue, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = overdue


EXPORT_INVOICES, EXPORT_PAYMENTS = "factures", "paiements"


class ExportForm(forms.Form):
    type = forms.ChoiceField(
        label=gettext_lazy("Fichier"),
        choices=[
            (EXPORT_INVOICES, gettext_lazy("Les factures émises dans la période")),
            (EXPORT_PAYMENTS, gettext_lazy("Les paiements reçus dans la période")),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choisissez le fichier : factures ou paiements."),
            "invalid_choice": gettext_lazy("Choisissez le fichier : factures ou paiements."),
        },
    )
    du = _date_field(gettext_lazy("Du"), required=True)
    au = _date_field(gettext_lazy("Au (inclus)"), required=True)

    def __init__(self, *args, commune, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regie"] = _regie_field(commune)
        if not self.is_bound:
            start, end = month_bounds(first_of_month(today, -1))
            self.initial.update({"type": EXPORT_INVOICES, "du": start, "au": end})

    def clean(self):
        data = super().clean()
        start, end = data.get("du"), data.get("au")
        if start and end and start > end:
            self.add_error("au", _("La fin de la période est avant son début."))
        return data


__all__ = [
    "CancelPaymentForm",
    "CounterPaymentForm",
    "ExportForm",
    "PaymentsFilterForm",
    "RegieFilterForm",
    "RemindersForm",
    "UnpaidFilterForm",
    "spread",
]
