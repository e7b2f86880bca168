"""Payment notifications (payments/services.py): a behaviour the mutation run of 6 December
(on commit e48951d) found unpinned (issue 24 §3): a verified reference longer than the stored
one is matched on its first 40 characters, as stored."""

import pytest

from parvis.billing.models import InvoiceStatus
from parvis.payments.models import Transaction, TransactionStatus
from parvis.payments.tests.test_pinned_services import (  # noqa: F401 (fixture)
    notify,
    reload,
    says,
    start,
)

pytestmark = pytest.mark.django_db


def test_a_verified_reference_longer_than_stored_is_matched_on_its_40_characters(world, says):  # noqa: F811
    transaction = start(world, world.sejour)
    stored = "PVS-" + "7" * 36  # the column's 40 characters
    Transaction.objects.filter(pk=transaction.pk).update(reference=stored)
    reload(transaction)
    says(transaction, reference=stored + "-RETOUR")
    outcome = notify(world, f"reference={stored}")
    assert outcome.status == 200
    reload(transaction, world.sejour)
    assert transaction.status == TransactionStatus.PAYEE
    assert world.sejour.status == InvoiceStatus.REGLEE


def test_a_throttled_notification_says_why(client, world):
    from parvis.payments.tests.test_notification_limits import LIMIT, forged

    for _ in range(LIMIT):
        forged(client, world, REMOTE_ADDR="203.0.113.9")
    refused = forged(client, world, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert refused.content.decode() == "trop de notifications non signées"
