"""The procedures Parvis ships: one JSON file per procedure in `catalogue/`, loaded into a commune.

A file holds the columns of `Procedure` (but the commune and the service) and its definition::

    {"slug", "title", "category", "keywords", "description", "duration_minutes",
     "audience" ("anyone" | "account" | "family"),
     "service_kind" ("etat_civil" | "scolaire" | "enfance" | "regie" | "autre"),
     "auto_accept", "effect" ("" | "coordinates" | "paperless_invoice"), "position",
     "definition": {…}}            # see definitions.py

The instructing service is the commune's first service of `service_kind` (by position), else
its first service: a commune without a service of that kind still gets the procedure, and its
administrator reassigns it in the admin.

Loading is idempotent (one row per commune and slug, updated in place; a new or changed
definition is recorded as a new version, see versions.py). It leaves `is_enabled`
alone: a procedure the commune switched off stays off when the catalogue is loaded again.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from parvis.communes.models import Commune, Service, ServiceKind
from parvis.demarches.definitions import DefinitionError, validate_definition
from parvis.demarches.models import Audience, Effect, Procedure
from parvis.demarches.versions import record_version

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

ENTRY_TYPES = {
    "slug": str,
    "title": str,
    "category": str,
    "keywords": str,
    "description": str,
    "duration_minutes": int,
    "audience": str,
    "service_kind": str,
    "auto_accept": bool,
    "effect": str,
    "position": int,
    "definition": dict,
}
PROCEDURE_COLUMNS = [key for key in ENTRY_TYPES if key not in {"slug", "service_kind"}]


def check_entry(entry, *, name: str = "") -> dict:
    """Return a catalogue entry if it is sound, else raise DefinitionError naming the file."""
    where = f"{name} : " if name else ""
    if not isinstance(entry, dict):
        raise DefinitionError(f"{where}une démarche doit être un objet JSON.")
    missing = [key for key in ENTRY_TYPES if key not in entry]
    if missing:
        raise DefinitionError(f"{where}attribut manquant {missing[0]!r}.")
    unknown = sorted(set(entry) - set(ENTRY_TYPES))
    if unknown:
        raise DefinitionError(f"{where}attribut inconnu {unknown[0]!r}.")
    for key, kind in ENTRY_TYPES.items():
        value = entry[key]
        # bool is an int: a duration of `true` is refused.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise DefinitionError(f"{where}« {key} » n'a pas le bon type.")
    if name and entry["slug"] != name:
        raise DefinitionError(f"{where}« slug » doit être le nom du fichier ({name!r}).")
    choices = {
        "audience": Audience.values,
        "service_kind": ServiceKind.values,
        "effect": Effect.values,
    }
    for key, allowed in choices.items():
        if entry[key] not in allowed:
            raise DefinitionError(f"{where}« {key} » vaut {', '.join(map(repr, allowed))}.")
    for key in ("title", "category", "slug"):
        if not entry[key].strip():
            raise DefinitionError(f"{where}« {key} » est vide.")
    try:
        validate_definition(entry["definition"])
    except DefinitionError as error:
        raise DefinitionError(f"{where}{error}") from error
    return entry


def catalogue_entries() -> list[dict]:
    """Every shipped procedure, checked, sorted by category, position and slug."""
    entries = []
    for path in sorted(CATALOGUE_DIR.glob("*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DefinitionError(f"{path.name} : JSON invalide ({error}).") from error
        entries.append(check_entry(entry, name=path.stem))
    return sorted(entries, key=lambda e: (e["category"], e["position"], e["slug"]))


def service_for(commune: Commune, kind: str, services: list[Service] | None = None) -> Service:
    """The commune's first service of `kind` by position, else its first service."""
    if services is None:
        services = list(Service.objects.filter(commune=commune).order_by("position", "name", "pk"))
    if not services:
        raise ValueError(
            f"La commune {commune} n'a aucun service : créez-en un avant de charger les démarches."
        )
    return next((s for s in services if s.kind == kind), services[0])


@transaction.atomic
def load_catalogue(commune: Commune) -> list[Procedure]:
    """Create or update the shipped procedures of `commune` (idempotent)."""
    services = list(Service.objects.filter(commune=commune).order_by("position", "name", "pk"))
    procedures = []
    for entry in catalogue_entries():
        defaults = {key: entry[key] for key in PROCEDURE_COLUMNS}
        defaults["service"] = service_for(commune, entry["service_kind"], services)
        procedure, _created = Procedure.objects.update_or_create(
            commune=commune, slug=entry["slug"], defaults=defaults
        )
        current = procedure.current_version
        if current is None or current.definition != procedure.definition:
            # A new or changed shipped definition is a new version; requests keep theirs.
            record_version(
                procedure=procedure, definition=procedure.definition, note="Catalogue Parvis"
            )
        procedures.append(procedure)
    return procedures
