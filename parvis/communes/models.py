"""Tenancy: the commune and what it publishes about itself (services, hours, closures, news).

Every commune-owned row carries `commune`; reads go through `selectors.py`, which always take it.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from parvis.communes import hours, rgaa
from parvis.communes.qf_rules import DEFAULT_PARTS_RULES, validate_parts_rules
from parvis.communes.tenancy import CommuneScopedManager
from parvis.communes.theme import validate_theme_colour
from parvis.text import validate_phone

# The portal's name when the commune gives none (stored as typed: it is the commune's word).
DEFAULT_NOM_PORTAIL = "Démarches numériques"


def default_parts_rules() -> dict:
    return dict(DEFAULT_PARTS_RULES)


# A slug made only of digits would be read as an id in /actualites/<id-or-slug>/.
not_only_digits = RegexValidator(
    r"^\d+$", _("L'identifiant doit contenir au moins une lettre."), inverse_match=True
)
# Top-level paths of the deployment that a commune's slug must not shadow.
RESERVED_SLUGS = frozenset(
    {"admin", "static", "media", "healthz", "i18n", "_dev", "api", "favicon.ico", "affichage"}
)


def validate_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(_("Cet identifiant est réservé par Parvis."), code="reserved")


class HolidayZone(models.TextChoices):
    A = "A", _("Zone A")
    B = "B", _("Zone B")
    C = "C", _("Zone C")


class AccessibilityStatus(models.TextChoices):
    NON_CONFORME = "non", _("non conforme")
    PARTIELLEMENT = "partiel", _("partiellement conforme")
    TOTALEMENT = "total", _("totalement conforme")


class Commune(models.Model):
    slug = models.SlugField(
        _("identifiant dans l'adresse"),
        max_length=80,
        unique=True,
        validators=[not_only_digits, validate_not_reserved],
        help_text=_("Le portail de la commune est servi à /<identifiant>/."),
    )
    name = models.CharField(_("nom"), max_length=120)
    address = models.CharField(_("adresse de l'Hôtel de Ville"), max_length=200)
    postal_code = models.CharField(_("code postal"), max_length=10)
    phone = models.CharField(
        _("téléphone (accueil central)"), max_length=30, validators=[validate_phone]
    )
    email = models.EmailField(_("courriel"))
    website = models.URLField(_("site internet de la commune"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="communes/logos/", blank=True)
    theme_colour = models.CharField(
        _("couleur du thème"),
        max_length=7,
        default="#1B4F8A",
        validators=[validate_theme_colour],
        help_text=_("Couleur des bandeaux, sous du texte blanc : contraste d'au moins 4,5:1."),
    )
    holiday_zone = models.CharField(
        _("zone de vacances scolaires"), max_length=1, choices=HolidayZone.choices
    )
    login_with_email = models.BooleanField(
        _("connexion par courriel et mot de passe"), default=True
    )
    login_with_family_code = models.BooleanField(
        _("connexion par « code famille » et mot de passe"), default=False
    )
    nom_portail = models.CharField(
        _("nom du portail"),
        max_length=80,
        default=DEFAULT_NOM_PORTAIL,
        help_text=_(
            "Le nom que les familles connaissent, dans le bandeau, le titre des pages et les "
            "courriels : par exemple « Espace Citoyens Premium »."
        ),
    )
    changement_adresse_en_ligne = models.BooleanField(
        _(
            "Les familles signalent en ligne un changement de coordonnées (adresse, téléphone, "
            "courriel)"
        ),
        default=True,
        help_text=_(
            "Par la demande « Signalement d'un changement de coordonnées », qu'un agent valide "
            "avant la mise à jour du dossier. Sinon, les pages indiquent comment joindre le "
            "service."
        ),
    )
    families_edit_authorised_people = models.BooleanField(
        _("Les familles gèrent elles-mêmes les personnes autorisées à récupérer les enfants"),
        default=True,
        help_text=_(
            "Depuis leur espace, elles ajoutent, modifient et retirent ces personnes ; chaque "
            "changement figure au journal du dossier de la famille."
        ),
    )
    families_edit_health = models.BooleanField(
        _(
            "Les familles mettent à jour elles-mêmes les informations de santé des enfants "
            "(PAI, allergies)"
        ),
        default=False,
        help_text=_(
            "Sinon, elles demandent ces changements au service ; chaque changement figure au "
            "journal du dossier de la famille."
        ),
    )
    publication_director = models.CharField(
        _("directeur ou directrice de la publication"),
        max_length=200,
        blank=True,
        help_text=_("En général le maire, par exemple « M. le Maire de la commune »."),
    )
    legal_notice = models.TextField(
        _("mentions légales (complément)"),
        blank=True,
        help_text=_(
            "Texte ajouté aux mentions légales communes. "
            "Texte simple, un paragraphe par ligne vide."
        ),
    )
    terms = models.TextField(
        _("conditions générales d'utilisation (complément)"),
        blank=True,
        help_text=_("Texte ajouté aux conditions générales communes."),
    )
    # The status of the statement and of every footer is computed (`accessibility_status`): from
    # the rate of the commune's own audit when it recorded one, else « non conforme ».
    accessibility_audit_date = models.DateField(
        _("date de l'audit d'accessibilité"),
        null=True,
        blank=True,
        help_text=_("Date de fin de l'audit RGAA du portail, s'il a été audité."),
    )
    accessibility_auditor = models.CharField(
        _("auditeur"),
        max_length=200,
        blank=True,
        help_text=_("La personne ou l'organisme indépendant qui a réalisé l'audit."),
    )
    accessibility_audit_rate = models.DecimalField(
        _("taux de conformité de l'audit (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_(
            "Critères conformes ÷ (conformes + non conformes), en pourcentage : 100 donne "
            "« totalement conforme », 50 et plus « partiellement conforme », moins « non "
            "conforme »."
        ),
    )
    accessibility_statement_date = models.DateField(
        _("date de la déclaration d'accessibilité"),
        null=True,
        blank=True,
        help_text=_(
            "Laissée vide : la date de l'audit, ou à défaut celle de l'auto-évaluation de Parvis."
        ),
    )
    accessibility_plan_url = models.URLField(
        _("adresse du schéma pluriannuel de mise en accessibilité"),
        blank=True,
        help_text=_("Le document publié par la commune, par exemple sur son site internet."),
    )
    is_active = models.BooleanField(
        _("en ligne"), default=True, help_text=_("Une commune hors ligne n'est plus servie.")
    )
    absence_certificate_hours = models.PositiveSmallIntegerField(
        _("délai pour fournir le certificat d'une absence (heures)"),
        default=72,
        help_text=_(
            "Une absence est justifiée par un certificat reçu dans ce délai après son premier jour."
        ),
    )
    absence_min_days = models.PositiveSmallIntegerField(
        _("nombre minimal de jours consécutifs d'une absence justifiée"),
        default=1,
        help_text=_("Par exemple 3 : une absence plus courte n'est pas remboursée (carence)."),
    )
    qf_parts_rules = models.JSONField(
        _("règles de parts du quotient familial"),
        default=default_parts_rules,
        validators=[validate_parts_rules],
        help_text=_(
            "Parts d'un couple, d'une personne seule, bonus du parent isolé, puis part du 1er, "
            "2e, 3e enfant… (la dernière valeur vaut pour les suivants)."
        ),
    )

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(login_with_email=True) | Q(login_with_family_code=True),
                name="commune_offers_a_login_mode",
                violation_error_message=_("Proposez au moins un mode de connexion."),
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("portal:home", kwargs={"commune": self.slug})

    def clean(self):
        super().clean()
        audit = {
            "accessibility_audit_date": self.accessibility_audit_date,
            "accessibility_auditor": self.accessibility_auditor.strip(),
            "accessibility_audit_rate": self.accessibility_audit_rate,
        }
        if any(value not in (None, "") for value in audit.values()):
            missing = {
                "accessibility_audit_date": _("Indiquez la date de l'audit."),
                "accessibility_auditor": _("Indiquez qui a réalisé l'audit."),
                "accessibility_audit_rate": _("Indiquez le taux de conformité de l'audit."),
            }
            errors = {name: missing[name] for name, value in audit.items() if value in (None, "")}
            if errors:
                raise ValidationError(errors)
        if self.accessibility_audit_date and self.accessibility_audit_date > timezone.localdate():
            raise ValidationError(
                {"accessibility_audit_date": _("La date de l'audit ne peut pas être à venir.")}
            )

    # Accessibility: what the statement and every footer say.
    @property
    def has_accessibility_audit(self) -> bool:
        return (
            self.accessibility_audit_date is not None and self.accessibility_audit_rate is not None
        )

    @property
    def accessibility_status(self) -> AccessibilityStatus:
        """« non conforme » unless the commune's own audit gives better (RGAA's brackets)."""
        rate = self.accessibility_audit_rate if self.has_accessibility_audit else None
        return AccessibilityStatus(rgaa.status_for(audit_rate=rate))

    # What the login identifier is called here: the one place the home box, the login page and
    # the other forms that ask for it read (« Code famille » where the families got one).
    @property
    def identifiant_label(self) -> str:
        if self.login_with_family_code and self.login_with_email:
            return _("Courriel ou code famille")
        if self.login_with_family_code:
            return _("Code famille")
        return _("Identifiant")

    @property
    def identifiant_aide(self) -> str:
        if self.login_with_family_code and self.login_with_email:
            return _(
                "L'adresse électronique de votre espace, ou le code famille remis par la mairie."
            )
        if self.login_with_family_code:
            return _("Le code famille remis par la mairie, par exemple F000123.")
        return _("L'adresse électronique de votre espace.")

    @property
    def identifiant_incorrect(self) -> str:
        if self.login_with_family_code and not self.login_with_email:
            return _("Code famille ou mot de passe incorrect.")
        return _("Identifiant ou mot de passe incorrect.")

    @property
    def identifiant_manquant(self) -> str:
        if self.login_with_family_code and not self.login_with_email:
            return _("Indiquez votre code famille.")
        return _("Indiquez votre identifiant.")


class CommuneOwned(models.Model):
    """Base of every row a commune owns."""

    commune = models.ForeignKey(Commune, verbose_name=_("commune"), on_delete=models.CASCADE)

    # Scoped to the current commune when there is one (parvis.communes.tenancy).
    objects = CommuneScopedManager()

    class Meta:
        abstract = True


def fill_communes(model, rows) -> None:
    """Sets `commune_id` on the unsaved `rows` of a CommuneChild `model` that lack it, from their
    parent (`model.commune_parent`): from the parent already loaded, else one query for all."""
    field = model._meta.get_field(model.commune_parent)
    missing = [row for row in rows if row.commune_id is None]
    unloaded = []
    for row in missing:
        if field.is_cached(row) and getattr(row, field.name) is not None:
            row.commune_id = getattr(row, field.name).commune_id
        else:
            unloaded.append(row)
    ids = {getattr(row, field.attname) for row in unloaded}
    if not ids:
        return
    communes = dict(
        field.related_model._base_manager.filter(pk__in=ids).values_list("pk", "commune_id")
    )
    for row in unloaded:
        row.commune_id = communes.get(getattr(row, field.attname))


class CommuneChildQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        fill_communes(self.model, objs)
        return super().bulk_create(objs, *args, **kwargs)


class CommuneChild(CommuneOwned):
    """A row a commune owns that is reached through a parent (an invoice's line, a request's
    message): its `commune` is denormalised from `commune_parent`, the foreign key to a row that
    carries it, so that every table of a commune's data carries `commune_id` (the distribution
    column of a sharded PostgreSQL, README « Towards a distributed PostgreSQL (Citus) »). Code
    that knows the commune sets it; otherwise `save()` and `bulk_create()` copy the parent's."""

    commune_parent: str = ""

    objects = CommuneScopedManager.from_queryset(CommuneChildQuerySet)()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.commune_id is None:
            fill_communes(type(self), [self])
        super().save(*args, **kwargs)


