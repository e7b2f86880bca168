"""Billing, its foundation (issue 7): the régies and the activities each one bills, the tariff of
each unit as data (flat, by family-quotient bracket, or an effort rate), the brackets, and the
penalty and credit rules. Prices are computed from these rows by the pure functions of
`parvis/billing/pricing.py`; nothing here computes a price.

Money is a DecimalField(max_digits=9, decimal_places=2); rates are percents with four decimals
(0,36 % is stored 0.3600). Every row carries its commune."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from parvis.activities.models import Activity, Unit
from parvis.communes.models import CommuneChild, CommuneOwned
from parvis.text import validate_phone

MONEY = {"max_digits": 9, "decimal_places": 2}
PERCENT = {"max_digits": 7, "decimal_places": 4}
OTHER_COMMUNE = _("Elle appartient à une autre commune.")

code_validator = RegexValidator(
    r"^[A-Z0-9_-]{1,12}$",
    _("Des lettres majuscules sans accent, des chiffres, « - » ou « _ » (12 au plus)."),
)


class Regie(CommuneOwned):
    """A billing office (« régie »): it bills the activities linked to it, numbers its invoices
    and receives their payments. Its contact details are printed on its invoices."""

    name = models.CharField(_("nom"), max_length=120, help_text=_("Par exemple « Régie enfance »."))
    code = models.CharField(
        _("code"),
        max_length=12,
        validators=[code_validator],
        help_text=_("Court, en majuscules, par exemple ENF : il préfixe les numéros de facture."),
    )
    activities = models.ManyToManyField(
        Activity,
        through="RegieActivity",
        related_name="regies",
        verbose_name=_("activités facturées"),
        blank=True,
    )
    payee = models.CharField(
        _("ordre des chèques"),
        max_length=120,
        blank=True,
        help_text=_("Par exemple « Régie enfance de Carrières-sous-Poissy »."),
    )
    address = models.TextField(
        _("adresse"),
        blank=True,
        help_text=_("Imprimée sur les factures : où payer au guichet ou envoyer un chèque."),
    )
    email = models.EmailField(_("courriel"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True, validators=[validate_phone])
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)

    class Meta:
        verbose_name = _("régie")
        verbose_name_plural = _("régies")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "code"],
                name="regie_code_unique_per_commune",
                violation_error_message=_("Une régie de la commune a déjà ce code."),
            ),
            models.UniqueConstraint(
                fields=["commune", "name"],
                name="regie_name_unique_per_commune",
                violation_error_message=_("Une régie de la commune porte déjà ce nom."),
            ),
        ]

    def __str__(self):
        return self.name


class RegieActivity(CommuneOwned):
    """An activity billed by a régie. An activity belongs to one commune, so « at most one régie
    per commune » is « at most one régie »: a unique constraint on the activity holds it in the
    database, whatever the form."""

    regie = models.ForeignKey(
        Regie, verbose_name=_("régie"), on_delete=models.CASCADE, related_name="activity_links"
    )
    activity = models.ForeignKey(
        Activity, verbose_name=_("activité"), on_delete=models.CASCADE, related_name="regie_links"
    )

    class Meta:
        verbose_name = _("activité facturée")
        verbose_name_plural = _("activités facturées")
        constraints = [
            models.UniqueConstraint(
                fields=["activity"],
                name="activity_billed_by_one_regie",
                violation_error_message=_(
                    "Cette activité est déjà facturée par une régie : une activité n'est "
                    "facturée que par une seule régie."
                ),
            )
        ]

    def __str__(self):
        return f"{self.regie_id} — {self.activity_id}"

    def clean(self):
        errors = {}
        if self.commune_id and self.regie_id and self.regie.commune_id != self.commune_id:
            errors["regie"] = OTHER_COMMUNE
        if self.commune_id and self.activity_id and self.activity.commune_id != self.commune_id:
            errors["activity"] = _("Cette activité appartient à une autre commune.")
        if errors:
            raise ValidationError(errors)


class TariffKind(models.TextChoices):
    FLAT = "flat", _("Tarif unique")
    QF_BRACKETS = "qf_brackets", _("Par tranches de quotient familial")
    EFFORT_RATE = "effort_rate", _("Taux d'effort (pourcentage du quotient familial)")


# The rule, not a setting: a family whose QF is unknown or expired on the day billed pays the
# highest price. pricing.unit_price applies it; the admin shows it.
UNKNOWN_QF_RULE = _(
    "Sans quotient familial connu et valable le jour facturé, la famille paie le prix le plus "
    "haut : celui de la tranche la plus haute, ou le maximum du taux d'effort."
)
BRACKETS_EXAMPLE = _(
    "Par exemple, le repas à Roncq en 2025 : 0,50 € pour un QF inférieur à 400 € … 4,90 € "
    "au-delà de 1900 €."
)

# Field by field, which mode of calculation uses it (the others must stay empty).
KIND_FIELDS = {
    "price": {TariffKind.FLAT},
    "effort_rate": {TariffKind.EFFORT_RATE},
    "minimum": {TariffKind.EFFORT_RATE},
    "maximum": {TariffKind.EFFORT_RATE},
}


def _not_negative(field: str, name: str, message) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0}),
        name=name,
        violation_error_message=message,
    )


class Tariff(CommuneOwned):
    """The price of one unit from `valid_from` on. The tariff of a day is the one with the latest
    `valid_from` not after it, so a new school year's prices never change past invoices."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unité"), on_delete=models.PROTECT, related_name="tariffs"
    )
    valid_from = models.DateField(
        _("en vigueur à partir du"),
        help_text=_(
            "Le tarif d'un jour est celui dont cette date est la plus récente sans le dépasser : "
            "un nouveau tarif ne change pas les factures passées."
        ),
    )
    kind = models.CharField(
        _("mode de calcul"), max_length=12, choices=TariffKind.choices, help_text=UNKNOWN_QF_RULE
    )
    price = models.DecimalField(_("prix (tarif unique)"), null=True, blank=True, **MONEY)
    effort_rate = models.DecimalField(
        _("taux d'effort (% du QF)"),
        null=True,
        blank=True,
        help_text=_("Par exemple 0,36 : un QF de 1000 € paie 3,60 €."),
        **PERCENT,
    )
    minimum = models.DecimalField(_("prix minimum"), null=True, blank=True, **MONEY)
    maximum = models.DecimalField(
        _("prix maximum"),
        null=True,
        blank=True,
        help_text=_("Payé aussi sans quotient familial connu."),
        **MONEY,
    )
    # One price, whatever the QF, as towns publish their « tarif extérieur »: the figure of the
    # council's deliberation, nothing computed nor rounded from it.
    non_resident_price = models.DecimalField(
        _("prix pour les familles non résidentes"),
        null=True,
        blank=True,
        help_text=_(
            "Prix unique des familles domiciliées hors de la commune, quel que soit leur QF ; "
            "vide : le même prix que les résidents."
        ),
        **MONEY,
    )
    second_child_discount = models.DecimalField(
        _("réduction pour le 2e enfant (%)"),
        default=0,
        help_text=_("Le 2e enfant de la famille facturé pour cette unité, par exemple 10."),
        **PERCENT,
    )
    third_child_discount = models.DecimalField(
        _("réduction pour le 3e enfant et les suivants (%)"), default=0, **PERCENT
    )
    childcare = models.BooleanField(
        _("frais de garde"),
        default=True,
        help_text=_(
            "Compte dans l'attestation pour le crédit d'impôt (garde des enfants de moins de "
            "6 ans). Décochez pour les repas, qui n'y ouvrent pas droit."
        ),
    )

    class Meta:
        verbose_name = _("tarif")
        verbose_name_plural = _("tarifs")
        ordering = ["unit__activity__position", "unit__position", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "valid_from"],
                name="tariff_unique_per_unit_and_day",
                violation_error_message=_("Cette unité a déjà un tarif à partir de cette date."),
            ),
            _not_negative("price", "tariff_price_not_negative", _("Un prix n'est pas négatif.")),
            _not_negative(
                "non_resident_price",
                "tariff_non_resident_price_not_negative",
                _("Un prix n'est pas négatif."),
            ),
            _not_negative(
                "minimum", "tariff_minimum_not_negative", _("Un prix n'est pas négatif.")
            ),
            _not_negative(
                "maximum", "tariff_maximum_not_negative", _("Un prix n'est pas négatif.")
            ),
            models.CheckConstraint(
                condition=Q(minimum__isnull=True)
                | Q(maximum__isnull=True)
                | Q(minimum__lte=F("maximum")),
                name="tariff_minimum_not_above_maximum",
                violation_error_message=_("Le prix minimum dépasse le prix maximum."),
            ),
            models.CheckConstraint(
                condition=Q(effort_rate__isnull=True) | Q(effort_rate__gt=0, effort_rate__lte=100),
                name="tariff_effort_rate_is_a_percent",
                violation_error_message=_("Le taux d'effort est un pourcentage de 0 à 100."),
            ),
            models.CheckConstraint(
                condition=Q(
                    second_child_discount__gte=0,
                    second_child_discount__lte=100,
                    third_child_discount__gte=0,
                    third_child_discount__lte=100,
                ),
                name="tariff_discounts_are_percents",
                violation_error_message=_("Une réduction est un pourcentage de 0 à 100."),
            ),
            models.CheckConstraint(
                condition=~Q(kind=TariffKind.FLAT) | Q(price__isnull=False),
                name="tariff_flat_has_a_price",
                violation_error_message=_("Indiquez le prix du tarif unique."),
            ),
            models.CheckConstraint(
                condition=~Q(kind=TariffKind.EFFORT_RATE)
                | Q(effort_rate__isnull=False, maximum__isnull=False),
                name="tariff_effort_rate_complete",
                violation_error_message=_("Indiquez le taux d'effort et le prix maximum."),
            ),
        ]

    def __str__(self):
        return str(
            _("%(unit)s, à partir du %(day)s")
            % {"unit": self.unit, "day": self.valid_from.strftime("%d/%m/%Y")}
        )

    def clean(self):
        errors = {}
        if self.commune_id and self.unit_id and self.unit.commune_id != self.commune_id:
            errors["unit"] = _("Cette unité appartient à une autre commune.")
        if self.kind in TariffKind.values:
            kind_label = TariffKind(self.kind).label
            for field, kinds in KIND_FIELDS.items():
                if self.kind not in kinds and getattr(self, field) is not None:
                    errors[field] = _(
                        "Ce champ ne sert pas au mode « %(kind)s » : laissez-le vide."
                    ) % {"kind": kind_label}
            if self.kind == TariffKind.FLAT and self.price is None:
                errors["price"] = _("Indiquez le prix du tarif unique.")
            if self.kind == TariffKind.EFFORT_RATE:
                if self.effort_rate is None:
                    errors["effort_rate"] = _("Indiquez le taux d'effort, par exemple 0,36 (%).")
                if self.maximum is None:
                    errors["maximum"] = _(
                        "Indiquez le prix maximum : c'est aussi le prix payé sans quotient "
                        "familial connu."
                    )
        if errors:
            raise ValidationError(errors)


