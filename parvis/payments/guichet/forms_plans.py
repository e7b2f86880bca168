"""The régie's forms for payment plans (issue 19 §3): granting a plan (the invoices, the number
of instalments and the first date, then each instalment's date and amount, proposed to the cent
and editable as long as they sum to what is due), a payment of an instalment at the counter, and
the end of a plan. Every error is French and stands next to its field; nothing here writes
(parvis.billing.services_plans and parvis.billing.services do)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.billing import plans
from parvis.billing.models import COUNTER_METHODS, Invoice, PaymentMethod, PlanStatus
from parvis.billing.pricing import money
from parvis.families import selectors as family_selectors
from parvis.money import ZERO
from parvis.payments.guichet.forms import (
    REFERENCE_REQUIRED,
    MoneyField,
    _date_field,
    invoice_choice_label,
)

CALCULATE = "calculer"
GRANT = "accorder"
FIRST_DELAY = timedelta(days=7)


def _count(value) -> int | None:
    """The number of instalments as the « nombre » field reads it (« 3 », « 3.0 »), None when it
    would refuse it: the instalment fields drawn always match the count the form validates."""
    try:
        count = forms.IntegerField(min_value=1, max_value=plans.MAX_INSTALMENTS).clean(value)
    except ValidationError:
        return None
    return count


class GrantPlanForm(forms.Form):
    """The plan to grant. `cleaned_data["invoices"]` are the chosen invoices, `["schedule"]`
    the instalments [(date, amount)] once the form is valid with its instalment fields
    (`date_<n>`, `montant_<n>`); `proposal()` fills them from the count and first date."""

    nombre = forms.IntegerField(
        label=gettext_lazy("Nombre d'échéances"),
        min_value=1,
        max_value=plans.MAX_INSTALMENTS,
        help_text=gettext_lazy("De 1 à 24, une par mois à partir de la première."),
        error_messages={
            "required": gettext_lazy("Indiquez le nombre d'échéances, par exemple 3."),
            "invalid": gettext_lazy("Indiquez un nombre entier, par exemple 3."),
            "min_value": gettext_lazy("Au moins une échéance."),
            "max_value": gettext_lazy("Au plus 24 échéances."),
        },
    )
    premiere = _date_field(
        gettext_lazy("Première échéance le"),
        required=True,
        help_text=gettext_lazy("Les suivantes tombent le même jour des mois suivants."),
    )
    note = forms.CharField(
        label=gettext_lazy("Motif (pour la régie)"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("Par exemple « perte d'emploi, demande du 02/12 »."),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": gettext_lazy("300 caractères au plus.")},
    )

    def __init__(self, *args, invoices: list[Invoice], today: date, with_schedule: bool, **kw):
        super().__init__(*args, **kw)
        self.invoices, self.today = list(invoices), today
        self.fields = {
            "invoices": forms.MultipleChoiceField(
                label=gettext_lazy("Factures de l'échéancier"),
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
            self.initial.setdefault("invoices", [str(i.pk) for i in self.invoices])
            self.initial.setdefault("nombre", 3)
            self.initial.setdefault("premiere", today + FIRST_DELAY)
        count = _count(self.data.get("nombre")) if self.is_bound else self.initial["nombre"]
        self.count = count if with_schedule else None
        for number in range(1, (self.count or 0) + 1):
            self.fields[f"date_{number}"] = _date_field(
                _("Échéance %(n)d : date") % {"n": number}, required=True
            )
            self.fields[f"montant_{number}"] = MoneyField(
                label=_("Échéance %(n)d : montant (€)") % {"n": number},
                error_messages={
                    "required": gettext_lazy(
                        "Indiquez le montant de l'échéance, par exemple 33,33."
                    ),
                    "min_value": gettext_lazy("Le montant d'une échéance est supérieur à 0 €."),
                },
            )
        if not self.is_bound and self.count:
            self.initial.update(
                self.proposal(self.chosen_initial(), count, self.initial["premiere"])
            )

    def chosen_initial(self) -> list[Invoice]:
        wanted = set(self.initial.get("invoices", []))
        return [invoice for invoice in self.invoices if str(invoice.pk) in wanted]

    @staticmethod
    def proposal(invoices: list[Invoice], count: int, first: date) -> dict:
        """The instalment fields' values: the total split to the cent, the last absorbing the
        rounding, one a month from `first`."""
        total = sum((invoice.due_amount for invoice in invoices), ZERO)
        if total < Decimal("0.01") * count:
            return {}
        amounts = plans.split(total, count)
        days = plans.monthly_dates(first, count)
        values = {}
        for number, (day, amount) in enumerate(zip(days, amounts, strict=True), start=1):
            values[f"date_{number}"] = day
            values[f"montant_{number}"] = amount
        return values

    def chosen(self) -> list[Invoice]:
        picked = set(self.cleaned_data.get("invoices") or [])
        return [invoice for invoice in self.invoices if str(invoice.pk) in picked]

    def total(self) -> Decimal:
        return sum((invoice.due_amount for invoice in self.chosen()), ZERO)

    def clean_premiere(self):
        day = self.cleaned_data["premiere"]
        if day < self.today:
            raise forms.ValidationError(
                _(
                    "La première échéance ne peut pas être passée (au plus tôt aujourd'hui, "
                    "le %(day)s)."
                )
                % {"day": self.today.strftime("%d/%m/%Y")}
            )
        return day

    def clean(self):
        data = super().clean()
        chosen = self.chosen()
        if chosen and len({invoice.regie_id for invoice in chosen}) > 1:
            self.add_error(
                "invoices",
                _("Les factures cochées relèvent de régies différentes : un échéancier par régie."),
            )
            return data
        count = data.get("nombre")
        if chosen and count and self.total() < Decimal("0.01") * count:
            self.add_error(
                "nombre",
                _("Trop d'échéances pour %(total)s : au moins 0,01 € par échéance.")
                % {"total": money(self.total())},
            )
        first = data.get("date_1")
        if self.count and first is not None and first < self.today:
            self.add_error(
                "date_1",
                _(
                    "La première échéance ne peut pas être passée (au plus tôt aujourd'hui, "
                    "le %(day)s)."
                )
                % {"day": self.today.strftime("%d/%m/%Y")},
            )
        if not self.count or self.errors:
            return data
        schedule = []
        for number in range(1, self.count + 1):
            day, amount = data.get(f"date_{number}"), data.get(f"montant_{number}")
            if day is None or amount is None:
                return data
            schedule.append((day, amount))
        for key, message in plans.check_schedule(total=self.total(), schedule=schedule).items():
            # The sum's error stands next to the last amount, the one that absorbs the rounding.
            self.add_error(f"montant_{self.count}" if key == "__all__" else key, message)
        data["schedule"] = schedule
        return data


class InstalmentPaymentForm(forms.Form):
    """Money received at the counter for a plan: the next instalment's amount by default, at
    most what remains of the plan; spread over its invoices in order by the view."""

    method = forms.ChoiceField(
        label=gettext_lazy("Mode de paiement"),
        choices=[(m.value, m.label) for m in COUNTER_METHODS if m != PaymentMethod.CESU],
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
            "Obligatoire pour un chèque (n° de chèque et banque) ou un virement (sa référence) ; "
            "facultative pour des espèces."
        ),
        error_messages={"max_length": gettext_lazy("120 caractères au plus.")},
    )
    payer_name = forms.CharField(
        label=gettext_lazy("Payé par"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("La personne qui paie, nommée sur le reçu."),
        error_messages={"max_length": gettext_lazy("200 caractères au plus.")},
    )

    def __init__(self, *args, plan, instalment, remaining: Decimal, today: date, **kw):
        super().__init__(*args, **kw)
        self.remaining, self.today = remaining, today
        self.fields["amount"].help_text = _(
            "Le montant de l'échéance, ou plus pour payer les suivantes : au plus ce qui reste "
            "de l'échéancier (%(remaining)s)."
        ) % {"remaining": money(remaining)}
        if not self.is_bound:
            self.initial.setdefault("amount", instalment.due_amount if instalment else ZERO)
            self.initial.setdefault("received_on", today)
            self.initial.setdefault("payer_name", family_selectors.payeur_name(plan.famille))

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
        if (
            method in REFERENCE_REQUIRED
            and not data.get("reference")
            and "reference" not in self.errors
        ):
            self.add_error("reference", REFERENCE_REQUIRED[method])
        if amount is not None and amount > self.remaining:
            self.add_error(
                "amount",
                _("Le montant dépasse ce qui reste de l'échéancier (%(remaining)s).")
                % {"remaining": money(self.remaining)},
            )
        return data


ENDINGS = [
    (PlanStatus.ROMPU.value, gettext_lazy("Rompu : la famille n'a pas tenu l'échéancier")),
    (
        PlanStatus.ANNULE.value,
        gettext_lazy("Annulé : accordé par erreur, ou la situation a changé"),
    ),
]


class EndPlanForm(forms.Form):
    to = forms.ChoiceField(
        label=gettext_lazy("L'échéancier prend fin"),
        choices=ENDINGS,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choisissez comment l'échéancier prend fin."),
            "invalid_choice": gettext_lazy("Choisissez comment l'échéancier prend fin."),
        },
    )
    reason = forms.CharField(
        label=gettext_lazy("Motif"),
        max_length=300,
        help_text=gettext_lazy(
            "Gardé au journal de la famille. Ses factures redeviennent exigibles et sont "
            "relancées comme factures."
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": gettext_lazy("Indiquez le motif."),
            "max_length": gettext_lazy("300 caractères au plus."),
        },
    )


class PlansFilterForm(forms.Form):
    etat = forms.ChoiceField(
        label=gettext_lazy("État"),
        required=False,
        choices=[("", gettext_lazy("Tous")), *PlanStatus.choices],
        error_messages={"invalid_choice": gettext_lazy("Choisissez un état de la liste.")},
    )
    en_retard = forms.BooleanField(
        label=gettext_lazy("Avec une échéance en retard seulement"), required=False
    )

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            "status": self.cleaned_data.get("etat") or "",
            "late_only": bool(self.cleaned_data.get("en_retard")),
        }