class ServiceKind(models.TextChoices):
    """What a service does; agents get roles by kind (accounts.AgentRole)."""

    ENFANCE = "enfance", _("Enfance / périscolaire")
    SCOLAIRE = "scolaire", _("Affaires scolaires")
    ETAT_CIVIL = "etat_civil", _("État civil")
    REGIE = "regie", _("Régie")
    AUTRE = "autre", _("Autre")


class Service(CommuneOwned):
    name = models.CharField(_("nom"), max_length=120)
    kind = models.CharField(
        _("domaine"), max_length=12, choices=ServiceKind.choices, default=ServiceKind.AUTRE
    )
    key_label = models.CharField(
        _("nom de la clé personnelle"),
        max_length=120,
        blank=True,
        help_text=_(
            "Si le service remet des clés aux familles, leur nom : « Clé Espace Citoyens Enfance »."
        ),
    )
    phone = models.CharField(_("téléphone"), max_length=30, blank=True, validators=[validate_phone])
    email = models.EmailField(_("courriel"), blank=True)
    location = models.CharField(
        _("lieu d'accueil"),
        max_length=200,
        blank=True,
        help_text=_("Laissez vide si le service reçoit à l'Hôtel de Ville."),
    )
    description = models.TextField(_("missions"), blank=True)
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "name"], name="service_name_unique_per_commune"
            )
        ]

    def __str__(self):
        return self.name