def validate_brackets(kind: str, qf_mins: list) -> None:
    """The brackets a tariff of `kind` may have, from their lower bounds: a tariff by QF has at
    least one, the first from 0 €; the other modes have none. ValidationError in French."""
    if kind == TariffKind.QF_BRACKETS:
        if not qf_mins:
            raise ValidationError(_("Un tarif par tranches de QF a au moins une tranche."))
        if min(qf_mins) != 0:
            raise ValidationError(
                _("La première tranche commence à 0 € : tout quotient familial a un prix.")
            )
    elif qf_mins:
        raise ValidationError(
            _("Les tranches ne servent qu'au mode « %(kind)s ».")
            % {"kind": TariffKind.QF_BRACKETS.label}
        )


class TariffBracket(CommuneOwned):
    """One QF bracket of a tariff: from `qf_min` included to the next bracket's `qf_min`
    excluded (the last one has no end). Only lower bounds are stored, so brackets can neither
    overlap nor leave a gap."""

    tariff = models.ForeignKey(
        Tariff, verbose_name=_("tarif"), on_delete=models.CASCADE, related_name="brackets"
    )
    qf_min = models.DecimalField(
        _("QF à partir de (€)"),
        validators=[MinValueValidator(0)],
        help_text=format_lazy(
            "{} {}",
            _(
                "Borne basse incluse, 0 pour la première tranche ; la tranche va jusqu'à la "
                "borne basse de la suivante, exclue."
            ),
            BRACKETS_EXAMPLE,
        ),
        **MONEY,
    )
    price = models.DecimalField(_("prix"), validators=[MinValueValidator(0)], **MONEY)

    class Meta:
        verbose_name = _("tranche de quotient familial")
        verbose_name_plural = _("tranches de quotient familial")
        ordering = ["tariff", "qf_min"]
        constraints = [
            models.UniqueConstraint(
                fields=["tariff", "qf_min"],
                name="bracket_unique_lower_bound",
                violation_error_message=_("Deux tranches commencent au même quotient familial."),
            ),
            models.CheckConstraint(
                condition=Q(qf_min__gte=0),
                name="bracket_qf_min_not_negative",
                violation_error_message=_("Un quotient familial n'est pas négatif."),
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="bracket_price_not_negative",
                violation_error_message=_("Un prix n'est pas négatif."),
            ),
        ]

    def __str__(self):
        return f"{self.qf_min} € → {self.price} €"


