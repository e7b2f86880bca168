"""Reads on the families' documents and administrative files. The citizen's reads take the
account and the commune and reach only the families the account is linked to (anything else is
None or empty: the views answer 404); the agents' reads take the commune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from parvis.accounts.models import User
from parvis.communes.models import Commune
from parvis.families.documents import DossierState, dossier_state, school_year_of
from parvis.families.models import (
    Document,
    Famille,
    Personne,
    QuotientFamilial,
    RequiredDocument,
)
from parvis.families.selectors_citizen import _linked_families
from parvis.ids import parse_id


@dataclass
class FamilyDocuments:
    famille: Famille
    members: list[Personne]
    documents: list[Document]
    used: int


def _documents(queryset) -> QuerySet[Document]:
    return queryset.select_related("personne", "service").order_by("-uploaded_at", "-pk")


def citizen_documents(*, user: User, commune: Commune) -> list[FamilyDocuments]:
    """The stores of the families the account is linked to: three queries in all."""
    families = list(_linked_families(user=user, commune=commune))
    ids = [famille.pk for famille in families]
    documents = list(_documents(Document.objects.filter(commune=commune, famille_id__in=ids)))
    members = list(
        Personne.objects.filter(commune=commune, famille_id__in=ids).order_by(
            "kind", "birth_date", "pk"
        )
    )
    return [
        FamilyDocuments(
            famille=famille,
            members=[m for m in members if m.famille_id == famille.pk],
            documents=[d for d in documents if d.famille_id == famille.pk],
            used=sum(d.size for d in documents if d.famille_id == famille.pk),
        )
        for famille in families
    ]


def citizen_document(*, user: User, commune: Commune, pk) -> Document | None:
    """One document of a family the account is linked to; None for anything else."""
    pk = parse_id(pk)
    if pk is None:
        return None
    linked = _linked_families(user=user, commune=commune).values("pk")
    return (
        Document.objects.filter(pk=pk, commune=commune, famille_id__in=linked)
        .select_related("famille", "personne")
        .first()
    )


def dossier_years(*, commune: Commune, today: date | None = None) -> list[int]:
    """The school years the commune has set a file for, from the current one on (the coming
    year first: that is the one families prepare)."""
    today = today or timezone.localdate()
    years = (
        RequiredDocument.objects.filter(commune=commune, school_year__gte=school_year_of(today))
        .values_list("school_year", flat=True)
        .distinct()
    )
    return sorted(set(years), reverse=True)


def dossier(*, famille: Famille, school_year: int, today: date | None = None) -> DossierState:
    """The household's administrative file for `school_year`: four queries (the fourth, its QFs
    valid today: a current one fetched from API Particulier stands for the tax notice)."""
    today = today or timezone.localdate()
    requirements = list(
        RequiredDocument.objects.filter(commune_id=famille.commune_id, school_year=school_year)
        .select_related("service")
        .order_by("position", "pk")
    )
    members = list(famille.members.order_by("kind", "birth_date", "pk"))
    documents = list(famille.documents.select_related("personne"))
    quotients = list(famille.quotients.filter(valid_from__lte=today, valid_until__gte=today))
    return dossier_state(
        requirements=requirements,
        members=members,
        documents=documents,
        school_year=school_year,
        today=today,
        quotients=quotients,
    )


@dataclass
class HouseholdPapers:
    famille: Famille
    quotient: QuotientFamilial | None  # None: no QF, or an expired one
    documents: list[Document]


def household_papers(households, *, doc_types, today: date | None = None) -> list[HouseholdPapers]:
    """Per household (already scoped to the account by selectors_citizen.households): its
    current QF (the one families.services.current_quotient picks) and its documents of
    `doc_types`. Two queries whatever the number of households and documents."""
    from parvis.families.services import QF_LATEST_FIRST

    today = today or timezone.localdate()
    ids = [household.famille.pk for household in households]
    documents = {}
    for document in _documents(Document.objects.filter(famille_id__in=ids, doc_type__in=doc_types)):
        documents.setdefault(document.famille_id, []).append(document)
    quotients = {}
    for quotient in QuotientFamilial.objects.filter(
        famille_id__in=ids, valid_from__lte=today, valid_until__gte=today
    ).order_by("famille_id", *QF_LATEST_FIRST):
        quotients.setdefault(quotient.famille_id, quotient)
    return [
        HouseholdPapers(
            famille=household.famille,
            quotient=quotients.get(household.famille.pk),
            documents=documents.get(household.famille.pk, []),
        )
        for household in households
    ]
