"""The household (« Famille ») held by the commune's services, its members, the accounts that
may act for it (« responsables »), and the service keys that link an account to it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from parvis.accounts.models import Civility
from parvis.communes.models import CommuneOwned, Service


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
