"""Migration 0007: a family whose paperless choice changed before `paperless_invoice_since`
existed is dated by the last change its journal recorded (« Facture en ligne depuis le … » on
« Mon compte »), not by its file's creation; a date already set, or a journal without such a
change, is left alone."""

import importlib
from datetime import date

import pytest
import time_machine
from django.apps import apps

from parvis.accounts.services import audit
from parvis.families.tests.factories import AgentFactory, FamilleFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "parvis.families.migrations.0007_paperless_invoice_since_from_journal"
)


def old_change(famille, when: str, **changes):
    """A « famille.update » row as update_famille wrote it before the date was kept."""
    with time_machine.travel(when, tick=False):
        audit(
            actor=AgentFactory(commune=famille.commune),
            action="famille.update",
            commune=famille.commune,
            target=famille,
            famille_id=famille.pk,
            changes=changes,
        )


def since(famille):
    famille.refresh_from_db()
    return famille.paperless_invoice_since


def test_the_last_change_of_the_choice_dates_it_in_the_communes_time():
    joined = FamilleFactory(name="DURAND", paperless_invoice=True)
    old_change(joined, "2026-02-10 10:00 +01:00", address=["1 rue A", "2 rue B"])
    old_change(joined, "2026-03-31 23:30 +00:00", paperless_invoice=[False, True])  # 1 April
    back_and_forth = FamilleFactory(name="MARTIN", paperless_invoice=False)
    old_change(back_and_forth, "2026-01-12 09:00 +01:00", paperless_invoice=[False, True])
    old_change(back_and_forth, "2026-06-02 09:00 +02:00", paperless_invoice=[True, False])
    untouched = FamilleFactory(name="PETIT", paperless_invoice=False)
    old_change(untouched, "2026-02-10 10:00 +01:00", address=["1 rue A", "2 rue B"])
    already = FamilleFactory(name="BERNARD", paperless_invoice=True)
    already.paperless_invoice_since = date(2026, 9, 1)
    already.save(update_fields=["paperless_invoice_since"])
    old_change(already, "2026-08-01 09:00 +02:00", paperless_invoice=[False, True])

    migration.date_choices_from_journal(apps, None)

    assert since(joined) == date(2026, 4, 1)
    assert since(back_and_forth) == date(2026, 6, 2)
    assert since(untouched) is None
    assert since(already) == date(2026, 9, 1)
