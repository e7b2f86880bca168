"""Writes on communes and their administrators."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from parvis.accounts.models import User
from parvis.communes.models import Commune

COMMUNE_ADMIN_GROUP = "Administrateurs de commune"

# What a commune's administrator manages in the admin (their own commune only: the admin
# classes scope every query). Later issues add their models here.
COMMUNE_ADMIN_PERMISSIONS = {
    "communes": {
        "commune": ("view", "change"),
        "service": ("view", "add", "change", "delete"),
        "openingrange": ("view", "add", "change", "delete"),
        "closure": ("view", "add", "change", "delete"),
        "actualite": ("view", "add", "change", "delete"),
    },
    "accounts": {
        "agent": ("view", "add", "change", "delete"),
        "agentrole": ("view", "add", "change", "delete"),
        "auditentry": ("view",),
    },
    "demarches": {"procedure": ("view", "add", "change")},
    "families": {"requireddocument": ("view", "add", "change", "delete")},
    "activities": {
        "activity": ("view", "add", "change", "delete"),
        "unit": ("view", "add", "change", "delete"),
        "activityclosure": ("view", "add", "change", "delete"),
        "inscription": ("view", "change"),
    },
    "billing": {
        "regie": ("view", "add", "change", "delete"),
        "regieactivity": ("view", "add", "change", "delete"),
        "tariff": ("view", "add", "change", "delete"),
        "tariffbracket": ("view", "add", "change", "delete"),
        "penaltyrule": ("view", "add", "change", "delete"),
    },
    "payments": {
        "providerconfig": ("view", "add", "change"),
        "transaction": ("view",),
        "exchange": ("view",),
    },
}


@transaction.atomic
def ensure_commune_admin_group() -> Group:
    group, _created = Group.objects.get_or_create(name=COMMUNE_ADMIN_GROUP)
    codenames = [
        f"{action}_{model}"
        for models in COMMUNE_ADMIN_PERMISSIONS.values()
        for model, actions in models.items()
        for action in actions
    ]
    permissions = Permission.objects.filter(
        content_type__app_label__in=COMMUNE_ADMIN_PERMISSIONS.keys(), codename__in=codenames
    )
    group.permissions.set(permissions)
    return group


@transaction.atomic
def make_commune_admin(*, user: User, commune: Commune) -> User:
    """Give `user` the administration of `commune`, and of nothing else."""
    user.commune = commune
    user.is_staff = True
    user.is_superuser = False
    user.save(update_fields=["commune", "is_staff", "is_superuser"])
    user.groups.add(ensure_commune_admin_group())
    return user