class PenaltyKind(models.TextChoices):
    PRESENCE_SANS_RESERVATION = "presence_sans_reservation", _("Présence sans réservation")
    ABSENCE_NON_JUSTIFIEE = "absence_non_justifiee", _("Absence non justifiée")
    RESERVATION_TARDIVE = "reservation_tardive", _("Réservation tardive")
    RETARD_SOIR = "retard_soir", _("Retard le soir")
    # Not a penalty: the amount a justified absence takes off the invoice (a negative line).
    ABSENCE_JUSTIFIEE = "absence_justifiee", _("Absence justifiée déduite")


CREDIT_KINDS = frozenset({PenaltyKind.ABSENCE_JUSTIFIEE})


class PenaltyRule(CommuneOwned):
    """What a situation adds to an invoice, from `valid_from` on: a fixed amount or a percent of
    the unit's price, for one activity or, without one, for all the commune's activities (a rule
    of the activity wins). « Absence justifiée déduite » is a credit: its amount is deducted."""

    activity = models.ForeignKey(
        Activity,
        verbose_name=_("activité"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="penalty_rules",
        help_text=_(
            "Vide : toutes les activités de la commune (une règle propre à l'activité l'emporte)."
        ),
    )
    kind = models.CharField(_("situation"), max_length=26, choices=PenaltyKind.choices)
    amount = models.DecimalField(
        _("montant fixe (€)"),
        null=True,
        blank=True,
        help_text=_("Par exemple 3,00 pour un retard après 18 h 30, ou 10,00."),
        **MONEY,
    )
    percent = models.DecimalField(
        _("ou pourcentage du prix de l'unité"),
        null=True,
        blank=True,
        help_text=_(
            "Par exemple 50 pour une présence sans réservation facturée +50 % ; 100 pour déduire "
            "le prix entier d'une absence justifiée."
        ),
        **PERCENT,
    )
    valid_from = models.DateField(_("en vigueur à partir du"))

    class Meta:
        verbose_name = _("pénalité ou déduction")
        verbose_name_plural = _("pénalités et déductions")
        ordering = ["kind", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=False, percent__isnull=True)
                | Q(amount__isnull=True, percent__isnull=False),
                name="penalty_amount_or_percent",
                violation_error_message=_(
                    "Indiquez soit un montant fixe, soit un pourcentage du prix de l'unité."
                ),
            ),
            _not_negative(
                "amount", "penalty_amount_not_negative", _("Un montant n'est pas négatif.")
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | Q(percent__gt=0, percent__lte=1000),
                name="penalty_percent_range",
                violation_error_message=_(
                    "Le pourcentage est supérieur à 0 et de 1000 %% au plus."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(kind=PenaltyKind.ABSENCE_JUSTIFIEE)
                | Q(percent__isnull=True)
                | Q(percent__lte=100),
                name="credit_percent_at_most_100",
                violation_error_message=_(
                    "Une déduction ne dépasse pas le prix de l'unité (100 %% au plus)."
                ),
            ),
            models.UniqueConstraint(
                fields=["activity", "kind", "valid_from"],
                condition=Q(activity__isnull=False),
                name="penalty_rule_unique_per_activity",
                violation_error_message=_(
                    "Cette activité a déjà une règle de ce type à partir de cette date."
                ),
            ),
            models.UniqueConstraint(
                fields=["commune", "kind", "valid_from"],
                condition=Q(activity__isnull=True),
                name="penalty_rule_unique_per_commune",
                violation_error_message=_(
                    "La commune a déjà une règle de ce type pour toutes ses activités à partir "
                    "de cette date."
                ),
            ),
        ]

    def __str__(self):
        return self.get_kind_display()

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDIT_KINDS

    def clean(self):
        errors = {}
        if self.commune_id and self.activity_id and self.activity.commune_id != self.commune_id:
            errors["activity"] = _("Cette activité appartient à une autre commune.")
        if self.amount is None and self.percent is None:
            errors["amount"] = _(
                "Indiquez soit un montant fixe, soit un pourcentage du prix de l'unité."
            )
        elif self.amount is not None and self.percent is not None:
            errors["percent"] = _("Un montant fixe ou un pourcentage, pas les deux.")
        if errors:
            raise ValidationError(errors)


