"""Reads of the guichet that are about agents themselves (the families' reads live in
parvis.families.selectors)."""

from __future__ import annotations

from parvis.accounts.models import AgentRole, User
from parvis.communes.models import Commune


def agent_roles(user: User, commune: Commune) -> frozenset[str]:
    """The roles `user` holds in `commune` (one query)."""
    return frozenset(
        AgentRole.objects.filter(user=user, commune=commune).values_list("role", flat=True)
    )
