"""The builder's edits of a definition (issue 21), as pure functions on a copy: steps and fields
added, changed, moved and removed, and where a broken definition is wrong. The writes that keep
them are parvis.demarches.services_builder; the checks are definitions.py's, the same as the
citizen's wizard and the admin rely on.

A draft may be unfinished (a step without its fields yet): only publishing requires
`validate_definition` to pass; each field is checked with the fields before it when it is saved.
"""

from __future__ import annotations

import copy
import re

from django.utils.text import slugify

from parvis.demarches.definitions import DefinitionError, validate_definition

STARTER = {"steps": [{"title": "Ma demande", "fields": []}]}
CONDITION_TYPES = {"choice", "multiple", "yesno"}  # the fields « afficher si » may look at
YESNO_VALUES = [["oui", "Oui"], ["non", "Non"]]

# The placeholders of the e-mails sent at each status change.
PLACEHOLDERS = {
    "numero": "DEM-2026-000123",
    "demarche": "Demande d'acte de naissance",
    "nom": "Françoise DURAND",
    "etat": "Acceptée",
    "commune": "Carrières-sous-Poissy",
    "lien_suivi": "https://parvis.example.fr/carrieres-sous-poissy/demarches/suivi/",
}
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")

_WHERE_RE = re.compile(r"^Étape (\d+)(?:, champ (\d+))?")


def working_copy(definition: dict | None) -> dict:
    return copy.deepcopy(definition if definition is not None else STARTER)


def field_names(definition: dict) -> list[str]:
    return [f["name"] for step in definition.get("steps", []) for f in step.get("fields", [])]


def find_field(definition: dict, name: str) -> tuple[int, int] | None:
    """(step index, field index) of the field `name`, or None."""
    for s, step in enumerate(definition.get("steps", [])):
        for f, field in enumerate(step.get("fields", [])):
            if field.get("name") == name:
                return s, f
    return None


def fields_before(definition: dict, step_index: int, field_index: int) -> list[dict]:
    """The fields that come before a place: those « afficher si » may look at."""
    before = []
    for s, step in enumerate(definition["steps"]):
        for f, field in enumerate(step.get("fields", [])):
            if (s, f) >= (step_index, field_index):
                return before
            before.append(field)
    return before


def condition_values(field: dict) -> list[list[str]]:
    """The values a condition on `field` may test."""
    if field["type"] == "yesno":
        return YESNO_VALUES
    return field.get("choices", [])


def new_name(definition: dict, label: str) -> str:
    """A field name from its label, unique in the definition (« Nom » → nom, nom_2…)."""
    base = slugify(label).replace("-", "_")[:30].strip("_") or "champ"
    if not base[0].isalpha():
        base = f"champ_{base}"[:30]
    taken = set(field_names(definition))
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def check_field_in_place(definition: dict, step_index: int, field_index: int, field: dict):
    """Check `field` as it would stand at (step, index): its own attributes and its condition,
    which may look only at the fields before it. Raises DefinitionError."""
    before = fields_before(definition, step_index, field_index)
    validate_definition({"steps": [{"title": "—", "fields": [*before, field]}]})


def add_step(definition: dict, *, title: str, intro: str = "") -> dict:
    step = {"title": title, "fields": []}
    if intro:
        step["intro"] = intro
    definition["steps"].append(step)
    return definition


def update_step(definition: dict, index: int, *, title: str, intro: str = "") -> dict:
    step = definition["steps"][index]
    step["title"] = title
    if intro:
        step["intro"] = intro
    else:
        step.pop("intro", None)
    return definition


def remove_step(definition: dict, index: int) -> dict:
    del definition["steps"][index]
    return definition


def move(items: list, index: int, delta: int) -> bool:
    """Move items[index] up (-1) or down (+1); False at an end."""
    target = index + delta
    if not 0 <= index < len(items) or not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    return True


def set_field(definition: dict, step_index: int, field: dict, *, at: int | None = None) -> dict:
    """Replace the field of the same name where it is, or append it to the step."""
    fields = definition["steps"][step_index]["fields"]
    if at is not None:
        fields[at] = field
    else:
        fields.append(field)
    return definition


def remove_field(definition: dict, name: str) -> dict:
    place = find_field(definition, name)
    if place is not None:
        del definition["steps"][place[0]]["fields"][place[1]]
    return definition


def dependants(definition: dict, name: str) -> list[str]:
    """The labels of the fields shown only depending on the field `name`."""
    return [
        field["label"]
        for step in definition["steps"]
        for field in step.get("fields", [])
        if (field.get("show_if") or {}).get("field") == name
    ]


def problem(definition: dict) -> tuple[str, int | None, int | None] | None:
    """What keeps the definition from being published, in French, and where: (message, step
    number, field number) — numbers from 1, None where it is not about one step or field."""
    try:
        validate_definition(definition)
    except DefinitionError as error:
        message = str(error)
        match = _WHERE_RE.match(message)
        if match is None:
            return message, None, None
        step, field = match.groups()
        return message, int(step), int(field) if field else None
    return None


def render_placeholders(text: str, values: dict) -> str:
    """`text` with each {placeholder} replaced (unknown ones stay as typed)."""
    return PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def unknown_placeholders(text: str) -> list[str]:
    return sorted({m for m in PLACEHOLDER_RE.findall(text) if m not in PLACEHOLDERS})
