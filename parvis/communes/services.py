"""Writes on communes and their administrators."""

from collections.abc import Callable

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from parvis.communes.models import Commune, Service, ServiceKind

COMMUNE_ADMIN_GROUP = "Administrateurs de commune"

# The accounts (the user model, AUTH_USER_MODEL), the audit trail and the agents' roles live in
# parvis.accounts, above this app: this app never imports it. Accounts registers here, from its
# AppConfig.ready(), the writer of the audit trail and what a new administrator gets at the
# guichet (docs/ARCHITECTURE.md: a lower app calls a higher one only through a registered hook).
_AUDIT_WRITERS: list[Callable[..., object]] = []
_ADMINISTRATOR_HOOKS: list[Callable[..., object]] = []


def register_audit_writer(writer: Callable[..., object]) -> None:
    """`writer(actor=, action=, commune=, target=, changes=)` records one audit row."""
    if writer not in _AUDIT_WRITERS:
        _AUDIT_WRITERS.append(writer)


def register_administrator_hook(hook: Callable[..., object]) -> None:
    """`hook(user=, commune=)` runs when a commune's administrator is created."""
    if hook not in _ADMINISTRATOR_HOOKS:
        _ADMINISTRATOR_HOOKS.append(hook)


def _audit(**entry) -> None:
    if not _AUDIT_WRITERS:
        raise ImproperlyConfigured("No audit writer is registered (parvis.accounts installed?)")
    for writer in _AUDIT_WRITERS:
        writer(**entry)


# What a commune's administrator manages in the admin (their own commune only: the admin
# classes scope every query). Each app declares its own models on its AppConfig, as
# `commune_admin_permissions = {"model": ("view", "change"), …}`: this app never names the
# models of the apps above it.
def commune_admin_permissions() -> dict[str, dict[str, tuple[str, ...]]]:
    return {
        config.label: config.commune_admin_permissions
        for config in django_apps.get_app_configs()
        if getattr(config, "commune_admin_permissions", None)
    }


@transaction.atomic
def ensure_commune_admin_group() -> Group:
    group, _created = Group.objects.get_or_create(name=COMMUNE_ADMIN_GROUP)
    declared = commune_admin_permissions()
    codenames = [
        f"{action}_{model}"
        for models in declared.values()
        for model, actions in models.items()
        for action in actions
    ]
    permissions = Permission.objects.filter(
        content_type__app_label__in=declared.keys(), codename__in=codenames
    )
    group.permissions.set(permissions)
    return group


@transaction.atomic
def make_commune_admin(*, user: AbstractUser, commune: Commune) -> AbstractUser:
    """Give `user` the administration of `commune`, and of nothing else."""
    user.commune = commune
    user.is_staff = True
    user.is_superuser = False
    user.save(update_fields=["commune", "is_staff", "is_superuser"])
    user.groups.add(ensure_commune_admin_group())
    return user


# --- A new commune -------------------------------------------------------------------------------

# The services a new commune starts with, one per domain, so that every shipped procedure has a
# service to instruct it. The administrator renames them, sets their hours and adds others.
DEFAULT_SERVICES = [
    (
        ServiceKind.ENFANCE,
        gettext_noop("Accueils périscolaires et de loisirs"),
        gettext_noop("Clé Espace Citoyens Enfance"),
    ),
    (ServiceKind.SCOLAIRE, gettext_noop("Affaires scolaires"), ""),
    (ServiceKind.ETAT_CIVIL, gettext_noop("État civil"), ""),
    (ServiceKind.REGIE, gettext_noop("Régie centrale"), ""),
]

# What apps above this one add to a new commune (the démarches app loads its catalogue): lower
# apps never import higher ones, so the higher ones register here from their AppConfig.ready().
_SETUP_HOOKS: list[Callable[[Commune], object]] = []


def register_commune_setup(hook: Callable[[Commune], object]) -> None:
    if hook not in _SETUP_HOOKS:
        _SETUP_HOOKS.append(hook)


@transaction.atomic
def setup_commune(*, commune: Commune, actor: AbstractUser | None) -> Commune:
    """Give a commune just created what it needs to serve its first family: its default
    services (when it has none), then what the other apps register (procedures). Idempotent."""
    if not Service.objects.filter(commune=commune).exists():
        # Stored words: in the portal's language, not the one the operator reads the admin in.
        with translation.override(settings.LANGUAGE_CODE):
            services = [
                Service(
                    commune=commune,
                    kind=kind,
                    name=_(name),
                    key_label=_(key_label) if key_label else "",
                    position=position,
                )
                for position, (kind, name, key_label) in enumerate(DEFAULT_SERVICES, start=1)
            ]
        Service.objects.bulk_create(services)
    for hook in _SETUP_HOOKS:
        hook(commune)
    _audit(
        actor=actor,
        action="commune.creee",
        commune=commune,
        target=commune,
        changes={"slug": [None, commune.slug]},
    )
    return commune


@transaction.atomic
def create_commune(
    *,
    actor: AbstractUser | None,
    administrator: dict | None = None,
    **fields,
) -> Commune:
    """Create a commune from the model's fields (validated as the admin validates them), set it
    up, and, when `administrator` is given (username, email, password, first_name, last_name),
    create its first administrator."""
    commune = Commune(**fields)
    commune.full_clean()
    commune.save()
    setup_commune(commune=commune, actor=actor)
    if administrator:
        create_commune_administrator(commune=commune, actor=actor, **administrator)
    return commune


@transaction.atomic
def create_commune_administrator(
    *,
    commune: Commune,
    actor: AbstractUser | None,
    username: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
) -> AbstractUser:
    """An account that administers `commune` in the admin and is « administrateur » at its
    guichet."""
    User = get_user_model()
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    # Whatever its case: the login doors count attempts on the name in lower case, so « Admin »
    # and « admin » would share their locks.
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("Cet identifiant est déjà pris.")})
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    make_commune_admin(user=user, commune=commune)
    for hook in _ADMINISTRATOR_HOOKS:
        hook(user=user, commune=commune)
    _audit(
        actor=actor,
        action="commune.administrateur_cree",
        commune=commune,
        target=user,
        changes={"username": [None, username]},
    )
    return user
