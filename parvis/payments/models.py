"""Online payment (issue 7): the provider each commune uses, the transactions started with it,
and the log of every exchange with the provider. A transaction pays invoices only through
`parvis.payments.services.handle_notification`, on a verified server notification; billing knows
nothing of providers (payments depends on billing, not the other way round)."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parvis.billing.models import MONEY, Invoice
from parvis.communes.models import CommuneChild, CommuneOwned


class Provider(models.TextChoices):
    SIMULATEUR = "simulateur", _("Simulateur de paiement (essais)")
    PAYBOX = "paybox", _("Paybox (Verifone)")
    PAYFIP = "payfip", _("PayFiP (DGFiP)")


class ProviderConfig(CommuneOwned):
    """The commune's payment provider and its settings. Without a row, the commune pays through
    the simulator. `secret` (Paybox's HMAC key, the simulator's signing key) is never shown back
    in full; `options` holds the rest (site, rang, identifiant; numcli for PayFiP…)."""

    provider = models.CharField(
        _("prestataire"), max_length=12, choices=Provider.choices, default=Provider.SIMULATEUR
    )
    options = models.JSONField(
        _("paramètres"),
        default=dict,
        blank=True,
        help_text=_(
            "Paybox : site, rang, identifiant, platform (test ou prod). PayFiP : numcli, "
            "saisie (T pour test, W pour production)."
        ),
    )
    secret = models.CharField(_("clé secrète"), max_length=256, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("paiement en ligne de la commune")
        verbose_name_plural = _("paiement en ligne des communes")
        constraints = [
            models.UniqueConstraint(fields=["commune"], name="provider_config_one_per_commune")
        ]

    def __str__(self):
        return f"{self.commune} — {self.get_provider_display()}"


class TransactionStatus(models.TextChoices):
    EN_ATTENTE = "en_attente", _("En attente de la banque")
    PAYEE = "payee", _("Payée")
    REFUSEE = "refusee", _("Refusée")
    ABANDONNEE = "abandonnee", _("Abandonnée")
    REMPLACEE = "remplacee", _("Remplacée par un nouveau paiement")


# A verified notification moves a transaction out of « en attente »; a payment is final (a
# replayed notification is a no-op). A refusal or an abandonment is not: when the bank later
# notifies, signed and for the right amount, that the money was taken after all, the payment is
# recorded (the bank's word on money wins over an earlier « refused »). A second « Payer » for
# an invoice replaces the transaction it was pending in (« remplacée »); the bank's page of the
# old one may still take the money, so a late payment of it is recorded too (capped at what is
# still due; the rest is a trop-perçu).
TRANSACTION_TRANSITIONS = {
    TransactionStatus.EN_ATTENTE: {
        TransactionStatus.PAYEE,
        TransactionStatus.REFUSEE,
        TransactionStatus.ABANDONNEE,
        TransactionStatus.REMPLACEE,
    },
    TransactionStatus.PAYEE: set(),
    TransactionStatus.REFUSEE: {TransactionStatus.PAYEE},
    TransactionStatus.ABANDONNEE: {TransactionStatus.PAYEE},
    TransactionStatus.REMPLACEE: {TransactionStatus.PAYEE},
}


class Transaction(CommuneOwned):
    """One attempt to pay one or more invoices online. The amount and the invoices' shares are
    fixed by the server when « Payer » is pressed, from what remains due; the provider's
    settings are copied so a change of configuration does not break a payment under way."""

    famille = models.ForeignKey(
        "families.Famille", on_delete=models.PROTECT, related_name="transactions"
    )
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(_("référence"), max_length=40, unique=True)
    provider = models.CharField(_("prestataire"), max_length=12, choices=Provider.choices)
    # The commune's provider options when the payment started (not the secret): the provider
    # that verifies its notification is built from them (services.provider_for_transaction).
    options = models.JSONField(default=dict)
    amount = models.DecimalField(_("montant"), **MONEY)
    status = models.CharField(
        _("état"),
        max_length=10,
        choices=TransactionStatus.choices,
        default=TransactionStatus.EN_ATTENTE,
    )
    provider_reference = models.CharField(_("référence de la banque"), max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(_("notifiée le"), null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("remplacée par"),
    )
    invoices = models.ManyToManyField(Invoice, through="TransactionInvoice", related_name="+")

    class Meta:
        verbose_name = _("transaction de paiement en ligne")
        verbose_name_plural = _("transactions de paiement en ligne")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transaction_amount_positive")
        ]

    def __str__(self):
        return self.reference


class TransactionInvoice(CommuneChild):
    """An invoice's share of a transaction. `pending` is true while the transaction is « en
    attente » (the services clear it when it leaves that state): the database then holds each
    invoice in at most one pending transaction, whatever two « Payer » racing do."""

    commune_parent = "transaction"

    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="shares")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    pending = models.BooleanField(_("en attente de la banque"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transaction", "invoice"], name="share_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="share_positive"),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(pending=True), name="share_one_pending_per_invoice"
            ),
        ]

    def __str__(self):
        return f"{self.transaction_id} → {self.invoice_id}"


class ExchangeKind(models.TextChoices):
    REQUETE = "requete", _("Demande de paiement envoyée")
    RETOUR = "retour", _("Retour du navigateur")
    NOTIFICATION = "notification", _("Notification du serveur de la banque")


class Exchange(CommuneOwned):
    """Every exchange with a provider, as received or sent, whether it was verified, and what
    Parvis did with it (« payée », « signature invalide », « rejouée : ignorée »…)."""

    transaction = models.ForeignKey(
        Transaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="exchanges"
    )
    provider = models.CharField(max_length=12, choices=Provider.choices)
    kind = models.CharField(max_length=12, choices=ExchangeKind.choices)
    method = models.CharField(max_length=8, blank=True)
    payload = models.TextField(blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    verified = models.BooleanField(null=True)
    outcome = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("échange avec la banque")
        verbose_name_plural = _("échanges avec la banque")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.outcome}"


# --- Trop-perçus ---------------------------------------------------------------------------------


class TropPercuStatus(models.TextChoices):
    A_REMBOURSER = "a_rembourser", _("À rembourser")
    REMBOURSE = "rembourse", _("Remboursé")


# A refund, once recorded, is final (the money has left the régie).
TROP_PERCU_TRANSITIONS = {
    TropPercuStatus.A_REMBOURSER: {TropPercuStatus.REMBOURSE},
    TropPercuStatus.REMBOURSE: set(),
}


class RefundMethod(models.TextChoices):
    VIREMENT = "virement", _("Virement")
    CHEQUE = "cheque", _("Chèque")
    ESPECES = "especes", _("Espèces")
    CARTE = "carte", _("Remboursement sur la carte (par la banque)")


class TropPercu(CommuneOwned):
    """Money a bank confirmed beyond what the invoices still had due (an old transaction paid
    after a newer one, an invoice settled at the counter or cancelled meanwhile): one row per
    transaction and régie, to refund. Written by `payments.services`, with its history."""

    regie = models.ForeignKey(
        "billing.Regie", on_delete=models.PROTECT, related_name="+", verbose_name=_("régie")
    )
    famille = models.ForeignKey(
        "families.Famille",
        on_delete=models.PROTECT,
        related_name="trop_percus",
        verbose_name=_("famille"),
    )
    transaction = models.ForeignKey(
        Transaction,
        on_delete=models.PROTECT,
        related_name="trop_percus",
        verbose_name=_("transaction en ligne"),
    )
    amount = models.DecimalField(_("montant"), **MONEY)
    status = models.CharField(
        _("état"),
        max_length=12,
        choices=TropPercuStatus.choices,
        default=TropPercuStatus.A_REMBOURSER,
    )
    created_at = models.DateTimeField(_("constaté le"), auto_now_add=True)
    refund_method = models.CharField(
        _("moyen du remboursement"), max_length=10, choices=RefundMethod.choices, blank=True
    )
    refunded_on = models.DateField(_("remboursé le"), null=True, blank=True)
    refund_reference = models.CharField(_("référence du remboursement"), max_length=120, blank=True)
    refunded_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("remboursement enregistré par"),
    )
    refunded_at = models.DateTimeField(_("remboursement enregistré le"), null=True, blank=True)

    class Meta:
        verbose_name = _("trop-perçu")
        verbose_name_plural = _("trop-perçus")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction", "regie"], name="trop_percu_once_per_regie"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="trop_percu_amount_positive"),
        ]

    def __str__(self):
        return _("Trop-perçu de %(amount)s € (%(reference)s)") % {
            "amount": str(self.amount).replace(".", ","),
            "reference": self.transaction.reference if self.transaction_id else "",
        }


class TropPercuChange(CommuneChild):
    """A trop-perçu's history: who moved it from one state to the next, when."""

    commune_parent = "trop_percu"

    trop_percu = models.ForeignKey(TropPercu, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trop_percu", "at", "pk"]

    def __str__(self):
        return f"{self.trop_percu_id}: {self.from_status} → {self.to_status}"


# --- SEPA direct debit (issue 19 §1) -------------------------------------------------------------
# The creditor settings of a régie, the families' mandates, the debit batches sent to the bank and
# each invoice's debit in them. Written only by `payments.services_sepa`; rules in `payments.sepa`.


class CreditorSettings(CommuneOwned):
    """A régie's SEPA creditor identity (ICS, its bank account) and its direct-debit rules: the
    pre-notification notice and the fee a reject costs the family. Without a row, or disabled,
    the régie offers no direct debit."""

    regie = models.OneToOneField(
        "billing.Regie",
        on_delete=models.CASCADE,
        related_name="sepa",
        verbose_name=_("régie"),
    )
    enabled = models.BooleanField(
        _("prélèvement proposé aux familles"),
        default=True,
        help_text=_("Décochez pour ne plus proposer de nouveaux mandats (les lots restent)."),
    )
    creditor_name = models.CharField(
        _("nom du créancier"),
        max_length=70,
        help_text=_(
            "Tel qu'il figure sur le mandat et les relevés, par exemple « REGIE ENFANCE »."
        ),
    )
    ics = models.CharField(
        _("identifiant créancier SEPA (ICS)"),
        max_length=35,
        help_text=_("Donné par la banque de la régie, par exemple FR12ZZZ123456."),
    )
    iban = models.CharField(_("IBAN du compte de la régie"), max_length=34)
    bic = models.CharField(
        _("BIC"), max_length=11, blank=True, help_text=_("Vide : déduit de l'IBAN.")
    )
    notice_days = models.PositiveSmallIntegerField(
        _("préavis avant prélèvement (jours)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_(
            "Délai entre la facture (la pré-notification) et le prélèvement, tel que le mandat "
            "l'annonce : 14 jours par défaut."
        ),
    )
    rejection_fee = models.DecimalField(
        _("frais de rejet"),
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_("Facturés à la famille à chaque prélèvement rejeté ; 0 : aucuns frais."),
        **MONEY,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("prélèvement SEPA de la régie")
        verbose_name_plural = _("prélèvements SEPA des régies")
        constraints = [
            models.CheckConstraint(
                condition=Q(rejection_fee__gte=0), name="sepa_rejection_fee_not_negative"
            )
        ]

    def __str__(self):
        return f"{self.regie} — {self.ics}"

    def clean(self):
        from parvis.payments import sepa

        errors = {}
        if self.commune_id and self.regie_id and self.regie.commune_id != self.commune_id:
            errors["regie"] = _("Cette régie appartient à une autre commune.")
        try:
            self.ics = sepa.clean_ics(self.ics)
        except ValidationError as error:
            errors["ics"] = error.messages
        derived = ""
        try:
            self.iban, derived = sepa.clean_iban(self.iban)
        except ValidationError as error:
            errors["iban"] = error.messages
        if self.bic:
            try:
                self.bic = sepa.clean_bic(self.bic)
            except ValidationError as error:
                errors["bic"] = error.messages
        elif derived:
            self.bic = derived
        elif "iban" not in errors:
            errors["bic"] = _("Indiquez le BIC : il ne se déduit pas de cet IBAN.")
        self.creditor_name = sepa.latin(self.creditor_name)
        if errors:
            raise ValidationError(errors)


class MandateStatus(models.TextChoices):
    EN_ATTENTE = "en_attente", _("En attente de confirmation")
    ACTIF = "actif", _("Actif")
    SUSPENDU = "suspendu", _("Suspendu (à revoir par la régie)")
    REVOQUE = "revoque", _("Révoqué")
    REMPLACE = "remplace", _("Remplacé par un nouveau mandat")


LIVE_MANDATE_STATUSES = (MandateStatus.ACTIF, MandateStatus.SUSPENDU)

# A signed mandate never comes back from « révoqué » or « remplacé »: a new one is signed.
MANDATE_TRANSITIONS = {
    MandateStatus.EN_ATTENTE: {MandateStatus.ACTIF, MandateStatus.REVOQUE},
    MandateStatus.ACTIF: {MandateStatus.SUSPENDU, MandateStatus.REVOQUE, MandateStatus.REMPLACE},
    MandateStatus.SUSPENDU: {MandateStatus.ACTIF, MandateStatus.REVOQUE, MandateStatus.REMPLACE},
    MandateStatus.REVOQUE: set(),
    MandateStatus.REMPLACE: set(),
}


class MandateSource(models.TextChoices):
    EN_LIGNE = "en_ligne", _("Signé en ligne")
    PAPIER = "papier", _("Mandat papier enregistré par la régie")


class Mandate(CommuneOwned):
    """A family's SEPA Core mandate for one régie (the creditor): the debtor's account, the
    unique mandate reference (RUM) given at signature, the day signed and the evidence of the
    online consent (who, from where, the text agreed, the code confirmed)."""

    regie = models.ForeignKey(
        "billing.Regie", on_delete=models.PROTECT, related_name="+", verbose_name=_("régie")
    )
    famille = models.ForeignKey(
        "families.Famille",
        on_delete=models.PROTECT,
        related_name="mandates",
        verbose_name=_("famille"),
    )
    rum = models.CharField(_("référence unique du mandat (RUM)"), max_length=35, blank=True)
    holder_name = models.CharField(_("titulaire du compte"), max_length=70)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    source = models.CharField(
        _("origine"), max_length=10, choices=MandateSource.choices, default=MandateSource.EN_LIGNE
    )
    status = models.CharField(
        _("état"), max_length=10, choices=MandateStatus.choices, default=MandateStatus.EN_ATTENTE
    )
    signed_on = models.DateField(_("signé le"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signature confirmée le"), null=True, blank=True)
    evidence = models.JSONField(_("preuve du consentement"), default=dict, blank=True)
    code_hash = models.CharField(max_length=128, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    consecutive_rejects = models.PositiveSmallIntegerField(_("rejets consécutifs"), default=0)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(_("fin du mandat"), null=True, blank=True)

    class Meta:
        verbose_name = _("mandat de prélèvement SEPA")
        verbose_name_plural = _("mandats de prélèvement SEPA")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["famille", "regie"],
                condition=Q(status__in=["actif", "suspendu"]),
                name="mandate_one_live_per_family_regie",
            ),
            models.UniqueConstraint(
                fields=["regie", "rum"], condition=~Q(rum=""), name="mandate_rum_unique"
            ),
        ]

    def __str__(self):
        return self.rum or str(_("Mandat en attente de confirmation"))

    @property
    def iban_masked(self) -> str:
        """« FR76 **** **** **** **** ***0 189 »: enough to recognise one's account."""
        return f"{self.iban[:4]} {'*' * 4} … {self.iban[-4:]}"


class MandateChange(CommuneChild):
    """A mandate's history: who moved it from one state to the next, when and why."""

    commune_parent = "mandate"

    mandate = models.ForeignKey(Mandate, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["mandate", "at", "pk"]

    def __str__(self):
        return f"{self.mandate_id}: {self.from_status} → {self.to_status}"


class BatchStatus(models.TextChoices):
    PREPARE = "prepare", _("Préparé (fichier à transmettre)")
    ENVOYE = "envoye", _("Transmis à la banque")
    REGLE = "regle", _("Réglé")
    ANNULE = "annule", _("Annulé")


BATCH_TRANSITIONS = {
    BatchStatus.PREPARE: {BatchStatus.ENVOYE, BatchStatus.ANNULE},
    BatchStatus.ENVOYE: {BatchStatus.REGLE},
    BatchStatus.REGLE: set(),
    BatchStatus.ANNULE: set(),
}


class DebitBatch(CommuneOwned):
    """A régie's debits for one collection date: one pain.008 file (kept as generated, checked
    against the schema), transmitted to the bank, then settled on that date."""

    regie = models.ForeignKey(
        "billing.Regie", on_delete=models.PROTECT, related_name="+", verbose_name=_("régie")
    )
    collection_date = models.DateField(_("date de prélèvement"))
    status = models.CharField(
        _("état"), max_length=8, choices=BatchStatus.choices, default=BatchStatus.PREPARE
    )
    message_id = models.CharField(_("identifiant du fichier"), max_length=35)
    count = models.PositiveIntegerField(_("nombre de prélèvements"), default=0)
    total = models.DecimalField(_("montant total"), default=0, **MONEY)
    xml = models.TextField(_("fichier pain.008"), blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("préparé le"), auto_now_add=True)
    sent_at = models.DateTimeField(_("transmis le"), null=True, blank=True)
    settled_at = models.DateTimeField(_("réglé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("lot de prélèvements")
        verbose_name_plural = _("lots de prélèvements")
        ordering = ["-collection_date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="batch_total_not_negative")
        ]

    def __str__(self):
        return _("Prélèvements du %(day)s") % {"day": self.collection_date.strftime("%d/%m/%Y")}


class BatchChange(CommuneChild):
    commune_parent = "batch"

    batch = models.ForeignKey(DebitBatch, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=8, blank=True)
    to_status = models.CharField(max_length=8)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch", "at", "pk"]

    def __str__(self):
        return f"{self.batch_id}: {self.from_status} → {self.to_status}"


class SequenceType(models.TextChoices):
    FRST = "FRST", _("Premier prélèvement du mandat")
    RCUR = "RCUR", _("Prélèvement suivant")


class DebitStatus(models.TextChoices):
    EN_COURS = "en_cours", _("En cours")
    PAYE = "paye", _("Payé")
    REJETE = "rejete", _("Rejeté")
    RETIRE = "retire", _("Retiré du lot")


class Debit(CommuneOwned):
    """One invoice's debit in a batch: its amount (what the invoice had due), the mandate and
    sequence type, its end-to-end reference (how the bank names it back in a reject), the
    payment recorded on the due date, or the reject and its reason code."""

    batch = models.ForeignKey(DebitBatch, on_delete=models.CASCADE, related_name="debits")
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="+", verbose_name=_("facture")
    )
    mandate = models.ForeignKey(
        Mandate, on_delete=models.PROTECT, related_name="debits", verbose_name=_("mandat")
    )
    amount = models.DecimalField(_("montant"), **MONEY)
    sequence_type = models.CharField(
        _("type de séquence"), max_length=4, choices=SequenceType.choices
    )
    end_to_end_id = models.CharField(_("référence de bout en bout"), max_length=35, unique=True)
    status = models.CharField(
        _("état"), max_length=8, choices=DebitStatus.choices, default=DebitStatus.EN_COURS
    )
    payment = models.ForeignKey(
        "billing.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reject_code = models.CharField(_("motif du rejet"), max_length=4, blank=True)
    rejected_on = models.DateField(_("rejeté le"), null=True, blank=True)
    fee_invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("facture des frais de rejet"),
    )

    class Meta:
        verbose_name = _("prélèvement")
        verbose_name_plural = _("prélèvements")
        ordering = ["batch", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="debit_amount_positive"),
            # An invoice is in one debit under way at most, whatever two agents do.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="en_cours"),
                name="debit_one_live_per_invoice",
            ),
        ]

    def __str__(self):
        return self.end_to_end_id
