"""A procedure's published versions (issue 21): publishing records a new, never-changed
version; a request keeps the version it started with (Demande.version)."""

from __future__ import annotations

from django.db.models import Max

from parvis.demarches.models import Procedure, ProcedureVersion


def record_version(*, procedure: Procedure, definition: dict, actor=None, note: str = ""):
    """Version n+1 of `procedure` holding `definition`, now the one citizens see. The caller
    holds the transaction (and the procedure's row lock)."""
    last = procedure.versions.aggregate(last=Max("number"))["last"] or 0
    version = ProcedureVersion.objects.create(
        commune_id=procedure.commune_id,
        procedure=procedure,
        number=last + 1,
        definition=definition,
        published_by=actor if actor is not None and actor.pk else None,
        published_by_label=(actor.get_full_name() or actor.get_username()) if actor else "",
        note=note[:200],
    )
    procedure.definition = definition
    procedure.current_version = version
    procedure.save(update_fields=["definition", "current_version"])
    return version
