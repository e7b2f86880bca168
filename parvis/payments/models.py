"""Online payment (issue 7): the provider each commune uses, the transactions started with it,
and the log of every exchange with the provider. A transaction pays invoices only through
`parvis.payments.services.handle_notification`, on a verified server notification; billing knows
nothing of providers (payments depends on billing, not the other way round)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parvis.billing.models import MONEY, Invoice
from parvis.communes.models import CommuneOwned


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


class TransactionInvoice(models.Model):
    """An invoice's share of a transaction. `pending` is true while the transaction is « en
    attente » (the services clear it when it leaves that state): the database then holds each
    invoice in at most one pending transaction, whatever two « Payer » racing do."""

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


class TropPercuChange(models.Model):
    """A trop-perçu's history: who moved it from one state to the next, when."""

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