class OpeningRange(CommuneOwned):
    """One range of a weekday's opening hours. Without a service: the Hôtel de Ville's hours; a
    service without ranges of its own keeps the Hôtel de Ville's."""

    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="opening_ranges",
    )
    weekday = models.PositiveSmallIntegerField(_("jour"), choices=hours.WEEKDAYS)
    opens = models.TimeField(_("ouverture"))
    closes = models.TimeField(_("fermeture"))

    class Meta:
        verbose_name = _("plage d'ouverture")
        verbose_name_plural = _("horaires d'ouverture")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")),
                name="opening_range_closes_after_opening",
                violation_error_message=_("L'heure de fermeture doit suivre l'heure d'ouverture."),
            )
        ]

    def __str__(self):
        opens, closes = hours.format_time(self.opens), hours.format_time(self.closes)
        return f"{self.get_weekday_display()} {opens}-{closes}"

    def clean(self):
        if self.service_id and self.commune_id and self.service.commune_id != self.commune_id:
            raise ValidationError({"service": _("Ce service appartient à une autre commune.")})

    def as_range(self) -> hours.Range:
        return hours.Range(self.weekday, self.opens, self.closes)


class Closure(CommuneOwned):
    """An exceptional closure (days included). Without a service, the whole town hall and every
    service close."""

    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closures",
        help_text=_("Laissez vide pour fermer l'Hôtel de Ville et tous les services."),
    )
    start = models.DateField(_("du"))
    end = models.DateField(_("au (inclus)"))
    reason = models.CharField(_("motif"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("fermeture exceptionnelle")
        verbose_name_plural = _("fermetures exceptionnelles")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")),
                name="closure_ends_after_start",
                violation_error_message=_("La date de fin doit suivre la date de début."),
            )
        ]

    def __str__(self):
        return self.reason or str(_("Fermeture exceptionnelle"))

    def clean(self):
        if self.service_id and self.commune_id and self.service.commune_id != self.commune_id:
            raise ValidationError({"service": _("Ce service appartient à une autre commune.")})

    def as_closed(self) -> hours.Closed:
        return hours.Closed(self.start, self.end, self.reason)


