"""Reads of the families' documents at the guichet, always scoped twice: to the commune in the URL
and to the agent. An agent sees the documents asked for by a service of a kind one of their roles
covers (the administrator, every service of the commune); a document stored outside any
administrative file (no service) is seen by the agents who may edit family files. Anything else
is a 404, whatever the action.

Also what the shell's family file (parvis.backoffice.views) shows of them: the family's documents,
QF history and administrative-file states, read in a fixed number of queries whatever the family's
size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import formats, timezone

from parvis.accounts.agents import Agent
from parvis.communes.models import Commune, Service
from parvis.families.documents import DossierState, dossier_state, school_year_of
from parvis.families.models import (
    Document,
    DocumentStatus,
    Famille,
    QuotientFamilial,
    RequiredDocument,
)

NO_SERVICE = "sans"  # the queue's filter value for the documents stored outside any file


def with_state(documents, today: date):
    """Each document with `current_state` and `current_state_label` (expiry derived today), for
    templates, which cannot pass `today` to Document.state."""
    for document in documents:
        document.current_state = document.state(today)
        document.current_state_label = document.state_label(today)
    return documents


def plain_number(number) -> str:
    """A number of parts as people write it: « 3 », « 2,5 », « 0,25 »."""
    number = Decimal(number)
    number = number.quantize(Decimal(1)) if number == number.to_integral() else number.normalize()
    return formats.number_format(number, use_l10n=True)


def may_see(agent: Agent, document: Document) -> bool:
    """The rule of `visible_documents` for a document already read (its service loaded)."""
    if document.service_id is None:
        return agent.can_edit_families
    return agent.covers(document.service)


def visible_documents(commune: Commune, agent: Agent) -> QuerySet[Document]:
    """Every document of `commune` that `agent` may see."""
    documents = Document.objects.filter(commune=commune, famille__commune=commune)
    scope = Q(service__commune=commune)
    if agent.service_kinds is not None:
        scope &= Q(service__kind__in=agent.service_kinds)
    if agent.can_edit_families:
        scope |= Q(service__isnull=True)
    return documents.filter(scope)


def visible_services(commune: Commune, agent: Agent) -> QuerySet[Service]:
    """The commune's services whose documents the agent validates (the queue's filter)."""
    services = Service.objects.filter(commune=commune)
    if agent.service_kinds is not None:
        services = services.filter(kind__in=agent.service_kinds)
    return services.order_by("position", "name", "pk")


@dataclass(frozen=True)
class DocumentFilters:
    service: Service | None = None
    no_service: bool = False


def queue(commune: Commune, agent: Agent, filters: DocumentFilters) -> QuerySet[Document]:
    """The documents waiting for an agent (« déposé »), oldest first."""
    documents = visible_documents(commune, agent).filter(status=DocumentStatus.DEPOSE)
    if filters.no_service:
        documents = documents.filter(service__isnull=True)
    elif filters.service is not None:
        documents = documents.filter(service=filters.service)
    return documents.select_related("famille", "personne", "service").order_by("uploaded_at", "pk")


def documents_by_pks(commune: Commune, agent: Agent, pks: list[int]) -> dict[int, Document]:
    """{pk: document} of the given ones that the agent may see."""
    return {
        document.pk: document
        for document in visible_documents(commune, agent)
        .filter(pk__in=pks)
        .select_related("famille")
    }


def document_for(commune: Commune, agent: Agent, pk: int) -> Document:
    """One document the agent may see, or 404."""
    document = (
        visible_documents(commune, agent)
        .select_related("famille", "personne", "service", "uploaded_by", "reviewed_by")
        .filter(pk=pk)
        .first()
    )
    if document is None:
        raise Http404
    return document


def document_file(commune: Commune, agent: Agent, pk: int) -> Document:
    """A document with its history (`events`, their actors), in a constant number of queries."""
    document = (
        visible_documents(commune, agent)
        .select_related("famille", "personne", "service", "uploaded_by", "reviewed_by")
        .prefetch_related("events__actor")
        .filter(pk=pk)
        .first()
    )
    if document is None:
        raise Http404
    return document


def dossier_documents(commune: Commune, agent: Agent, pks) -> list[Document]:
    """The documents listed by a « dossier-administratif » request that the agent may see."""
    pks = [pk for pk in pks or [] if isinstance(pk, int)]
    if not pks:
        return []
    return list(
        visible_documents(commune, agent)
        .filter(pk__in=pks)
        .select_related("personne")
        .order_by("doc_type", "pk")
    )


# --- The family file -----------------------------------------------------------------------------


@dataclass
class FamilyPapers:
    """What the family file shows of documents and QF: three queries."""

    documents: list[Document]  # those the agent may see, newest first
    hidden: int  # how many others (of services the agent does not cover)
    quotients: list[QuotientFamilial]  # the history, newest first
    current_quotient: QuotientFamilial | None
    dossiers: list[DossierState]  # one per school year the commune set, the coming one first


def family_papers(famille: Famille, agent: Agent, *, today: date | None = None) -> FamilyPapers:
    """Documents, QF history and administrative files of a family read by `famille_file` (its
    `responsables` and `children` prefetched)."""
    today = today or timezone.localdate()
    documents = list(
        Document.objects.filter(commune_id=famille.commune_id, famille=famille)
        .select_related("personne", "service")
        .order_by("-uploaded_at", "-pk")
    )
    quotients = list(
        QuotientFamilial.objects.filter(commune_id=famille.commune_id, famille=famille)
        .select_related("created_by")
        .order_by("-valid_from", "-created_at", "-pk")
    )
    for quotient in quotients:  # a computed QF says its parts
        try:
            parts = (quotient.details or {}).get("parts")
            quotient.parts_label = plain_number(parts) if parts else ""
        except (InvalidOperation, TypeError, ValueError):
            quotient.parts_label = ""
    # As parvis.families.services.current_quotient: the valid one, the latest recorded first.
    current = next((q for q in quotients if q.valid_from <= today <= q.valid_until), None)
    requirements = list(
        RequiredDocument.objects.filter(
            commune_id=famille.commune_id, school_year__gte=school_year_of(today)
        )
        .select_related("service")
        .order_by("school_year", "position", "pk")
    )
    members = [*famille.responsables, *famille.children]
    dossiers = [
        dossier_state(
            requirements=[r for r in requirements if r.school_year == year],
            members=members,
            documents=documents,
            school_year=year,
            today=today,
            quotients=quotients,
        )
        for year in sorted({r.school_year for r in requirements}, reverse=True)
    ]
    visible = with_state([d for d in documents if may_see(agent, d)], today)
    return FamilyPapers(
        documents=visible,
        hidden=len(documents) - len(visible),
        quotients=quotients,
        current_quotient=current,
        dossiers=dossiers,
    )
