"""The shipped procedures in both demo communes. Idempotent, like communes.demo: run after the
communes (which create the instructing services) and the families."""

from __future__ import annotations

from django.db import transaction

from parvis.communes.models import Commune
from parvis.demarches.catalogue import load_catalogue
from parvis.demarches.models import Procedure

DEMO_COMMUNES = ["carrieres-sous-poissy", "carrieres-sur-seine"]


@transaction.atomic
def load() -> dict[str, list[Procedure]]:
    return {slug: load_catalogue(Commune.objects.get(slug=slug)) for slug in DEMO_COMMUNES}
