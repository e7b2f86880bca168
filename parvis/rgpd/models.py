"""Personal data (RGPD, issue 20 §3): a citizen's data exports, the commune's retention rules and
the record of each retention run (a dry run's report, or the deletions made)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from parvis.communes.models import CommuneChild, CommuneOwned
from parvis.uploads import private_storage


class ExportStatus(models.TextChoices):
    EN_PREPARATION = "en_preparation", _("En préparation")
    PRETE = "prete", _("Prête")
    ECHOUEE = "echouee", _("Échouée")
    EXPIREE = "expiree", _("Expirée")


# The one table of an export's moves; services refuse the rest.
EXPORT_TRANSITIONS: dict[str, set[str]] = {
    ExportStatus.EN_PREPARATION: {ExportStatus.PRETE, ExportStatus.ECHOUEE},
    ExportStatus.PRETE: {ExportStatus.EXPIREE},
    ExportStatus.ECHOUEE: set(),
    ExportStatus.EXPIREE: set(),
}


class DataExport(CommuneOwned):
    """« Télécharger mes données »: a ZIP of everything about an account and its households,
    built by a background task, kept in private storage for a few days, downloadable only by
    the account that asked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("compte"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    status = models.CharField(
        _("état"),
        max_length=16,
        choices=ExportStatus.choices,
        default=ExportStatus.EN_PREPARATION,
    )
    requested_at = models.DateTimeField(_("demandée le"), auto_now_add=True)
    ready_at = models.DateTimeField(_("prête le"), null=True, blank=True)
    expires_at = models.DateTimeField(_("téléchargeable jusqu'au"), null=True, blank=True)
    file = models.FileField(
        _("archive"), storage=private_storage, upload_to="rgpd/exports/", blank=True
    )
    size = models.PositiveBigIntegerField(_("taille (octets)"), default=0)
    error = models.CharField(_("erreur"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("export de données personnelles")
        verbose_name_plural = _("exports de données personnelles")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["commune", "user", "-requested_at"], name="export_user_idx")
        ]

    def __str__(self):
        return f"{self.user} {self.requested_at:%Y-%m-%d %H:%M} {self.status}"


class ExportStatusChange(CommuneChild):
    """The history of an export's status."""

    commune_parent = "export"

    export = models.ForeignKey(DataExport, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(
        _("état précédent"), max_length=16, choices=ExportStatus.choices, blank=True
    )
    to_status = models.CharField(_("nouvel état"), max_length=16, choices=ExportStatus.choices)
    at = models.DateTimeField(_("le"), auto_now_add=True)

    class Meta:
        verbose_name = _("changement d'état d'un export")
        verbose_name_plural = _("changements d'état des exports")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class RetentionKind(models.TextChoices):
    """The kinds of data the daily retention job deletes (parvis.rgpd.retention holds their
    defaults, their rule and their legal reference)."""

    COMPTES_INACTIFS = "comptes_inactifs", _("Comptes sans connexion")
    DOCUMENTS_EXPIRES = "documents_expires", _("Justificatifs dont la validité a pris fin")
    PIECES_DEMANDES = "pieces_demandes", _("Pièces jointes des demandes closes")
    BROUILLONS = "brouillons", _("Brouillons de démarches abandonnés")
    TENTATIVES = "tentatives", _("Journal des tentatives de connexion")
    JOURNAL = "journal", _("Journal des modifications (hors régie)")


class RetentionRule(CommuneOwned):
    """A commune's own duration for one kind of data (without a row: the default)."""

    kind = models.CharField(_("type de données"), max_length=24, choices=RetentionKind.choices)
    days = models.PositiveIntegerField(
        _("durée de conservation (jours)"),
        validators=[MinValueValidator(1), MaxValueValidator(36500)],
    )

    class Meta:
        verbose_name = _("durée de conservation")
        verbose_name_plural = _("durées de conservation")
        constraints = [
            models.UniqueConstraint(fields=["commune", "kind"], name="retention_rule_unique")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} : {self.days} j"


class RetentionPolicy(CommuneOwned):
    """Whether the daily job deletes for this commune: only once its administrator has read a
    dry run's report and turned it on (until then the job writes the report only)."""

    enabled_at = models.DateTimeField(_("activée le"), null=True, blank=True)
    enabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("activée par"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("application des durées de conservation")
        verbose_name_plural = _("applications des durées de conservation")
        constraints = [models.UniqueConstraint(fields=["commune"], name="retention_policy_unique")]


class RetentionRun(CommuneOwned):
    """One pass of the retention rules over a commune: a dry run (what would go) or the real
    one (what went). `counts` maps a kind to its number of rows; `warned` the accounts warned."""

    dry_run = models.BooleanField(_("simulation"))
    at = models.DateTimeField(_("le"), auto_now_add=True)
    counts = models.JSONField(_("suppressions par type"), default=dict)
    warned = models.PositiveIntegerField(_("comptes avertis"), default=0)

    class Meta:
        verbose_name = _("passage des durées de conservation")
        verbose_name_plural = _("passages des durées de conservation")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {'simulation' if self.dry_run else 'suppression'}"


class InactivityWarning(CommuneOwned):
    """The e-mail telling an account without a login for long that it will be deleted; a login
    afterwards cancels it (the next warning comes after another inactive period)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(_("averti le"))

    class Meta:
        verbose_name = _("avertissement d'inactivité")
        verbose_name_plural = _("avertissements d'inactivité")
