"""Reads for the citizen's account pages, always scoped to the commune of the URL (and to the
account that asks)."""

from __future__ import annotations

from django.db.models import QuerySet

from parvis.accounts.models import User
from parvis.communes.models import Commune, Service


def resettable_account(*, commune: Commune, pk: int) -> User | None:
    """The citizen account `pk` of `commune` whose password may be reset: active, not an
    agent's; None otherwise."""
    return User.objects.filter(pk=pk, commune=commune, is_active=True, is_staff=False).first()


def family_accesses(*, user: User, commune: Commune) -> QuerySet:
    """The account's links to the families of `commune`, with each family's members (by the
    families' name and number): two queries whatever their number. (accounts comes before
    families: the links are read through the account's reverse relation.)"""
    return (
        user.family_accesses.filter(commune=commune)
        .select_related("famille")
        .prefetch_related("famille__members")
        .order_by("famille__name", "famille__number")
    )


def key_services(*, commune: Commune) -> list[Service]:
    """The services of `commune` that give families a personal key."""
    return list(Service.objects.filter(commune=commune).exclude(key_label=""))
