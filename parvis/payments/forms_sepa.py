"""Forms of SEPA direct debit (issue 19 §1): the family's mandate and the code that confirms it,
and the régie's forms (a paper mandate, a batch's date, a reject, rejects to import). They only
read what is typed; the services check the account and the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from parvis.payments import sepa


def errors_on(form: forms.Form, error: ValidationError) -> None:
    """A service's ValidationError on the form: each message next to its field."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class MandateForm(forms.Form):
    holder_name = forms.CharField(
        label=_("Titulaire du compte"),
        max_length=70,
        help_text=_("Nom et prénom tels qu'ils figurent sur votre relevé d'identité bancaire."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=42,
        help_text=_("Par exemple FR76 3000 6000 0112 3456 7890 189 (espaces permis)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    bic = forms.CharField(
        label=_("BIC (facultatif)"),
        max_length=14,
        required=False,
        help_text=_("Déduit de l'IBAN quand c'est possible ; sinon, recopiez-le de votre RIB."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    consent = forms.BooleanField(
        label=_(
            "J'autorise la régie à prélever sur ce compte les factures de ma famille, selon "
            "le mandat ci-dessus."
        ),
        required=False,
    )

    def __init__(self, *args, families=(), **kwargs):
        super().__init__(*args, **kwargs)
        if len(families) > 1:
            self.fields["famille"] = forms.TypedChoiceField(
                label=_("Dossier famille"),
                choices=[(f.pk, f.name) for f in families],
                coerce=int,
            )
            self.order_fields(["famille"])


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code reçu par courriel"),
        max_length=12,
        help_text=_("6 chiffres."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RevokeForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Je mets fin à ce mandat : mes factures ne seront plus prélevées."),
        required=True,
        error_messages={"required": _("Cochez la case pour confirmer la fin du mandat.")},
    )


class PaperMandateForm(forms.Form):
    famille = forms.CharField(
        label=_("Code famille"),
        max_length=20,
        help_text=_("La référence du dossier famille, par exemple F000001."),
    )
    regie = forms.TypedChoiceField(label=_("Régie"), coerce=int)
    holder_name = MandateForm.base_fields["holder_name"]
    iban = MandateForm.base_fields["iban"]
    bic = MandateForm.base_fields["bic"]
    signed_on = forms.DateField(
        label=_("Signé le"),
        help_text=_("JJ/MM/AAAA, la date écrite sur le mandat."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    rum = forms.CharField(
        label=_("Référence unique du mandat (RUM)"),
        max_length=35,
        required=False,
        help_text=_("Celle imprimée sur le mandat ; vide : Parvis en donne une."),
    )

    def __init__(self, *args, regies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regie"].choices = [(r.pk, r.name) for r in regies]


class BatchForm(forms.Form):
    regie = forms.TypedChoiceField(label=_("Régie"), coerce=int)
    collection_date = forms.DateField(
        label=_("Date de prélèvement"),
        help_text=_(
            "Le lot prend les factures annoncées prélevées à cette date ou avant ; la banque "
            "doit recevoir le fichier un jour ouvré avant au moins."
        ),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, regies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regie"].choices = [(r.pk, r.name) for r in regies]


REJECT_CHOICES = [("", _("Choisissez le motif"))] + [
    (code, f"{code} — {label}") for code, label in sepa.REJECT_REASONS.items()
]


class RejectForm(forms.Form):
    code = forms.ChoiceField(label=_("Motif du rejet (code de la banque)"), choices=REJECT_CHOICES)
    rejected_on = forms.DateField(
        label=_("Rejeté le"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class ImportRejectsForm(forms.Form):
    lines = forms.CharField(
        label=_("Rejets à enregistrer"),
        max_length=100_000,
        help_text=_(
            "Une ligne par rejet : référence du prélèvement ; code du motif ; date JJ/MM/AAAA "
            "(facultative). Par exemple : PVS-ENF-12-ABCDEFGH;AM04;05/01/2027"
        ),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
