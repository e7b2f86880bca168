"""Procedures (declared as data) and requests (« Demande »): the spine of the portal. Every citizen
action an agent may look at is a numbered Demande with a status, a history and messages."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.communes.models import CommuneChild, CommuneOwned, Service
from parvis.uploads import private_storage


class Audience(models.TextChoices):
    ANYONE = "anyone", _("Tout le monde, même sans compte")
    ACCOUNT = "account", _("Titulaires d'un espace")
    FAMILY = "family", _("Familles liées par une clé")


class Effect(models.TextChoices):
    """What an accepted request changes besides its status (coded once, chosen per procedure)."""

    NONE = "", _("Aucun")
    COORDINATES = "coordinates", _("Met à jour les coordonnées du demandeur et de son foyer")
    PAPERLESS_INVOICE = "paperless_invoice", _("Adhésion ou non à la facture en ligne")


class Procedure(CommuneOwned):
    slug = models.SlugField(_("identifiant dans l'adresse"), max_length=80)
    title = models.CharField(_("titre"), max_length=200)
    category = models.CharField(_("catégorie"), max_length=80)
    keywords = models.CharField(_("mots-clés"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("durée approximative (minutes)"), default=5
    )
    audience = models.CharField(_("qui peut la faire"), max_length=10, choices=Audience.choices)
    service = models.ForeignKey(
        Service,
        verbose_name=_("service instructeur"),
        on_delete=models.PROTECT,
        related_name="procedures",
    )
    auto_accept = models.BooleanField(
        _("acceptée automatiquement"),
        default=False,
        help_text=_("Sinon, un agent du service instruit chaque demande."),
    )
    effect = models.CharField(
        _("effet une fois acceptée"), max_length=20, choices=Effect.choices, blank=True
    )
    definition = models.JSONField(_("définition (étapes et champs)"))
    is_enabled = models.BooleanField(_("proposée"), default=True)
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)
    # The builder (issue 21): `definition` is what citizens see (the published version's);
    # `draft` the working copy the builder edits, None when it holds no change to publish.
    current_version = models.ForeignKey(
        "ProcedureVersion",
        verbose_name=_("version publiée"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    draft = models.JSONField(_("brouillon de la définition"), null=True, blank=True)
    emails = models.JSONField(
        _("courriels par changement d'état"),
        default=dict,
        blank=True,
        help_text=_('{état: {"subject": …, "body": …}} ; le courriel par défaut sinon.'),
    )
    processing_days = models.PositiveSmallIntegerField(
        _("délai de traitement visé (jours)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("démarche")
        verbose_name_plural = _("démarches")
        ordering = ["category", "position", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "slug"], name="procedure_slug_unique_per_commune"
            )
        ]

    def __str__(self):
        return self.title

    @property
    def without_account(self) -> bool:
        return self.audience == Audience.ANYONE

    @property
    def state(self) -> str:
        if self.is_enabled:
            return ProcedureState.PUBLIEE
        return (
            ProcedureState.BROUILLON
            if self.current_version_id is None
            else ProcedureState.DESACTIVEE
        )

    @property
    def working_definition(self) -> dict:
        """What the builder edits: the draft, else the published definition."""
        return self.draft if self.draft is not None else self.definition


class ProcedureState(models.TextChoices):
    BROUILLON = "brouillon", _("Brouillon")
    PUBLIEE = "publiee", _("Publiée")
    DESACTIVEE = "desactivee", _("Désactivée")


class ProcedureVersion(CommuneOwned):
    """A published definition, never changed: a request keeps the version it started with."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("définition (étapes et champs)"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_by_label = models.CharField(_("publiée par"), max_length=200, blank=True)
    published_at = models.DateTimeField(_("publiée le"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("version de démarche")
        verbose_name_plural = _("versions de démarches")
        ordering = ["procedure", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="procedure_version_unique")
        ]

    def __str__(self):
        return f"{self.procedure_id} v{self.number}"


class LibraryEntry(models.Model):
    """A procedure shared by a commune in the operator's library (the shipped ones are files of
    `catalogue/`): a catalogue entry (see catalogue.py) any commune may copy."""

    slug = models.SlugField(max_length=80)
    title = models.CharField(_("titre"), max_length=200)
    category = models.CharField(_("catégorie"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    entry = models.JSONField(_("démarche (format du catalogue)"))
    shared_by = models.ForeignKey(
        "communes.Commune",
        verbose_name=_("partagée par"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    shared_at = models.DateTimeField(_("partagée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("démarche de la bibliothèque")
        verbose_name_plural = _("démarches de la bibliothèque")
        ordering = ["category", "title", "pk"]

    def __str__(self):
        return self.title


class Status(models.TextChoices):
    BROUILLON = "brouillon", _("Brouillon")
    EN_ATTENTE = "en_attente", _("En attente d'instruction")
    EN_COURS = "en_cours", _("En cours d'instruction")
    COMPLEMENT = "complement", _("Complément demandé")
    ACCEPTEE = "acceptee", _("Acceptée")
    REFUSEE = "refusee", _("Refusée")
    SANS_SUITE = "sans_suite", _("Classée sans suite")


# The one table of allowed transitions; services.transition refuses anything else.
TRANSITIONS: dict[str, set[str]] = {
    Status.BROUILLON: {Status.EN_ATTENTE},
    Status.EN_ATTENTE: {
        Status.EN_COURS,
        Status.COMPLEMENT,
        Status.ACCEPTEE,
        Status.REFUSEE,
        Status.SANS_SUITE,
    },
    Status.EN_COURS: {Status.COMPLEMENT, Status.ACCEPTEE, Status.REFUSEE, Status.SANS_SUITE},
    Status.COMPLEMENT: {Status.EN_COURS, Status.SANS_SUITE},
    Status.ACCEPTEE: set(),
    Status.REFUSEE: set(),
    Status.SANS_SUITE: set(),
}
CLOSED = {Status.ACCEPTEE, Status.REFUSEE, Status.SANS_SUITE}


class Demande(CommuneOwned):
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="demandes")
    # The version it started with: its questions, whatever is published later (None: a
    # procedure never published through the builder, read from `procedure.definition`).
    version = models.ForeignKey(
        ProcedureVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demandes",
    )
    number = models.CharField(
        _("numéro"), max_length=20, blank=True
    )  # DEM-2026-000123, at submission
    status = models.CharField(
        _("état"), max_length=12, choices=Status.choices, default=Status.BROUILLON
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="demandes",
    )
    famille = models.ForeignKey(
        "families.Famille",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="demandes",
    )
    contact_name = models.CharField(_("demandeur"), max_length=200, blank=True)
    contact_email = models.EmailField(_("courriel du demandeur"), blank=True)
    answers = models.JSONField(_("réponses"), default=dict, blank=True)
    current_step = models.PositiveSmallIntegerField(default=1)  # of a draft
    # Anonymous follow-up: the code is shown once and e-mailed; only its digest is kept.
    tracking_digest = models.CharField(max_length=64, blank=True)
    draft_key = models.CharField(
        max_length=64, blank=True, db_index=True
    )  # anonymous draft ↔ session
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(_("déposée le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande")
        verbose_name_plural = _("demandes")
        ordering = ["-submitted_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "number"],
                condition=~models.Q(number=""),
                name="demande_number_unique",
            )
        ]
        indexes = [
            models.Index(fields=["commune", "status", "submitted_at"], name="demande_queue_idx"),
        ]

    def __str__(self):
        return f"{self.number or _('Brouillon')} — {self.procedure.title}"

    @property
    def overdue(self) -> bool:
        """Still open past its procedure's target processing time (« délai dépassé »)."""
        days = self.procedure.processing_days
        return bool(
            days
            and self.submitted_at
            and self.status not in CLOSED
            and timezone.now() > self.submitted_at + timedelta(days=days)
        )

    @property
    def definition(self) -> dict:
        """The questions of the version it started with."""
        return self.version.definition if self.version_id else self.procedure.definition


class DemandeCounter(CommuneOwned):
    """The last number given per commune and year: numbers follow without gaps (row lock)."""

    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commune", "year"], name="demande_counter_unique")
        ]


class DemandeEvent(CommuneChild):
    """One change of status: who, when, from → to, and the comment sent to the requester."""

    commune_parent = "demande"

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=Status.choices)
    to_status = models.CharField(max_length=12, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class DemandeMessage(CommuneChild):
    commune_parent = "demande"

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="messages")
    from_requester = models.BooleanField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.body[:60]


class DemandeAttachment(CommuneChild):
    """A file of a request: an answer to a « file » field, or joined to a message."""

    commune_parent = "demande"

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="attachments")
    field_name = models.CharField(max_length=41, blank=True)
    message = models.ForeignKey(
        DemandeMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(storage=private_storage, upload_to="demandes/%Y/%m/")
    original_name = models.CharField(max_length=200)  # shown, never used as a path
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name
