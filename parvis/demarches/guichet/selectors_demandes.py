"""Reads of the agents' queue of requests (« demandes »), always scoped twice: to the commune in
the URL and to the agent's roles. An agent sees the requests whose procedure is instructed by a
service of a kind one of their roles covers; the administrator sees every request of the commune.
Drafts never leave their author."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from parvis.accounts.agents import Agent
from parvis.accounts.models import AgentRole, User
from parvis.communes.models import Commune
from parvis.demarches.models import (
    Demande,
    DemandeAttachment,
    DemandeMessage,
    Procedure,
    Status,
)

# The statuses an agent works with, in the order of the lifecycle.
QUEUE_STATUSES = [
    Status.EN_ATTENTE,
    Status.EN_COURS,
    Status.COMPLEMENT,
    Status.ACCEPTEE,
    Status.REFUSEE,
    Status.SANS_SUITE,
]
ME, NOBODY = "moi", "personne"


def visible_demandes(commune: Commune, agent: Agent) -> QuerySet[Demande]:
    """Every submitted request of `commune` that `agent` may see."""
    demandes = Demande.objects.filter(commune=commune, procedure__commune=commune).exclude(
        status=Status.BROUILLON
    )
    kinds = agent.service_kinds
    if kinds is not None:
        demandes = demandes.filter(procedure__service__kind__in=kinds)
    return demandes


def visible_procedures(commune: Commune, agent: Agent) -> QuerySet[Procedure]:
    procedures = Procedure.objects.filter(commune=commune)
    if agent.service_kinds is not None:
        procedures = procedures.filter(service__kind__in=agent.service_kinds)
    return procedures.order_by("title", "pk")


def assignable_agents(commune: Commune) -> QuerySet[User]:
    """The agents of the commune (for the « agent en charge » filter)."""
    agent_ids = AgentRole.objects.filter(commune=commune).values("user_id")
    return (
        User.objects.filter(commune=commune, is_staff=True, pk__in=agent_ids)
        .order_by("last_name", "first_name", "username")
        .distinct()
    )


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    procedure: Procedure | None = None
    older_than_days: int | None = None
    assigned: str = ""  # "", ME, NOBODY or a user's pk


def queue(commune: Commune, agent: Agent, filters: QueueFilters) -> QuerySet[Demande]:
    """The filtered queue, oldest first."""
    demandes = visible_demandes(commune, agent)
    if filters.status:
        demandes = demandes.filter(status=filters.status)
    if filters.procedure is not None:
        demandes = demandes.filter(procedure=filters.procedure)
    if filters.older_than_days:
        limit = timezone.now() - timedelta(days=filters.older_than_days)
        demandes = demandes.filter(submitted_at__lt=limit)
    if filters.assigned == ME:
        demandes = demandes.filter(assigned_to=agent.user)
    elif filters.assigned == NOBODY:
        demandes = demandes.filter(assigned_to=None)
    elif filters.assigned:
        demandes = demandes.filter(assigned_to_id=int(filters.assigned))
    return demandes.select_related("procedure", "requester", "assigned_to").order_by(
        "submitted_at", "pk"
    )


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


def status_counts(commune: Commune, agent: Agent) -> list[StatusCount]:
    """How many requests the agent's services have in each status (one query)."""
    rows = dict(
        visible_demandes(commune, agent)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [
        StatusCount(status=status, label=str(status.label), count=rows.get(status, 0))
        for status in QUEUE_STATUSES
    ]


def demandes_by_numbers(commune: Commune, agent: Agent, numbers: list[str]) -> dict[str, Demande]:
    """{number: request} of the given numbers that the agent may see."""
    return {
        demande.number: demande
        for demande in visible_demandes(commune, agent).filter(number__in=numbers)
    }


def demande_for(commune: Commune, agent: Agent, number: str) -> Demande:
    """One request, or 404 (another commune, a service the agent does not work for, a draft)."""
    demande = (
        visible_demandes(commune, agent)
        .select_related("procedure__service", "version", "requester", "assigned_to")
        .filter(number=number)
        .first()
    )
    if demande is None:
        raise Http404
    return demande


def demande_file(commune: Commune, agent: Agent, number: str) -> Demande:
    """A request with everything its page shows, in a constant number of queries."""
    demande = (
        visible_demandes(commune, agent)
        .select_related("procedure__service", "version", "requester", "assigned_to", "famille")
        .prefetch_related(
            "events",
            Prefetch(
                "messages",
                queryset=DemandeMessage.objects.prefetch_related("attachments"),
            ),
            Prefetch("attachments", queryset=DemandeAttachment.objects.all()),
        )
        .filter(number=number)
        .first()
    )
    if demande is None:
        raise Http404
    return demande


def attachment_for(commune: Commune, agent: Agent, number: str, pk: int) -> DemandeAttachment:
    """A file of a request the agent may see, or 404."""
    attachment = (
        DemandeAttachment.objects.filter(
            pk=pk, demande__in=visible_demandes(commune, agent).filter(number=number)
        )
        .select_related("demande")
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment
