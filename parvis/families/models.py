"""The household (« Famille ») held by the commune's services, its members, the accounts that
may act for it (« responsables »), and the service keys that link an account to it."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import Civility
from parvis.communes.models import CommuneChild, CommuneOwned, Service
from parvis.uploads import private_storage


class Famille(CommuneOwned):
    number = models.PositiveIntegerField(_("numéro de dossier"))
    name = models.CharField(_("nom de la famille"), max_length=120)
    address = models.CharField(_("adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=120, blank=True)
    paperless_invoice = models.BooleanField(
        _("facture en ligne"),
        default=False,
        help_text=_("La famille a adhéré à la facture/compte en ligne (pas de facture papier)."),
    )
    # The day of the last change of choice; empty: the choice dates from the file's creation.
    paperless_invoice_since = models.DateField(
        _("choix de la facture en ligne ou papier depuis le"), null=True, blank=True
    )
    # « Payeur des factures »: one of the family's responsables, chosen at the guichet (through
    # families.services.choose_payeur, which checks it); empty: selectors.payeur's default.
    payeur = models.ForeignKey(
        "Personne",
        verbose_name=_("payeur des factures"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("famille")
        verbose_name_plural = _("familles")
        ordering = ["name", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "number"], name="famille_number_unique_per_commune"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.reference})"

    @property
    def reference(self) -> str:
        return f"F{self.number:06d}"


class MemberKind(models.TextChoices):
    RESPONSABLE = "responsable", _("Responsable")
    ENFANT = "enfant", _("Enfant")


class SchoolLevel(models.TextChoices):
    MATERNELLE = "maternelle", _("Maternelle")
    ELEMENTAIRE = "elementaire", _("Élémentaire")


class Personne(CommuneOwned):
    """A member of a household: a responsable (adult) or a child."""

    famille = models.ForeignKey(Famille, on_delete=models.CASCADE, related_name="members")
    kind = models.CharField(_("rôle dans le foyer"), max_length=12, choices=MemberKind.choices)
    civility = models.CharField(_("civilité"), max_length=3, choices=Civility.choices, blank=True)
    last_name = models.CharField(_("nom"), max_length=120)
    first_names = models.CharField(_("prénoms"), max_length=200)
    birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    email = models.EmailField(_("courriel"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    school = models.CharField(_("école"), max_length=120, blank=True)
    class_name = models.CharField(_("classe"), max_length=60, blank=True)
    level = models.CharField(_("niveau"), max_length=12, choices=SchoolLevel.choices, blank=True)
    has_pai = models.BooleanField(_("projet d'accueil individualisé (PAI)"), default=False)
    health_notes = models.TextField(_("informations de santé"), blank=True)

    class Meta:
        verbose_name = _("membre du foyer")
        verbose_name_plural = _("membres du foyer")
        ordering = ["kind", "birth_date", "first_names"]

    def __str__(self):
        return f"{self.first_names} {self.last_name.upper()}"


class AuthorisedPerson(CommuneOwned):
    """Someone allowed to pick the children up."""

    famille = models.ForeignKey(Famille, on_delete=models.CASCADE, related_name="authorised_people")
    last_name = models.CharField(_("nom"), max_length=120)
    first_name = models.CharField(_("prénom"), max_length=120)
    phone = models.CharField(_("téléphone"), max_length=30)
    relationship = models.CharField(_("lien avec l'enfant"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("personne autorisée à récupérer les enfants")
        verbose_name_plural = _("personnes autorisées à récupérer les enfants")
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return f"{self.first_name} {self.last_name.upper()}"


class ServiceKey(CommuneOwned):
    """A personal key a service gives a family (« Clé Espace Citoyens Enfance »). Only its digest
    is stored; the key itself is shown once to the agent and e-mailed. Single use."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="keys")
    famille = models.ForeignKey(Famille, on_delete=models.CASCADE, related_name="keys")
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("fin de la clé"), max_length=4)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_to = models.EmailField(_("envoyée à"), blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField(_("utilisée le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoquée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("clé de service")
        verbose_name_plural = _("clés de service")
        ordering = ["-created_at"]
        constraints = [
            # A key is used or revoked after it was made (the demo once said otherwise).
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(used_at__gte=F("created_at")),
                name="service_key_used_after_created",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=F("created_at")),
                name="service_key_revoked_after_created",
            ),
        ]

    def __str__(self):
        return f"{self.service.key_label or self.service.name} …{self.hint}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None


class FamilyAccess(CommuneOwned):
    """An account that acts for a family as one of its « responsables »."""

    famille = models.ForeignKey(Famille, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="family_accesses"
    )
    personne = models.ForeignKey(
        Personne, on_delete=models.SET_NULL, null=True, blank=True, related_name="accesses"
    )
    key = models.ForeignKey(ServiceKey, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("accès d'un compte à une famille")
        verbose_name_plural = _("accès des comptes aux familles")
        constraints = [
            models.UniqueConstraint(fields=["famille", "user"], name="family_access_unique"),
        ]


class QfSource(models.TextChoices):
    CAF = "caf", _("Attestation CAF")
    AVIS_IMPOSITION = "avis_imposition", _("Calculé à partir de l'avis d'imposition")
    AGENT = "agent", _("Fixé par un agent")
    # Fetched from the CAF/MSA through API Particulier with the family's consent (issue 20).
    API_PARTICULIER = "api_particulier", _("API Particulier (CAF ou MSA)")


class QuotientFamilial(CommuneOwned):
    """A dated value of a family's QF with its source and validity; the rows are its history.
    Without a valid one, billing applies the highest bracket (as towns do)."""

    famille = models.ForeignKey(Famille, on_delete=models.CASCADE, related_name="quotients")
    value = models.DecimalField(_("quotient familial (€)"), max_digits=9, decimal_places=2)
    source = models.CharField(_("source"), max_length=16, choices=QfSource.choices)
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("au (inclus)"))
    # What a computed QF was computed from: income, benefits, parts (strings, exact).
    details = models.JSONField(_("éléments du calcul"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("quotient familial")
        verbose_name_plural = _("quotients familiaux")
        ordering = ["-valid_from", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="qf_valid_until_after_from",
            ),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="qf_not_negative"),
        ]

    def __str__(self):
        return f"{self.value} € ({self.valid_from:%d/%m/%Y} – {self.valid_until:%d/%m/%Y})"


class DocumentType(models.TextChoices):
    AVIS_IMPOSITION = "avis_imposition", _("Avis d'imposition")
    ATTESTATION_CAF = "attestation_caf", _("Attestation CAF")
    JUSTIFICATIF_DOMICILE = "justificatif_domicile", _("Justificatif de domicile")
    PIECE_IDENTITE = "piece_identite", _("Pièce d'identité")
    CARNET_VACCINATION = "carnet_vaccination", _("Carnet de vaccination")
    CERTIFICAT_MEDICAL = "certificat_medical", _("Certificat médical")
    ATTESTATION_ASSURANCE = "attestation_assurance", _("Attestation d'assurance")
    JUGEMENT_GARDE = "jugement_garde", _("Jugement relatif à la garde")
    AUTRE = "autre", _("Autre")


class DocumentStatus(models.TextChoices):
    DEPOSE = "depose", _("Déposé")
    VALIDE = "valide", _("Validé")
    REFUSE = "refuse", _("Refusé")
    # Never stored: a document whose validity has passed reads « expiré » (Document.state).
    EXPIRE = "expire", _("Expiré")


# The one table of an agent's decisions on a document; services.review_document refuses the rest.
# A validated document may still be refused (a mistake seen later); a refused one is replaced by
# a new upload, never revived.
DOCUMENT_TRANSITIONS: dict[str, set[str]] = {
    DocumentStatus.DEPOSE: {DocumentStatus.VALIDE, DocumentStatus.REFUSE},
    DocumentStatus.VALIDE: {DocumentStatus.REFUSE},
    DocumentStatus.REFUSE: set(),
}


class Document(CommuneOwned):
    """A file of the family's secure storage (« porte-documents »). The file sits in private
    storage under a random name; it leaves only through a view that checks who asks."""

    famille = models.ForeignKey(Famille, on_delete=models.CASCADE, related_name="documents")
    personne = models.ForeignKey(
        Personne,
        verbose_name=_("personne concernée"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="documents",
        help_text=_("Vide : le document concerne tout le foyer."),
    )
    doc_type = models.CharField(_("type de document"), max_length=24, choices=DocumentType.choices)
    label = models.CharField(_("nom du document"), max_length=120)
    # The service whose administrative file asked for it: its agents validate it.
    service = models.ForeignKey(
        Service, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.FileField(storage=private_storage, upload_to="documents/%Y/%m/")
    original_name = models.CharField(max_length=200)  # shown, never used as a path
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    document_date = models.DateField(_("date du document"), null=True, blank=True)
    income_year = models.PositiveSmallIntegerField(_("année des revenus"), null=True, blank=True)
    valid_until = models.DateField(_("valable jusqu'au (inclus)"), null=True, blank=True)
    status = models.CharField(
        _("état"),
        max_length=8,
        choices=[(v, label) for v, label in DocumentStatus.choices if v != DocumentStatus.EXPIRE],
        default=DocumentStatus.DEPOSE,
    )
    refusal_reason = models.TextField(_("motif du refus"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("déposé le"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("examiné le"), null=True, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-uploaded_at", "-pk"]
        indexes = [
            models.Index(fields=["commune", "status", "uploaded_at"], name="document_queue_idx"),
        ]

    def __str__(self):
        return self.label

    @property
    def concerns(self) -> str:
        """Whom it is about, as the pages say it: the person, or « Tout le foyer »."""
        return str(self.personne) if self.personne_id else str(_("Tout le foyer"))

    def state(self, today) -> str:
        """déposé, validé, refusé, or expiré once its validity has passed (unless refused)."""
        if self.status != DocumentStatus.REFUSE and self.valid_until and self.valid_until < today:
            return DocumentStatus.EXPIRE
        return self.status

    def state_label(self, today) -> str:
        return DocumentStatus(self.state(today)).label


class DocumentEvent(CommuneChild):
    """One change of a document's status: who, when, from → to, and the reason of a refusal."""

    commune_parent = "document"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=8, choices=DocumentStatus.choices)
    to_status = models.CharField(max_length=8, choices=DocumentStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status}"


class Provider(models.TextChoices):
    """Who in the household must provide a required document."""

    FOYER = "foyer", _("Le foyer (un document pour tous)")
    RESPONSABLE = "responsable", _("Chaque responsable")
    ENFANT = "enfant", _("Chaque enfant")


class RequiredDocument(CommuneOwned):
    """One line of the commune's administrative file (« Dossier administratif ») for a school
    year, set by its administrator."""

    school_year = models.PositiveSmallIntegerField(
        _("année scolaire (année de la rentrée)"),
        help_text=_("2026 pour l'année scolaire 2026-2027."),
    )
    service = models.ForeignKey(
        Service,
        verbose_name=_("service qui le vérifie"),
        on_delete=models.PROTECT,
        related_name="required_documents",
    )
    doc_type = models.CharField(_("type de document"), max_length=24, choices=DocumentType.choices)
    provider = models.CharField(
        _("qui le fournit"), max_length=12, choices=Provider.choices, default=Provider.FOYER
    )
    help_text = models.CharField(_("précision pour les familles"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)

    class Meta:
        verbose_name = _("document exigé au dossier administratif")
        verbose_name_plural = _("documents exigés au dossier administratif")
        ordering = ["school_year", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "school_year", "doc_type", "provider"],
                name="required_document_unique",
            )
        ]

    def __str__(self):
        return f"{self.get_doc_type_display()} — {self.get_provider_display()}"


class CustodySide(models.TextChoices):
    """One of the two households of a child in shared custody."""

    FOYER = "foyer", _("Foyer de l'enfant")
    AUTRE = "autre", _("Autre foyer")


class CustodyRule(models.TextChoices):
    """How the child's activity is split between the two households (« garde partagée »)."""

    SEMAINES_PAIRES = "semaines_paires", _("Semaines paires et impaires")
    ALTERNANCE = "alternance", _("Une semaine sur deux à partir d'une semaine donnée")
    POURCENTAGE = "pourcentage", _("Un pourcentage")
    PAR_ACTIVITE = "par_activite", _("Par activité")


class CustodySource(models.TextChoices):
    JUGEMENT = "jugement", _("Jugement")
    ACCORD = "accord", _("Accord des parents")


class SharedCustody(CommuneOwned):
    """A child who belongs to two households: the family of the `child` row (« foyer de
    l'enfant ») and `other_famille`, each with its own accounts, address, QF and documents. An
    agent records the rule from the judgment or the parents' agreement; billing splits the
    child's activity from `since` on by `families.custody.payers` (a week runs Monday to
    Sunday; « semaines paires » are the even ISO weeks)."""

    child = models.OneToOneField(
        Personne, verbose_name=_("enfant"), on_delete=models.CASCADE, related_name="custody"
    )
    other_famille = models.ForeignKey(
        Famille,
        verbose_name=_("autre foyer"),
        on_delete=models.CASCADE,
        related_name="shared_children",
    )
    rule = models.CharField(_("règle de garde"), max_length=16, choices=CustodyRule.choices)
    # Alternating weeks: whose the even weeks are, or the week of `start_week`; by activity:
    # whose the activities without their own line are.
    first_side = models.CharField(
        _("foyer de la première semaine"),
        max_length=5,
        choices=CustodySide.choices,
        default=CustodySide.FOYER,
    )
    start_week = models.DateField(_("semaine de départ (lundi)"), null=True, blank=True)
    # The percentage of the child's foyer; the other pays the rest (to the cent, exactly).
    percent_foyer = models.DecimalField(
        _("part du foyer de l'enfant (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    since = models.DateField(_("applicable à partir du"))
    source = models.CharField(_("décidée par"), max_length=8, choices=CustodySource.choices)
    source_date = models.DateField(_("date de la décision"), null=True, blank=True)
    note = models.CharField(_("précision"), max_length=300, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("garde partagée")
        verbose_name_plural = _("gardes partagées")
        constraints = [
            models.CheckConstraint(
                condition=Q(percent_foyer__isnull=True)
                | Q(percent_foyer__gte=0, percent_foyer__lte=100),
                name="custody_percent_between_0_and_100",
            ),
        ]
        indexes = [models.Index(fields=["commune", "other_famille"], name="custody_other_idx")]

    def __str__(self):
        return str(self.child)
