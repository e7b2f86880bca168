"""Demo data of online payment: the two demo communes with a régie pay through the simulator
(« Payer » on « Mon compte » works without any bank). Idempotent; run after billing's loaders
(parvis/portal/management/commands/load_demo.py)."""

from __future__ import annotations

from django.db import transaction

from parvis.billing.demo import SLUG, SLUG_CSS
from parvis.communes.models import Commune
from parvis.payments.models import Provider, ProviderConfig


@transaction.atomic
def load() -> None:
    for commune in Commune.objects.filter(slug__in=[SLUG, SLUG_CSS]):
        ProviderConfig.objects.get_or_create(
            commune=commune, defaults={"provider": Provider.SIMULATEUR}
        )
