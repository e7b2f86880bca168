"""Reads of the guichet shell about agents themselves (their roles: parvis.accounts.agents; the
families' reads live in parvis.families.selectors)."""

from __future__ import annotations

from django.db.models import QuerySet

from parvis.communes.models import Commune, Service
from parvis.families import selectors as family_selectors


def agent_key_services(commune: Commune, agent) -> QuerySet[Service] | None:
    """The services of `commune` that give keys and that `agent` has charge of (all of them for
    an administrator), None when there is none (one query)."""
    services = family_selectors.key_services(commune, kinds=agent.service_kinds)
    return services if services.exists() else None
