"""Writes of the procedure builder (issue 21): create, copy, import, take from the library; edit
the draft; publish it as a new version; restore an older one; switch on and off; share in the
library. Each one in one transaction with its audit row (`procedure.*`, labelled in the journal).

A procedure's `definition` is what citizens see (its current version's); the builder edits
`draft`, published by `publish`. A procedure never published is « brouillon » (not offered).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from parvis.accounts.services import audit
from parvis.communes.models import Commune, Service
from parvis.demarches import builder
from parvis.demarches.catalogue import PROCEDURE_COLUMNS, check_entry, service_for
from parvis.demarches.definitions import DefinitionError, in_reading_order, validate_definition
from parvis.demarches.models import Audience, LibraryEntry, Procedure, ProcedureVersion
from parvis.demarches.versions import record_version

SETTINGS = [
    "title",
    "category",
    "keywords",
    "description",
    "duration_minutes",
    "audience",
    "service",
    "auto_accept",
]


class BuilderError(Exception):
    """What the builder refuses, in French, to show next to what is wrong."""


def _locked(procedure: Procedure) -> Procedure:
    return Procedure.objects.select_for_update().select_related("commune").get(pk=procedure.pk)


def unique_slug(commune: Commune, title: str, *, taken: set[str] | None = None) -> str:
    base = slugify(title)[:70].strip("-") or "demarche"
    if base in {"mes-demandes", "suivi"}:
        base = f"demarche-{base}"
    if taken is None:
        taken = set(
            Procedure.objects.filter(commune=commune, slug__startswith=base).values_list(
                "slug", flat=True
            )
        )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def create_procedure(
    *,
    commune: Commune,
    actor,
    title: str,
    category: str,
    service: Service,
    audience: str = Audience.ANYONE,
    definition: dict | None = None,
    source: str = "",
    **columns,
) -> Procedure:
    """A new procedure, « brouillon » (not offered) until published."""
    if service.commune_id != commune.pk:
        raise BuilderError(_("Ce service appartient à une autre commune."))
    draft = builder.working_copy(definition)
    procedure = Procedure.objects.create(
        commune=commune,
        slug=unique_slug(commune, title),
        title=title,
        category=category,
        service=service,
        audience=audience,
        definition=draft,
        draft=draft,
        is_enabled=False,
        **columns,
    )
    audit(
        actor=actor,
        action="procedure.create",
        commune=commune,
        target=procedure,
        changes={"title": [None, title], "source": [None, source or _("nouvelle")]},
    )
    return procedure


def copy_procedure(*, procedure: Procedure, actor) -> Procedure:
    """« Copier »: a new brouillon with the same settings and the working definition."""
    columns = {
        key: getattr(procedure, key)
        for key in ("keywords", "description", "duration_minutes", "auto_accept")
    }
    return create_procedure(
        commune=procedure.commune,
        actor=actor,
        title=_("Copie de %(title)s") % {"title": procedure.title},
        category=procedure.category,
        service=procedure.service,
        audience=procedure.audience,
        definition=procedure.working_definition,
        source=procedure.title,
        emails=dict(procedure.emails),
        processing_days=procedure.processing_days,
        **columns,
    )


def export_entry(procedure: Procedure) -> dict:
    """The procedure as a catalogue entry (catalogue.py's format), its working definition."""
    return in_reading_order(
        {
            "slug": procedure.slug,
            "title": procedure.title,
            "category": procedure.category,
            "keywords": procedure.keywords,
            "description": procedure.description,
            "duration_minutes": procedure.duration_minutes,
            "audience": procedure.audience,
            "service_kind": procedure.service.kind,
            "auto_accept": procedure.auto_accept,
            "effect": "",
            "position": procedure.position,
            "definition": procedure.working_definition,
        }
    )


def create_from_entry(*, commune: Commune, entry, actor, source: str) -> Procedure:
    """A brouillon from a catalogue entry (the library, an imported file), checked first:
    DefinitionError says what is wrong, in French."""
    entry = check_entry(entry)
    for key, longest in (("title", 200), ("category", 80), ("keywords", 300)):
        if len(entry[key]) > longest:
            raise DefinitionError(
                _("« %(key)s » dépasse %(n)s caractères.") % {"key": key, "n": longest}
            )
    if not 1 <= entry["duration_minutes"] <= 32767:
        raise DefinitionError(_("« duration_minutes » doit être un nombre de minutes."))
    columns = {
        key: entry[key]
        for key in PROCEDURE_COLUMNS
        if key not in {"title", "category", "audience", "definition", "effect", "position"}
    }
    return create_procedure(
        commune=commune,
        actor=actor,
        title=entry["title"],
        category=entry["category"],
        service=service_for(commune, entry["service_kind"]),
        audience=entry["audience"],
        definition=entry["definition"],
        source=source,
        **columns,
    )


@transaction.atomic
def save_draft(*, procedure: Procedure, actor, definition: dict, what: str) -> Procedure:
    """Keep an edit of the definition in the draft (not seen by citizens before `publish`)."""
    locked = _locked(procedure)
    locked.draft = definition
    fields = ["draft"]
    if locked.current_version_id is None:
        locked.definition = definition  # never published: nothing else to show
        fields.append("definition")
    locked.save(update_fields=fields)
    audit(
        actor=actor,
        action="procedure.update",
        commune=locked.commune,
        target=locked,
        changes={"modification": [None, what]},
    )
    procedure.draft, procedure.definition = locked.draft, locked.definition
    return locked


@transaction.atomic
def discard_draft(*, procedure: Procedure, actor) -> Procedure:
    """« Abandonner les modifications »: back to the published definition."""
    locked = _locked(procedure)
    if locked.current_version_id is None or locked.draft is None:
        raise BuilderError(_("Aucune modification à abandonner."))
    locked.draft = None
    locked.save(update_fields=["draft"])
    audit(
        actor=actor,
        action="procedure.update",
        commune=locked.commune,
        target=locked,
        changes={"modification": [None, _("modifications abandonnées")]},
    )
    return locked


@transaction.atomic
def update_settings(*, procedure: Procedure, actor, **values) -> Procedure:
    """Title, category, duration, « possible sans compte », service, automatic acceptance…:
    they apply at once (they change no question)."""
    locked = _locked(procedure)
    if "service" in values and values["service"].commune_id != locked.commune_id:
        raise BuilderError(_("Ce service appartient à une autre commune."))
    changes = {}
    for key, value in values.items():
        if key not in SETTINGS:
            raise ValueError(key)
        old = getattr(locked, key)
        if old != value:
            changes[key] = [str(old), str(value)]
            setattr(locked, key, value)
    if changes:
        locked.save(update_fields=[key for key in values if key in changes])
        audit(
            actor=actor,
            action="procedure.update",
            commune=locked.commune,
            target=locked,
            changes=changes,
        )
    return locked


@transaction.atomic
def update_workflow(
    *, procedure: Procedure, actor, emails: dict, processing_days: int | None, confirmation: str
) -> Procedure:
    """The e-mail per status change, the target processing time (apply at once) and the
    confirmation message (part of the definition: kept in the draft)."""
    locked = _locked(procedure)
    for mail in emails.values():
        for text in (mail.get("subject", ""), mail.get("body", "")):
            unknown = builder.unknown_placeholders(text)
            if unknown:
                raise BuilderError(_("Repère inconnu : {%(name)s}.") % {"name": unknown[0]})
    changes = {}
    if locked.emails != emails:
        changes["emails"] = [len(locked.emails), len(emails)]
        locked.emails = emails
    if locked.processing_days != processing_days:
        changes["processing_days"] = [locked.processing_days, processing_days]
        locked.processing_days = processing_days
    definition = builder.working_copy(locked.working_definition)
    if definition.get("confirmation", "") != confirmation:
        changes["confirmation"] = [definition.get("confirmation", ""), confirmation]
        if confirmation:
            definition["confirmation"] = confirmation
        else:
            definition.pop("confirmation", None)
        locked.draft = definition
        if locked.current_version_id is None:
            locked.definition = definition
    if changes:
        locked.save(update_fields=["emails", "processing_days", "draft", "definition"])
        audit(
            actor=actor,
            action="procedure.update",
            commune=locked.commune,
            target=locked,
            changes=changes,
        )
    return locked


@transaction.atomic
def publish(*, procedure: Procedure, actor) -> ProcedureVersion:
    """The draft becomes version n+1, the one citizens now see; requests already started keep
    their version. A definition that does not pass definitions.py's checks is refused
    (DefinitionError, in French, saying where)."""
    locked = _locked(procedure)
    if locked.draft is None:
        raise BuilderError(_("Aucune modification à publier."))
    definition = validate_definition(locked.draft)
    old = locked.current_version.number if locked.current_version_id else None
    version = record_version(procedure=locked, definition=definition, actor=actor)
    locked.draft = None
    if old is None:
        locked.is_enabled = True  # a first publication offers it; a switched-off one stays off
    locked.save(update_fields=["draft", "is_enabled"])
    audit(
        actor=actor,
        action="procedure.publish",
        commune=locked.commune,
        target=locked,
        changes={"version": [old, version.number]},
    )
    return version


@transaction.atomic
def restore(*, procedure: Procedure, version: ProcedureVersion, actor) -> ProcedureVersion:
    """An older version published again, as version n+1 (history never changes); the draft
    is dropped."""
    locked = _locked(procedure)
    if version.procedure_id != locked.pk:
        raise BuilderError(_("Cette version est celle d'une autre démarche."))
    old = locked.current_version.number if locked.current_version_id else None
    new = record_version(
        procedure=locked,
        definition=version.definition,
        actor=actor,
        note=_("Restauration de la version %(number)s") % {"number": version.number},
    )
    locked.draft = None
    locked.save(update_fields=["draft"])
    audit(
        actor=actor,
        action="procedure.restore",
        commune=locked.commune,
        target=locked,
        changes={"version": [old, new.number], "restored": [None, version.number]},
    )
    return new


@transaction.atomic
def set_enabled(*, procedure: Procedure, actor, enabled: bool) -> Procedure:
    """« Désactiver » / « Réactiver » a published procedure."""
    locked = _locked(procedure)
    if enabled and locked.current_version_id is None:
        raise BuilderError(_("Publiez d'abord la démarche."))
    if locked.is_enabled != enabled:
        audit(
            actor=actor,
            action="procedure.state",
            commune=locked.commune,
            target=locked,
            changes={"is_enabled": [locked.is_enabled, enabled]},
        )
        locked.is_enabled = enabled
        locked.save(update_fields=["is_enabled"])
    return locked


@transaction.atomic
def share(*, procedure: Procedure, actor) -> LibraryEntry:
    """« Partager dans la bibliothèque »: the published version, for every commune to copy."""
    locked = _locked(procedure)
    if locked.current_version_id is None:
        raise BuilderError(_("Publiez d'abord la démarche."))
    entry = export_entry(locked)
    entry["definition"] = in_reading_order(locked.definition)
    check_entry(entry)
    shared = LibraryEntry.objects.create(
        slug=locked.slug,
        title=locked.title,
        category=locked.category,
        description=locked.description,
        entry=entry,
        shared_by=locked.commune,
    )
    audit(
        actor=actor,
        action="procedure.share",
        commune=locked.commune,
        target=locked,
        changes={"version": [None, locked.current_version.number]},
    )
    return shared


__all__ = ["BuilderError", "DefinitionError"]
