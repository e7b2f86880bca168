"""The wizard's forms as its pages use them: a step's fields with the files already joined, a
step's stored answers as form data (to check them again before « Valider »), the valid part of a
step sent with errors, and the name and e-mail the steps already asked."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils.datastructures import MultiValueDict

from parvis.demarches.definitions import all_fields
from parvis.demarches.forms import ADDRESS_PARTS, StepForm


@dataclass
class FieldItem:
    """A field of a step as the page shows it: the files already joined to a file field, and
    the group (a new file or a stored document) when the family's documents are offered."""

    field: forms.BoundField
    files: list[str]
    group: object = None
    choice: forms.BoundField | None = None


def field_items(form: StepForm, attached: dict) -> list[FieldItem]:
    """The visible fields of `form`, a stored document's choice shown in its file field's
    group; `attached`: {file field: names of the files joined in the draft}."""
    choices = set(form.document_fields.values())
    items = []
    for field in form.visible_fields():
        if field.name in choices:
            continue  # shown in its file field's group
        files = attached.get(field.name, []) if field.widget_type == "clearablefile" else []
        group = form.file_groups.get(field.name)
        items.append(
            FieldItem(
                field=field,
                files=files,
                group=group,
                choice=form[group.choice] if group else None,
            )
        )
    return items


def valid_part(form: StepForm) -> dict:
    """The answers of a step sent with errors, without those in error."""
    in_error = {name.split("__", 1)[0] for name in form.errors}
    return {name: value for name, value in form.cleaned_answers().items() if name not in in_error}


def as_data(procedure_step: dict, answers: dict) -> MultiValueDict:
    """A step's stored answers as the form data that would give them, to check them again."""
    data = MultiValueDict()
    for spec in procedure_step["fields"]:
        name, value = spec["name"], answers.get(spec["name"])
        if value is None or spec["type"] == "file":
            continue
        if spec["type"] == "address" and isinstance(value, dict):
            for part in ADDRESS_PARTS:
                data[f"{name}__{part}"] = value.get(part, "")
        elif spec["type"] == "member" and isinstance(value, dict):
            data[name] = str(value.get("id", ""))
        elif isinstance(value, list):
            data.setlist(name, [str(item) for item in value])
        else:
            data[name] = str(value)
    return data


def contact_initial(definition: dict, answers: dict) -> dict:
    """The requester's name and e-mail when the steps already asked them: the fields an account
    would pre-fill with its own name and e-mail, else the first e-mail answer."""
    found: dict[str, str] = {}
    for spec in all_fields(definition):
        value = answers.get(spec["name"])
        if not value or not isinstance(value, str):
            continue
        found.setdefault(spec.get("prefill", ""), value)
        if spec["type"] == "email":
            found.setdefault("email", value)
    name = " ".join(filter(None, [found.get("user.first_name"), found.get("user.last_name")]))
    email = found.get("user.email") or found.get("email")
    return {
        key: value for key, value in (("contact_name", name), ("contact_email", email)) if value
    }
