"""Shared pieces of the direct-debit tests (issue 19 §1): a régie with its creditor settings, a
family's mandate signed through the services, the dates the tests use."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from django.utils import timezone

from parvis.accounts.models import AgentRole
from parvis.payments import sepa, services_sepa
from parvis.payments.models import CreditorSettings

ICS = "FR" + sepa.ics_check_digits("FR", "123456") + "ZZZ123456"
REGIE_IBAN = "FR7630006000011234567890189"
FAMILY_IBAN = "FR1420041010050500013M02606"  # La Banque Postale: BIC derived (PSSTFRPP)


def creditor(regie, **extra) -> CreditorSettings:
    settings = CreditorSettings(
        commune=regie.commune,
        regie=regie,
        creditor_name="Régie enfance de Villebois",
        ics=ICS,
        iban=REGIE_IBAN,
        notice_days=extra.pop("notice_days", 14),
        rejection_fee=extra.pop("rejection_fee", D("0")),
        **extra,
    )
    settings.full_clean()
    settings.save()
    return settings


def sign(world, *, iban=FAMILY_IBAN, holder="Françoise DURAND"):
    mandate, code = services_sepa.start_mandate(
        famille=world.famille,
        regie=world.regie,
        user=world.user,
        holder_name=holder,
        iban=iban,
        consent=True,
        ip="192.0.2.7",
        user_agent="Firefox",
    )
    confirmation = services_sepa.confirm_mandate(
        mandate=mandate, user=world.user, code=code, ip="192.0.2.7", user_agent="Firefox"
    )
    assert confirmation.ok, confirmation.error
    return confirmation.mandate


def regie_agent(world):
    from parvis.testing.regie import make_agent

    return make_agent(world.commune, AgentRole.Role.REGIE)


def today() -> date:
    return timezone.localdate()


def announced(world) -> date:
    """The day the world's invoices (due 10/12/2026) are debited after a mandate signed today."""
    return max(date(2026, 12, 10), today() + timedelta(days=14))


def collection_day(world) -> date:
    day = max(announced(world), sepa.earliest_collection(today()))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
