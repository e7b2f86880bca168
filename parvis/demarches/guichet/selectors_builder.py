"""Reads of the procedure builder: the commune's procedures with their state and usage, one
procedure (404 for another commune's), its versions, the library."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from parvis.communes.models import Commune
from parvis.demarches.catalogue import catalogue_entries
from parvis.demarches.models import LibraryEntry, Procedure, ProcedureVersion, Status
from parvis.ids import parse_id


def procedures(commune: Commune) -> QuerySet[Procedure]:
    """Every procedure of the commune with its filed requests counted (one query)."""
    return (
        Procedure.objects.filter(commune=commune)
        .select_related("current_version", "service")
        .annotate(filed=Count("demandes", filter=~Q(demandes__status=Status.BROUILLON)))
        .order_by("category", "position", "title")
    )


def procedure_for(commune: Commune, pk) -> Procedure:
    pk = parse_id(pk)
    procedure = (
        Procedure.objects.filter(commune=commune, pk=pk)
        .select_related("commune", "service", "current_version")
        .first()
        if pk is not None
        else None
    )
    if procedure is None:
        raise Http404
    return procedure


def versions(procedure: Procedure) -> QuerySet[ProcedureVersion]:
    return procedure.versions.annotate(
        filed=Count("demandes", filter=~Q(demandes__status=Status.BROUILLON))
    ).order_by("-number")


def version_for(procedure: Procedure, pk) -> ProcedureVersion:
    pk = parse_id(pk)
    version = procedure.versions.filter(pk=pk).first() if pk is not None else None
    if version is None:
        raise Http404
    return version


@dataclass(frozen=True)
class LibraryItem:
    key: str  # « parvis:<slug> » (shipped) or « partage:<pk> » (shared by a commune)
    title: str
    category: str
    description: str
    source: str
    entry: dict


def library(*, shipped_label: str) -> list[LibraryItem]:
    """The shipped procedures and those the communes shared, by category and title."""
    items = [
        LibraryItem(
            key=f"parvis:{entry['slug']}",
            title=entry["title"],
            category=entry["category"],
            description=entry["description"],
            source=shipped_label,
            entry=entry,
        )
        for entry in catalogue_entries()
    ]
    for shared in LibraryEntry.objects.select_related("shared_by"):
        items.append(
            LibraryItem(
                key=f"partage:{shared.pk}",
                title=shared.title,
                category=shared.category,
                description=shared.description,
                source=shared.shared_by.name if shared.shared_by else "",
                entry=shared.entry,
            )
        )
    return sorted(items, key=lambda item: (item.category, item.title, item.key))


def library_item(key: str, *, shipped_label: str) -> LibraryItem:
    found = next((i for i in library(shipped_label=shipped_label) if i.key == key), None)
    if found is None:
        raise Http404
    return found
