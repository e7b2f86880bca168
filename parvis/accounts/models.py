from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from parvis.communes.tenancy import CommuneScopedManager


class Civility(models.TextChoices):
    MADAME = "mme", _("Madame")
    MONSIEUR = "m", _("Monsieur")


class User(AbstractUser):
    """A person who logs in: the operator (no commune, superuser), a commune's agents and
    administrators, and its citizens. Accounts belong to one commune and nothing crosses
    communes: the same e-mail may hold an account in two communes.

    `username` is the unique technical login (the admin's); citizens log in with their e-mail or
    their « code famille » within their commune (see `backends.CommuneBackend`)."""

    commune = models.ForeignKey(
        "communes.Commune",
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text=_("Vide pour l'opérateur de la plateforme, qui voit toutes les communes."),
    )
    civility = models.CharField(_("civilité"), max_length=3, choices=Civility.choices, blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    address = models.CharField(_("adresse"), max_length=200, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=120, blank=True)
    family_code = models.CharField(
        _("code famille"),
        max_length=20,
        blank=True,
        help_text=_("Identifiant remis au guichet, dans les communes en mode « code famille »."),
    )
    email_confirmed_at = models.DateTimeField(_("courriel confirmé le"), null=True, blank=True)
    must_choose_password = models.BooleanField(
        _("doit choisir son mot de passe"),
        default=False,
        help_text=_("Vrai pour un code famille remis au guichet, jusqu'à la première connexion."),
    )
    pending_email = models.EmailField(
        _("nouveau courriel à confirmer"),
        blank=True,
        help_text=_("Le courriel demandé, qui remplace l'ancien une fois confirmé."),
    )
    previous_login = models.DateTimeField(
        _("connexion précédente"),
        null=True,
        blank=True,
        help_text=_("La connexion d'avant la connexion en cours (« Dernière connexion le… »)."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            models.UniqueConstraint(
                "commune",
                Lower("email"),
                condition=~Q(email=""),
                name="user_email_unique_per_commune",
                violation_error_message=_("Un compte existe déjà avec ce courriel."),
            ),
            models.UniqueConstraint(
                fields=["commune", "family_code"],
                condition=~Q(family_code=""),
                name="user_family_code_unique_per_commune",
            ),
        ]

    @property
    def is_operator(self) -> bool:
        return self.is_active and self.is_superuser

    @property
    def certified_fields(self) -> tuple[str, ...]:
        """The fields a FranceConnect identity certifies on this account (never edited)."""
        try:
            self.franceconnect  # noqa: B018 — the reverse one-to-one, or DoesNotExist
        except ObjectDoesNotExist:
            return ()
        return CERTIFIED_FIELDS

    @property
    def greeting_name(self) -> str:
        """« Madame DURAND », as the seed greets."""
        parts = [self.get_civility_display(), self.last_name.upper()]
        return " ".join(p for p in parts if p) or self.first_name or self.email


class Agent(User):
    """A commune's agent, as its administrators manage them in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("agent")
        verbose_name_plural = _("agents")


class AgentRole(models.Model):
    """What an agent of a commune may work on: the services of one kind, or everything of the
    commune (administrateur)."""

    class Role(models.TextChoices):
        ENFANCE = "enfance", _("Enfance / périscolaire")
        SCOLAIRE = "scolaire", _("Affaires scolaires")
        ETAT_CIVIL = "etat_civil", _("État civil")
        REGIE = "regie", _("Régie")
        # Builds and publishes the commune's procedures (issue 21), nothing else.
        CONCEPTEUR = "concepteur", _("Concepteur de démarches")
        ADMINISTRATEUR = "administrateur", _("Administrateur")

    commune = models.ForeignKey("communes.Commune", on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agent_roles")
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("rôle d'agent")
        verbose_name_plural = _("rôles d'agents")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="agent_role_unique"),
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()}"

    def save(self, *args, **kwargs):
        # A role is always in the agent's own commune.
        self.commune_id = self.user.commune_id
        super().save(*args, **kwargs)


class Attempt(models.Model):
    """One try at something the portal throttles: a login, a service key, a sign-up. The lockout
    and rate-limit rules count these rows, which also serve as their log."""

    class Kind(models.TextChoices):
        # The two login doors are kinds of their own: an address's failures at the families'
        # door never throttle the agents' door (guichet), nor the reverse.
        LOGIN = "login", _("connexion")
        AGENT_LOGIN = "agent_login", _("connexion au guichet")
        # The administration (/admin/): the operator and the communes' administrators; its
        # attempts belong to no commune.
        ADMIN_LOGIN = "admin_login", _("connexion à l'administration")
        SERVICE_KEY = "service_key", _("clé de service")
        SIGNUP = "signup", _("création d'espace")
        PASSWORD_RESET = "password_reset", _("mot de passe oublié")
        # The current password typed in the personal space (password or e-mail change,
        # account deletion): a kind of its own, so that it neither locks nor is locked by the
        # login page (see services.check_current_password).
        CURRENT_PASSWORD = "current_password", _("mot de passe actuel (espace personnel)")
        DEMANDE = "demande", _("démarche sans compte")
        TRACKING = "tracking", _("suivi d'une démarche sans compte")
        # A bank's server notification that was not signed (or not readable): counted per
        # address so that the CSRF-exempt endpoint cannot be used to fill the exchanges' log.
        NOTIFICATION = "notification", _("notification de paiement non signée")

    commune = models.ForeignKey(
        "communes.Commune", on_delete=models.CASCADE, null=True, blank=True
    )  # none at the administration's door
    kind = models.CharField(max_length=16, choices=Kind.choices)
    identifier = models.CharField(max_length=254, blank=True)  # normalised e-mail, code, user id
    ip = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    blocked = models.BooleanField(
        default=False, help_text=_("Refusée sans vérification (blocage).")
    )
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("tentative")
        verbose_name_plural = _("tentatives")
        indexes = [
            models.Index(
                fields=["commune", "kind", "identifier", "-at"], name="attempt_identifier_idx"
            ),
            models.Index(fields=["kind", "ip", "-at"], name="attempt_ip_idx"),
            # The per-address limits of the login doors and keys, counted per commune.
            models.Index(fields=["commune", "kind", "ip", "-at"], name="attempt_commune_ip_idx"),
        ]

    def __str__(self):
        outcome = "ok" if self.succeeded else ("bloquée" if self.blocked else "échec")
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.identifier} {outcome}"


class AuditEntry(models.Model):
    """Who changed what, when: every state change made by an agent (and by citizens on their
    family file) writes one row, shown on the family file. A commune's row (its commune
    required: a table distributed by commune_id, README « Towards a distributed PostgreSQL
    (Citus) »); what concerns no commune (the operator's own account) is a PlatformAuditEntry,
    and accounts.services.audit chooses."""

    commune = models.ForeignKey("communes.Commune", on_delete=models.CASCADE)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)  # kept if the account goes
    action = models.CharField(max_length=80)  # e.g. "famille.create", "service_key.generate"
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    # The family concerned, as a plain id: families come after accounts in the app order.
    famille_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True)  # {"field": [old, new]}
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Scoped to the current commune when there is one (parvis.communes.tenancy).
    objects = CommuneScopedManager()

    class Meta:
        verbose_name = _("entrée du journal")
        verbose_name_plural = _("journal des modifications")
        ordering = ["-at", "-id"]
        indexes = [
            # What happened to one object, e.g. whether an agent was told of failed logins.
            models.Index(fields=["target_type", "target_id", "action"], name="audit_target_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"


class PlatformAuditEntry(models.Model):
    """The journal of what concerns no commune (the operator's own account): a few rows a year,
    kept apart from the communes' journal so that the latter's commune is required (a table
    distributed by commune_id cannot hold a row without it). Written by accounts.services.audit
    when its commune is None."""

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("entrée du journal de la plateforme")
        verbose_name_plural = _("journal de la plateforme")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"


class FranceConnectPlatform(models.TextChoices):
    """Where a commune's FranceConnect client talks to (its issuer's address: settings)."""

    PRODUCTION = "production", _("FranceConnect (production)")
    INTEGRATION = "integration", _("FranceConnect — plateforme d'intégration (essais)")
    # The local provider of parvis.accounts.franceconnect_provider: development and demo only
    # (PARVIS_FRANCECONNECT_DEMO), like the payment simulator.
    DEMO = "demo", _("Fournisseur d'identité de démonstration (développement)")


class FranceConnectConfig(models.Model):
    """A commune's FranceConnect client: « S'identifier avec FranceConnect » on its login and
    sign-up pages while `enabled`. The secret is typed in the admin and never shown back."""

    commune = models.OneToOneField(
        "communes.Commune",
        verbose_name=_("commune"),
        on_delete=models.CASCADE,
        related_name="franceconnect",
    )
    enabled = models.BooleanField(
        _("activé"),
        default=False,
        help_text=_("Affiche « S'identifier avec FranceConnect » aux familles."),
    )
    platform = models.CharField(
        _("plateforme"),
        max_length=12,
        choices=FranceConnectPlatform.choices,
        default=FranceConnectPlatform.PRODUCTION,
    )
    client_id = models.CharField(
        _("identifiant client (client_id)"),
        max_length=200,
        help_text=_("Donné par FranceConnect à l'inscription de la commune."),
    )
    client_secret = models.CharField(_("clé secrète (client_secret)"), max_length=256)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("FranceConnect de la commune")
        verbose_name_plural = _("FranceConnect des communes")

    def __str__(self):
        return f"{self.commune} — {self.get_platform_display()}"


class FranceConnectIdentity(models.Model):
    """The identity FranceConnect certified for an account (its `sub` is the key of the next
    logins). The civility, names and birth date come from it and cannot be edited afterwards."""

    commune = models.ForeignKey("communes.Commune", on_delete=models.CASCADE)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="franceconnect")
    sub = models.CharField(max_length=255)
    given_name = models.CharField(_("prénoms"), max_length=200)
    family_name = models.CharField(_("nom de naissance"), max_length=200)
    birthdate = models.DateField(_("date de naissance"), null=True, blank=True)
    gender = models.CharField(_("sexe"), max_length=10, blank=True)
    birthplace = models.CharField(_("lieu de naissance (code INSEE)"), max_length=10, blank=True)
    birthcountry = models.CharField(_("pays de naissance (code INSEE)"), max_length=10, blank=True)
    linked_at = models.DateTimeField(_("relié le"), auto_now_add=True)

    class Meta:
        verbose_name = _("identité FranceConnect")
        verbose_name_plural = _("identités FranceConnect")
        constraints = [
            models.UniqueConstraint(fields=["commune", "sub"], name="franceconnect_sub_unique"),
        ]

    def __str__(self):
        return f"{self.given_name} {self.family_name}"


# The account's fields that a FranceConnect identity certifies (never edited afterwards).
CERTIFIED_FIELDS = ("civility", "first_name", "last_name")
