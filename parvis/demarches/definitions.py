"""Procedures are declared, not coded: a definition is a dict (stored as JSON, edited in the admin)
checked by `validate_definition` before it is saved or loaded.

Shape of a definition::

    {
      "steps": [                                  # at least one; the wizard adds the summary step
        {
          "title": "Ma demande",                  # « 1 - MA DEMANDE »
          "intro": "…",                            # optional text above the fields
          "fields": [
            {
              "name": "type_acte",                # [a-z][a-z0-9_]*, unique in the definition
              "label": "Type de copie",
              "type": "choice",                   # one of FIELD_TYPES
              "required": true,                   # default true (false for yesno/multiple/file)
              "help": "…",                         # optional help text
              "choices": [["integrale", "Copie intégrale"], …],   # choice, multiple
              "min_length": 2, "max_length": 200, # text, textarea
              "pattern": "^[0-9]{5}$", "pattern_message": "…",   # text
              "min": 0, "max": 10,                # number (integers)
              "min_date": "1900-01-01" | "today" | "today-16y" | "today+30d",   # date
              "max_date": …,
              "show_if": {"field": "livraison", "equals": "courrier"}  # or "in": [..]
              "prefill": "user.email",            # see PREFILL_SOURCES, for logged-in users
              "member_kind": "enfant",            # member: "enfant", "responsable" or absent
              "document_types": ["piece_identite"]   # file: the stored documents that fit
            }, …
          ]
        }, …
      ],
      "documents": ["Copie d'une pièce d'identité", …],   # listed to the requester, optional
      "confirmation": "Votre demande sera traitée sous 5 jours ouvrés."  # optional
    }

`show_if` points at a field of the same or an earlier step. A field whose condition is not met is
neither required nor kept. The other attributes of a procedure (title, category, audience,
service, automatic acceptance, effect…) are columns of `Procedure`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.utils import timezone

from parvis.families.models import DocumentType

FIELD_TYPES = {
    "text",  # one line
    "textarea",  # several lines
    "number",  # integer
    "date",
    "choice",  # one of `choices` (radio buttons)
    "multiple",  # several of `choices` (checkboxes)
    "yesno",  # Oui / Non (radio buttons)
    "email",
    "phone",  # French phone number
    "address",  # street, postal code, city: one answer {"street", "postal_code", "city"}
    "file",  # PDF, JPEG or PNG, 10 MB
    "member",  # a member of the requester's household (account holders linked to a family)
}
PREFILL_SOURCES = {
    "user.email",
    "user.civility",
    "user.first_name",
    "user.last_name",
    "user.phone",
    "user.address",  # the account's address, as an "address" answer
}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
RELATIVE_DATE_RE = re.compile(r"^today(?:([+-])(\d+)([dy]))?$")
KNOWN_KEYS = {
    "name", "label", "type", "required", "help", "choices", "min_length", "max_length",
    "pattern", "pattern_message", "min", "max", "min_date", "max_date", "show_if", "prefill",
    "member_kind", "document_types",
}  # fmt: skip


class DefinitionError(ValueError):
    """A broken definition, with where and what (in French, for the administrator)."""


def resolve_date(value: str, *, today: date | None = None) -> date:
    """« 2026-01-01 », « today », « today-16y », « today+30d » → a date."""
    today = today or timezone.localdate()
    match = RELATIVE_DATE_RE.match(value)
    if match is None:
        return date.fromisoformat(value)
    sign, amount, unit = match.groups()
    if sign is None:
        return today
    amount = int(amount) * (1 if sign == "+" else -1)
    if unit == "d":
        return today + timedelta(days=amount)
    try:
        return today.replace(year=today.year + amount)
    except ValueError:  # 29 February in a year without one: the 28th
        return today.replace(year=today.year + amount, day=28)


def _check_field(field, where: str, names_so_far: set[str]) -> None:
    if not isinstance(field, dict):
        raise DefinitionError(f"{where} : un champ doit être un objet.")
    unknown = set(field) - KNOWN_KEYS
    if unknown:
        raise DefinitionError(f"{where} : attribut inconnu {sorted(unknown)[0]!r}.")
    name = field.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise DefinitionError(f"{where} : « name » manquant ou invalide (minuscules, chiffres, _).")
    if name in names_so_far:
        raise DefinitionError(f"{where} : le nom {name!r} est déjà utilisé.")
    where = f"{where} ({name})"
    if not isinstance(field.get("label"), str) or not field["label"].strip():
        raise DefinitionError(f"{where} : « label » manquant.")
    kind = field.get("type")
    if kind not in FIELD_TYPES:
        raise DefinitionError(
            f"{where} : type {kind!r} inconnu ({', '.join(sorted(FIELD_TYPES))})."
        )
    if "required" in field and not isinstance(field["required"], bool):
        raise DefinitionError(f"{where} : « required » doit valoir true ou false.")
    if kind in {"choice", "multiple"}:
        choices = field.get("choices")
        if not isinstance(choices, list) or not choices:
            raise DefinitionError(f"{where} : « choices » doit lister au moins un choix.")
        values = []
        for choice in choices:
            if not (
                isinstance(choice, list)
                and len(choice) == 2
                and all(isinstance(c, str) for c in choice)
            ):
                raise DefinitionError(f"{where} : chaque choix est une paire [valeur, libellé].")
            values.append(choice[0])
        if len(set(values)) != len(values):
            raise DefinitionError(f"{where} : deux choix ont la même valeur.")
    elif "choices" in field:
        raise DefinitionError(
            f"{where} : « choices » ne s'applique qu'aux types choice et multiple."
        )
    for key in ("min_length", "max_length", "min", "max"):
        if key in field and (not isinstance(field[key], int) or isinstance(field[key], bool)):
            raise DefinitionError(f"{where} : « {key} » doit être un entier.")
    if (
        "min_length" in field
        and "max_length" in field
        and field["min_length"] > field["max_length"]
    ):
        raise DefinitionError(f"{where} : « min_length » dépasse « max_length ».")
    if "min" in field and "max" in field and field["min"] > field["max"]:
        raise DefinitionError(f"{where} : « min » dépasse « max ».")
    if "pattern" in field:
        if kind not in {"text", "textarea"}:
            raise DefinitionError(
                f"{where} : « pattern » ne s'applique qu'aux types text et textarea."
            )
        try:
            re.compile(field["pattern"])
        except (re.error, TypeError) as error:
            raise DefinitionError(
                f"{where} : « pattern » n'est pas une expression valide."
            ) from error
    for key in ("min_date", "max_date"):
        if key in field:
            if kind != "date":
                raise DefinitionError(f"{where} : « {key} » ne s'applique qu'au type date.")
            try:
                resolve_date(field[key])
            except (ValueError, TypeError, OverflowError) as error:
                raise DefinitionError(
                    f"{where} : « {key} » doit être une date AAAA-MM-JJ ou today, today-16y…"
                ) from error
    if (
        "min_date" in field
        and "max_date" in field
        and resolve_date(field["min_date"]) > resolve_date(field["max_date"])
    ):
        raise DefinitionError(f"{where} : « min_date » est après « max_date ».")
    if "prefill" in field and field["prefill"] not in PREFILL_SOURCES:
        raise DefinitionError(
            f"{where} : « prefill » inconnu ({', '.join(sorted(PREFILL_SOURCES))})."
        )
    if "document_types" in field and (
        kind != "file"
        or not isinstance(field["document_types"], list)
        or not field["document_types"]
        or any(value not in DocumentType.values for value in field["document_types"])
    ):
        raise DefinitionError(
            f"{where} : « document_types » liste des types de documents "
            f"({', '.join(DocumentType.values)}), pour le type file."
        )
    if "member_kind" in field and (
        kind != "member" or field["member_kind"] not in {"enfant", "responsable"}
    ):
        raise DefinitionError(
            f"{where} : « member_kind » vaut enfant ou responsable, pour le type member."
        )


def validate_definition(definition) -> dict:
    """Return the definition if it is sound, else raise DefinitionError saying where."""
    if not isinstance(definition, dict):
        raise DefinitionError("La définition doit être un objet JSON.")
    unknown = set(definition) - {"steps", "documents", "confirmation"}
    if unknown:
        raise DefinitionError(f"Attribut inconnu {sorted(unknown)[0]!r}.")
    steps = definition.get("steps")
    if not isinstance(steps, list) or not steps:
        raise DefinitionError("« steps » doit lister au moins une étape.")
    fields_by_name: dict[str, dict] = {}
    for s, step in enumerate(steps, start=1):
        where = f"Étape {s}"
        if (
            not isinstance(step, dict)
            or not isinstance(step.get("title"), str)
            or not step["title"]
        ):
            raise DefinitionError(f"{where} : « title » manquant.")
        extra = sorted(set(step) - {"title", "intro", "fields"})
        if extra:
            raise DefinitionError(f"{where} : attribut inconnu {extra[0]!r}.")
        fields = step.get("fields")
        if not isinstance(fields, list) or not fields:
            raise DefinitionError(f"{where} : « fields » doit lister au moins un champ.")
        for f, field in enumerate(fields, start=1):
            _check_field(field, f"{where}, champ {f}", set(fields_by_name))
            fields_by_name[field["name"]] = field
        for field in fields:
            condition = field.get("show_if")
            if condition is None:
                continue
            where_f = f"{where} ({field['name']})"
            if not isinstance(condition, dict) or set(condition) - {"field", "equals", "in"}:
                raise DefinitionError(f'{where_f} : « show_if » vaut {{"field": …, "equals": …}}.')
            target = condition.get("field")
            if target not in fields_by_name or target == field["name"]:
                raise DefinitionError(
                    f"{where_f} : « show_if » vise un champ de cette étape ou d'une précédente."
                )
            if ("equals" in condition) == ("in" in condition):
                raise DefinitionError(f"{where_f} : « show_if » demande « equals » ou « in ».")
            if "in" in condition and not isinstance(condition["in"], list):
                raise DefinitionError(f"{where_f} : « in » doit être une liste de valeurs.")
    documents = definition.get("documents", [])
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise DefinitionError("« documents » doit être une liste de textes.")
    if not isinstance(definition.get("confirmation", ""), str):
        raise DefinitionError("« confirmation » doit être un texte.")
    return definition


def all_fields(definition: dict) -> list[dict]:
    return [field for step in definition["steps"] for field in step["fields"]]


def is_required(field: dict) -> bool:
    return field.get("required", field["type"] not in {"yesno", "multiple", "file"})


def condition_met(field: dict, answers: dict) -> bool:
    condition = field.get("show_if")
    if condition is None:
        return True
    value = answers.get(condition["field"])
    if "equals" in condition:
        return (
            value == condition["equals"]
            if not isinstance(value, list)
            else condition["equals"] in value
        )
    return (
        value in condition["in"]
        if not isinstance(value, list)
        else bool(set(value) & set(condition["in"]))
    )


# The order an author reads a field in; PostgreSQL's jsonb keeps no key order, so the editor and
# the catalogue files show definitions in this order, whatever the database returns.
KEY_ORDER = [
    "title", "intro", "fields", "steps", "documents", "confirmation",
    "name", "label", "type", "required", "help", "choices", "min_length", "max_length",
    "pattern", "pattern_message", "min", "max", "min_date", "max_date", "show_if", "prefill",
    "member_kind", "document_types", "field", "equals", "in",
]  # fmt: skip


def in_reading_order(value):
    """The definition with every object's keys in KEY_ORDER (lists keep their order)."""
    if isinstance(value, dict):
        rank = {key: n for n, key in enumerate(KEY_ORDER)}
        return {
            key: in_reading_order(value[key])
            for key in sorted(value, key=lambda k: (rank.get(k, len(rank)), k))
        }
    if isinstance(value, list):
        return [in_reading_order(item) for item in value]
    return value
