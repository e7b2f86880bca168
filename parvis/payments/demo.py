"""Demo data of online payment: the two demo communes with a régie pay through the simulator
(« Payer » on « Mon compte » works without any bank). Idempotent; run after billing's loaders
(parvis/portal/management/commands/load_demo.py).

Direct debit (issue 19): Carrières-sous-Poissy's « Régie enfance » has a SEPA creditor identifier
(a made-up ICS with valid check digits, 14 days' notice, 5,00 € per reject), so « Mon compte »
offers DURAND to sign a mandate online; the LEROY family has a paper mandate recorded by
`csp-regie` (guichet › Régie › Prélèvements › Mandats des familles)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from parvis.accounts.models import User
from parvis.billing.demo import REGIE_CODE, SLUG, SLUG_CSS
from parvis.billing.models import Regie
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.payments import sepa, services_sepa
from parvis.payments.models import (
    LIVE_MANDATE_STATUSES,
    CreditorSettings,
    Mandate,
    Provider,
    ProviderConfig,
)

DEMO_ICS = "FR" + sepa.ics_check_digits("FR", "555666") + "ZZZ555666"
DEMO_IBAN = "FR7630006000011234567890189"
LEROY_IBAN = "FR1420041010050500013M02606"


@transaction.atomic
def load() -> None:
    for commune in Commune.objects.filter(slug__in=[SLUG, SLUG_CSS]):
        ProviderConfig.objects.get_or_create(
            commune=commune, defaults={"provider": Provider.SIMULATEUR}
        )
    _direct_debit()


def _direct_debit() -> None:
    regie = Regie.objects.filter(commune__slug=SLUG, code=REGIE_CODE).first()
    if regie is None:
        return
    CreditorSettings.objects.get_or_create(
        regie=regie,
        defaults={
            "commune_id": regie.commune_id,
            "creditor_name": "REGIE ENFANCE CARRIERES SOUS POISSY",
            "ics": DEMO_ICS,
            "iban": DEMO_IBAN,
            "bic": "AGRIFRPPXXX",
            "notice_days": 14,
            "rejection_fee": Decimal("5.00"),
        },
    )
    leroy = Famille.objects.filter(commune_id=regie.commune_id, name="LEROY").first()
    agent = User.objects.filter(username="csp-regie").first()
    if leroy is None or agent is None:
        return
    if Mandate.objects.filter(
        famille=leroy, regie=regie, status__in=LIVE_MANDATE_STATUSES
    ).exists():
        return
    services_sepa.record_paper_mandate(
        regie=regie,
        famille=leroy,
        actor=agent,
        holder_name="Nadia LEROY",
        iban=LEROY_IBAN,
        signed_on=date(2025, 9, 1),
        rum="ENF-LEROY-2025-0001",
    )