class Actualite(CommuneOwned):
    title = models.CharField(_("titre"), max_length=200)
    slug = models.SlugField(
        _("identifiant dans l'adresse"),
        max_length=200,
        blank=True,
        validators=[not_only_digits],
        help_text=_("Rempli à partir du titre s'il est laissé vide."),
    )
    summary = models.CharField(_("chapô"), max_length=300, blank=True)
    body = models.TextField(_("texte"), help_text=_("Texte simple : un paragraphe par ligne vide."))
    image = models.ImageField(_("image"), upload_to="actualites/", blank=True)
    image_alt = models.CharField(
        _("texte alternatif de l'image"),
        max_length=200,
        blank=True,
        help_text=_("Ce que montre l'image, pour les personnes qui ne la voient pas."),
    )
    published_at = models.DateTimeField(_("publiée le"), default=timezone.now)
    expires_at = models.DateTimeField(_("retirée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("actualité")
        verbose_name_plural = _("actualités")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "slug"], name="actualite_slug_unique_per_commune"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("published_at")),
                name="actualite_expires_after_publication",
                violation_error_message=_("La date de retrait doit suivre la date de publication."),
            ),
        ]
        indexes = [models.Index(fields=["commune", "-published_at"], name="actualite_recent_idx")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self._free_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse(
            "portal:actualite", kwargs={"commune": self.commune.slug, "reference": self.slug}
        )

    def clean(self):
        if self.image and not self.image_alt:
            raise ValidationError(
                {"image_alt": _("Décrivez l'image pour les personnes qui ne la voient pas.")}
            )

    def _free_slug(self) -> str:
        base = slugify(self.title)[:180] or "actualite"
        if base.isdigit():
            base = f"actualite-{base}"
        taken = set(
            Actualite.objects.filter(commune_id=self.commune_id, slug__startswith=base)
            .exclude(pk=self.pk)
            .values_list("slug", flat=True)
        )
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug


class ApiParticulierConfig(CommuneOwned):
    """The commune's access to API Particulier (issue 20 §2): its token, given by the DINUM to the
    commune once its « habilitation » is granted, lets a family fetch its CAF/MSA family quotient
    with its consent. The token is a secret: typed in the admin, never shown back (only its last
    four characters). Without a row, or switched off, families are never offered the fetch."""

    enabled = models.BooleanField(
        _("proposer aux familles de récupérer leur quotient familial CAF/MSA"), default=False
    )
    token = models.CharField(_("jeton d'API Particulier"), max_length=512, blank=True)
    recipient = models.CharField(
        _("SIRET de la commune (destinataire)"),
        max_length=14,
        blank=True,
        validators=[RegexValidator(r"^\d{14}$", _("Le SIRET compte 14 chiffres."))],
        help_text=_("Facultatif : API Particulier le déduit du jeton s'il est vide."),
    )
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("API Particulier (quotient familial CAF/MSA)")
        verbose_name_plural = _("API Particulier (quotient familial CAF/MSA)")
        constraints = [
            models.UniqueConstraint(fields=["commune"], name="api_particulier_one_per_commune")
        ]

    def __str__(self):
        return f"{self.commune} — API Particulier"

    @property
    def usable(self) -> bool:
        return self.enabled and bool(self.token)