# --- Invoices ----------------------------------------------------------------------------------


class SequenceKind(models.TextChoices):
    FACTURE = "facture", _("Factures")
    RECU = "recu", _("Reçus de paiement")


class Sequence(CommuneOwned):
    """The last number given by a régie to its invoices, or to its receipts. The row is locked
    (SELECT … FOR UPDATE) in the transaction that creates the numbered row, so numbers follow
    each other without gaps: a transaction that fails gives its number back with its rollback."""

    regie = models.ForeignKey(Regie, on_delete=models.CASCADE, related_name="sequences")
    kind = models.CharField(max_length=8, choices=SequenceKind.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("numérotation")
        verbose_name_plural = _("numérotations")
        constraints = [
            models.UniqueConstraint(fields=["regie", "kind"], name="sequence_unique_per_regie")
        ]

    def __str__(self):
        return f"{self.regie} — {self.get_kind_display()} : {self.last_number}"


class InvoiceKind(models.TextChoices):
    MENSUELLE = "mensuelle", _("Facture mensuelle")
    UNIQUE = "unique", _("Facture unique")  # a one-off stay: « Séjour CT 3 »


class InvoiceStatus(models.TextChoices):
    A_REGLER = "a_regler", _("À régler")
    PARTIELLEMENT_REGLEE = "partiellement_reglee", _("Partiellement réglée")
    REGLEE = "reglee", _("Réglée")
    ANNULEE = "annulee", _("Annulée")
    # In a SEPA direct-debit batch sent to the bank: not payable by card meanwhile; paid on the
    # due date, or due again after a reject (issue 19).
    PRELEVEMENT_EN_COURS = "prelevement_en_cours", _("Prélèvement en cours")


# What a family still has to pay: the invoices to settle, in full or in part.
DUE_STATUSES = (InvoiceStatus.A_REGLER, InvoiceStatus.PARTIELLEMENT_REGLEE)


# The only moves of an invoice's status (`billing.services` refuses any other). Paid states go
# back when a payment is cancelled; a cancelled invoice stays cancelled.
INVOICE_TRANSITIONS = {
    InvoiceStatus.A_REGLER: {
        InvoiceStatus.PARTIELLEMENT_REGLEE,
        InvoiceStatus.REGLEE,
        InvoiceStatus.ANNULEE,
        InvoiceStatus.PRELEVEMENT_EN_COURS,
    },
    # An instalment of a payment plan is debited from an invoice partly paid, and its debit
    # leaves the invoice partly paid (issue 19 §3).
    InvoiceStatus.PRELEVEMENT_EN_COURS: {
        InvoiceStatus.REGLEE,
        InvoiceStatus.PARTIELLEMENT_REGLEE,
        InvoiceStatus.A_REGLER,
    },
    InvoiceStatus.PARTIELLEMENT_REGLEE: {
        InvoiceStatus.A_REGLER,
        InvoiceStatus.REGLEE,
        InvoiceStatus.PRELEVEMENT_EN_COURS,
    },
    InvoiceStatus.REGLEE: {InvoiceStatus.A_REGLER, InvoiceStatus.PARTIELLEMENT_REGLEE},
    InvoiceStatus.ANNULEE: set(),
}


class Delivery(models.TextChoices):
    COURRIEL = "courriel", _("Par courriel (facture en ligne)")
    PAPIER = "papier", _("Par courrier (à imprimer)")


class InvoicingRunStatus(models.TextChoices):
    EN_COURS = "en_cours", _("En cours")
    TERMINEE = "terminee", _("Terminée")


class InvoicingRun(CommuneOwned):
    """The monthly run of a régie for one month. One row per régie and month: a second run, or a
    run resumed after a crash, reuses it and bills only the families still without an invoice."""

    regie = models.ForeignKey(Regie, on_delete=models.PROTECT, related_name="runs")
    month = models.DateField(_("mois facturé"), help_text=_("Le premier jour du mois."))
    status = models.CharField(
        _("état"), max_length=10, choices=InvoicingRunStatus.choices, default="en_cours"
    )
    started_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(_("lancée le"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminée le"), null=True, blank=True)
    invoice_count = models.PositiveIntegerField(_("factures"), default=0)
    total = models.DecimalField(_("montant total"), default=0, **MONEY)
    # The progress of the background task (billing.services_runs.issue_run_task), written in
    # each chunk's transaction: the run's page reads it. Kept on the run rather than in a generic
    # job table: the run is already the one row per régie and month that resuming relies on.
    families_total = models.PositiveIntegerField(_("familles à facturer"), default=0)
    families_done = models.PositiveIntegerField(_("familles traitées"), default=0)
    # Touched when the run is queued and by every chunk: a run « en cours » without progress for
    # services_runs.STALE_AFTER lost its worker and offers « Reprendre ».
    progress_at = models.DateTimeField(_("dernière avancée"), null=True, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    # « Envoyer les factures en ligne » asked: the page follows the e-mailing of the PDFs.
    sending_requested_at = models.DateTimeField(_("envoi demandé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("facturation mensuelle")
        verbose_name_plural = _("facturations mensuelles")
        ordering = ["-month", "regie"]
        constraints = [
            models.UniqueConstraint(fields=["regie", "month"], name="run_unique_per_regie_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="run_month_first_day"),
        ]

    def __str__(self):
        return f"{self.regie} — {self.month:%m/%Y}"


class Invoice(CommuneOwned):
    """A family's invoice from one régie: a month of its activities (one invoice per family,
    « facturation unique ») or a one-off stay. `paid` is the sum of the valid payments' shares,
    kept under the invoice's row lock by `billing.services`."""

    regie = models.ForeignKey(Regie, on_delete=models.PROTECT, related_name="invoices")
    famille = models.ForeignKey(
        "families.Famille", on_delete=models.PROTECT, related_name="invoices"
    )
    run = models.ForeignKey(
        InvoicingRun, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    kind = models.CharField(_("type"), max_length=10, choices=InvoiceKind.choices)
    number = models.PositiveIntegerField(_("numéro"))
    month = models.DateField(_("mois facturé"), null=True, blank=True)
    category = models.CharField(
        _("rubrique"), max_length=80, blank=True, help_text=_("« CLASSES TRANSPLANTÉES »…")
    )
    label = models.CharField(_("libellé"), max_length=200)  # « Séjour CT 3 (Ecole du PARC) »
    period_start = models.DateField(_("du"))
    period_end = models.DateField(_("au (inclus)"))
    issued_on = models.DateField(_("émise le"))
    due_on = models.DateField(_("à régler avant le"))
    total = models.DecimalField(_("montant"), **MONEY)
    paid = models.DecimalField(_("déjà réglé"), default=0, **MONEY)
    status = models.CharField(
        _("état"), max_length=22, choices=InvoiceStatus.choices, default=InvoiceStatus.A_REGLER
    )
    delivery = models.CharField(_("envoi"), max_length=10, choices=Delivery.choices)
    emailed_at = models.DateTimeField(_("envoyée par courriel le"), null=True, blank=True)
    printed_at = models.DateTimeField(_("imprimée le"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("facture")
        verbose_name_plural = _("factures")
        ordering = ["-issued_on", "-number"]
        indexes = [models.Index(fields=["famille", "-issued_on"], name="invoice_famille_idx")]
        constraints = [
            models.UniqueConstraint(fields=["regie", "number"], name="invoice_number_per_regie"),
            # The run's idempotency: one monthly invoice per family, régie and month.
            models.UniqueConstraint(
                fields=["regie", "famille", "month"],
                condition=Q(kind="mensuelle"),
                name="invoice_one_per_family_month",
            ),
            models.CheckConstraint(
                condition=Q(kind="unique") | Q(month__isnull=False),
                name="invoice_monthly_has_month",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
            models.CheckConstraint(
                condition=Q(paid__gte=0, paid__lte=F("total")), name="invoice_paid_within_total"
            ),
        ]

    def __str__(self):
        return _("Facture n° %(number)s — %(label)s") % {"number": self.number, "label": self.label}

    @property
    def due_amount(self):
        return self.total - self.paid

    def is_overdue(self, today) -> bool:
        return self.status in DUE_STATUSES and today > self.due_on


class LineKind(models.TextChoices):
    PRESTATION = "prestation", _("Prestation")
    SEJOUR = "sejour", _("Séjour")
    PENALITE = "penalite", _("Pénalité")
    DEDUCTION = "deduction", _("Déduction")


class InvoiceLine(CommuneChild):
    """One line, saying where its amount comes from: the child, the unit, the days, the unit
    price and its bracket, or the penalty / credit rule. Names are copied so the invoice reads
    the same if the family file changes later."""

    commune_parent = "invoice"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=LineKind.choices)
    child = models.ForeignKey(
        "families.Personne", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    child_name = models.CharField(_("enfant"), max_length=160, blank=True)
    unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    label = models.CharField(_("libellé"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantité"))
    unit_price = models.DecimalField(_("prix unitaire"), **MONEY)
    amount = models.DecimalField(_("montant"), **MONEY)
    price_label = models.CharField(_("tranche ou règle"), max_length=120, blank=True)
    explanation = models.TextField(_("détail du calcul"), blank=True)
    days = models.JSONField(_("jours"), default=list, blank=True)  # ISO dates
    # Copied from the unit's tariff: the line counts in the tax-credit certificate (childcare).
    childcare = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("ligne de facture")
        verbose_name_plural = _("lignes de facture")
        ordering = ["invoice", "position", "pk"]

    def __str__(self):
        return self.label


class InvoiceStatusChange(CommuneChild):
    commune_parent = "invoice"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=22, blank=True)
    to_status = models.CharField(max_length=22)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "at", "pk"]

    def __str__(self):
        return f"{self.invoice_id}: {self.from_status} → {self.to_status}"


class InvoiceReminder(CommuneOwned):
    """A reminder (« relance ») e-mailed by the régie for an overdue invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    sent_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["invoice", "-sent_at"]

    def __str__(self):
        return f"{self.invoice_id} {self.sent_at:%d/%m/%Y}"


class PenaltyWarning(CommuneOwned):
    """The e-mail sent before a month's run to a family whose children have unbooked presences
    or unjustified absences in it; sent once per family, régie and month."""

    regie = models.ForeignKey(Regie, on_delete=models.CASCADE, related_name="+")
    famille = models.ForeignKey("families.Famille", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    items = models.JSONField(default=list)  # [{child, unit, day, kind}]
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["regie", "famille", "month"], name="penalty_warning_once"
            )
        ]

    def __str__(self):
        return f"{self.famille_id} {self.month:%m/%Y}"


# --- Payments ----------------------------------------------------------------------------------


class PaymentMethod(models.TextChoices):
    CARTE = "carte", _("Carte bancaire en ligne")
    ESPECES = "especes", _("Espèces")
    CHEQUE = "cheque", _("Chèque")
    CESU = "cesu", _("CESU")
    VIREMENT = "virement", _("Virement")
    PRELEVEMENT = "prelevement", _("Prélèvement automatique")


COUNTER_METHODS = (
    PaymentMethod.ESPECES,
    PaymentMethod.CHEQUE,
    PaymentMethod.CESU,
    PaymentMethod.VIREMENT,
)


class PaymentStatus(models.TextChoices):
    VALIDE = "valide", _("Enregistré")
    ANNULE = "annule", _("Annulé")


class Payment(CommuneOwned):
    """Money received by a régie from a family, for one or more of its invoices (the
    allocations), with its receipt number. An online payment carries the provider transaction's
    reference, unique: a notification received twice records it once."""

    regie = models.ForeignKey(Regie, on_delete=models.PROTECT, related_name="payments")
    famille = models.ForeignKey(
        "families.Famille", on_delete=models.PROTECT, related_name="payments"
    )
    number = models.PositiveIntegerField(_("numéro de reçu"))
    method = models.CharField(_("mode de paiement"), max_length=12, choices=PaymentMethod.choices)
    amount = models.DecimalField(_("montant"), **MONEY)
    received_on = models.DateField(_("reçu le"))
    reference = models.CharField(
        _("référence"),
        max_length=120,
        blank=True,
        help_text=_("Numéro du chèque, des titres CESU, référence du virement…"),
    )
    transaction_reference = models.CharField(_("transaction en ligne"), max_length=64, blank=True)
    payer_name = models.CharField(
        _("payé par"),
        max_length=200,
        blank=True,
        help_text=_("Qui a payé, comme le reçu le nomme : le compte du paiement en ligne, ou la "
                    "personne venue au guichet."),
    )  # fmt: skip
    status = models.CharField(
        _("état"), max_length=8, choices=PaymentStatus.choices, default=PaymentStatus.VALIDE
    )
    recorded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    cancelled_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)
    cancel_reason = models.CharField(_("motif de l'annulation"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        ordering = ["-received_on", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["regie", "number"], name="payment_number_per_regie"),
            models.UniqueConstraint(
                fields=["regie", "transaction_reference"],
                condition=~Q(transaction_reference=""),
                name="payment_transaction_once",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self):
        return _("Reçu n° %(number)s") % {"number": self.number}


class PaymentAllocation(CommuneChild):
    """The share of a payment that settles one invoice."""

    commune_parent = "payment"

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(_("montant"), **MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="allocation_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive"),
        ]

    def __str__(self):
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


# --- Payment plans (« échéanciers », issue 19 §3) ----------------------------------------------


class PlanStatus(models.TextChoices):
    ACTIF = "actif", _("En cours")
    SOLDE = "solde", _("Soldé")
    ANNULE = "annule", _("Annulé")
    ROMPU = "rompu", _("Rompu")


# A plan is soldé when its instalments are all paid; a cancelled payment makes it « en cours »
# again. An agent ends it: « annulé » (granted by mistake, the family's situation changed) or
# « rompu » (the family did not keep it); both are final, and its invoices are reminded again.
PLAN_TRANSITIONS = {
    PlanStatus.ACTIF: {PlanStatus.SOLDE, PlanStatus.ANNULE, PlanStatus.ROMPU},
    PlanStatus.SOLDE: {PlanStatus.ACTIF},
    PlanStatus.ANNULE: set(),
    PlanStatus.ROMPU: set(),
}


class InstalmentStatus(models.TextChoices):
    A_PAYER = "a_payer", _("À payer")
    PAYEE = "payee", _("Payée")
    EN_RETARD = "en_retard", _("En retard")


# An instalment is paid by the money the plan's invoices receive, in the instalments' order; it
# is late once its date has passed unpaid; a cancelled payment takes a paid one back.
INSTALMENT_TRANSITIONS = {
    InstalmentStatus.A_PAYER: {InstalmentStatus.PAYEE, InstalmentStatus.EN_RETARD},
    InstalmentStatus.EN_RETARD: {InstalmentStatus.PAYEE},
    InstalmentStatus.PAYEE: {InstalmentStatus.A_PAYER, InstalmentStatus.EN_RETARD},
}


class PaymentPlan(CommuneOwned):
    """A payment plan (« échéancier ») granted by the régie to a family in difficulty for one or
    several of its due invoices: what they had due when it was granted (`total`) is paid in
    instalments. Payments still go to the invoices (billing.services.record_payment); the
    instalments follow the money the invoices receive (billing.plans.follow)."""

    regie = models.ForeignKey(Regie, on_delete=models.PROTECT, related_name="plans")
    famille = models.ForeignKey(
        "families.Famille", on_delete=models.PROTECT, related_name="payment_plans"
    )
    status = models.CharField(
        _("état"), max_length=8, choices=PlanStatus.choices, default=PlanStatus.ACTIF
    )
    total = models.DecimalField(_("montant de l'échéancier"), **MONEY)
    note = models.CharField(
        _("motif"),
        max_length=300,
        blank=True,
        help_text=_("Pour la régie seulement : la situation de la famille, qui l'a demandé…"),
    )
    granted_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(_("accordé le"), auto_now_add=True)
    ended_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    end_reason = models.CharField(_("motif de la fin"), max_length=300, blank=True)
    invoices = models.ManyToManyField(Invoice, through="PlanInvoice", related_name="+")

    class Meta:
        verbose_name = _("échéancier")
        verbose_name_plural = _("échéanciers")
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="plan_total_positive"),
        ]

    def __str__(self):
        return _("Échéancier n° %(number)s") % {"number": self.pk}


class PlanInvoice(CommuneChild):
    """An invoice of a plan, in the order payments settle them, with what it had due when the
    plan was granted. `held` is true while the plan is « en cours »: an invoice is in one plan
    en cours at most, whatever two agents do at once."""

    commune_parent = "plan"

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="links")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="plan_links")
    position = models.PositiveSmallIntegerField(default=0)
    amount = models.DecimalField(_("reste dû à l'octroi"), **MONEY)
    held = models.BooleanField(default=True)

    class Meta:
        ordering = ["plan", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "invoice"], name="plan_invoice_once"),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(held=True), name="plan_invoice_one_active_plan"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="plan_invoice_positive"),
        ]

    def __str__(self):
        return f"{self.plan_id} → {self.invoice_id}"


class Instalment(CommuneChild):
    """One instalment (« échéance ») of a plan: its date, its amount, and how much of it the
    plan's payments have covered so far (`paid`, kept by billing.plans.follow)."""

    commune_parent = "plan"

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    position = models.PositiveSmallIntegerField(_("numéro"))
    due_on = models.DateField(_("à payer le"))
    amount = models.DecimalField(_("montant"), **MONEY)
    paid = models.DecimalField(_("déjà payé"), default=0, **MONEY)
    status = models.CharField(
        _("état"),
        max_length=10,
        choices=InstalmentStatus.choices,
        default=InstalmentStatus.A_PAYER,
    )
    # The e-mails of billing.services_plans.remind_instalments, each sent once.
    reminded_soon_at = models.DateTimeField(_("rappel avant l'échéance"), null=True, blank=True)
    reminded_late_at = models.DateTimeField(_("relance après l'échéance"), null=True, blank=True)

    class Meta:
        verbose_name = _("échéance")
        verbose_name_plural = _("échéances")
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="instalment_position_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid__gte=0, paid__lte=F("amount")), name="instalment_paid_within"
            ),
        ]

    def __str__(self):
        return _("Échéance %(position)s du %(day)s") % {
            "position": self.position,
            "day": self.due_on.strftime("%d/%m/%Y"),
        }

    @property
    def due_amount(self):
        return self.amount - self.paid


class PlanChange(CommuneChild):
    """A plan's history: its status moves, and its instalments' (`instalment` set)."""

    commune_parent = "plan"

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="history")
    instalment = models.ForeignKey(
        Instalment, on_delete=models.CASCADE, null=True, blank=True, related_name="history"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "at", "pk"]

    def __str__(self):
        return f"{self.plan_id}/{self.instalment_id}: {self.from_status} → {self.to_status}"
