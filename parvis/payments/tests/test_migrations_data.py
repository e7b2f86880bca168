"""The data migrations of the one-pending rule and of « Payé par », run on the rows a database
held before them: 0003 leaves each invoice in one pending transaction at most (else 0004's
unique index cannot be built on a production database where « Payer » was pressed twice), 0005
names the account that paid online on the receipts recorded before `Payment.payer_name`."""

import importlib
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from parvis.billing import services as billing
from parvis.billing.models import Payment, PaymentMethod
from parvis.payments.models import Provider, Transaction, TransactionInvoice, TransactionStatus

pytestmark = pytest.mark.django_db

pending_shares = importlib.import_module("parvis.payments.migrations.0003_pending_shares")
payer_names = importlib.import_module(
    "parvis.payments.migrations.0005_payment_payer_name_from_transactions"
)


def old_transaction(world, reference, invoices, *, status, minutes_ago):
    """A transaction as the database held it before 0003: every share pending (0002's default),
    whatever the transaction's state."""
    transaction = Transaction.objects.create(
        commune=world.commune, famille=world.famille, user=world.user, reference=reference,
        provider=Provider.SIMULATEUR, status=status,
        amount=sum((invoice.due_amount for invoice in invoices), D("0.00")),
    )  # fmt: skip
    Transaction.objects.filter(pk=transaction.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    for invoice in invoices:
        TransactionInvoice.objects.create(
            transaction=transaction, invoice=invoice, amount=invoice.due_amount, pending=True
        )
    return transaction


def test_0003_keeps_each_invoice_in_its_newest_pending_transaction_only(world):
    with connection.cursor() as cursor:
        # The rows of before the rule (rolled back with the test): the index comes with 0004.
        cursor.execute("DROP INDEX share_one_pending_per_invoice")
    first = old_transaction(world, "PVSOLD1", [world.sejour], status="en_attente", minutes_ago=30)
    both = old_transaction(
        world, "PVSOLD2", [world.sejour, world.cantine], status="en_attente", minutes_ago=20
    )
    newest = old_transaction(world, "PVSOLD3", [world.sejour], status="en_attente", minutes_ago=10)
    refused = old_transaction(world, "PVSOLD4", [world.cantine], status="refusee", minutes_ago=5)

    pending_shares.forwards(apps, None)

    status = dict(Transaction.objects.values_list("reference", "status"))
    assert status == {
        "PVSOLD1": TransactionStatus.REMPLACEE,
        "PVSOLD2": TransactionStatus.REMPLACEE,
        "PVSOLD3": TransactionStatus.EN_ATTENTE,
        "PVSOLD4": TransactionStatus.REFUSEE,
    }
    replaced_by = dict(Transaction.objects.values_list("reference", "replaced_by"))
    assert replaced_by["PVSOLD1"] == replaced_by["PVSOLD2"] == newest.pk
    pending = sorted(
        TransactionInvoice.objects.filter(pending=True).values_list("invoice_id", "transaction_id")
    )
    # The séjour in the newest only; the canteen in none (its pending one was replaced, the
    # refused one is over): 0004's index holds.
    assert pending == [(world.sejour.pk, newest.pk)]
    assert {first.pk, both.pk, refused.pk}.isdisjoint(t for _i, t in pending)


def test_0005_names_the_account_that_paid_online_and_leaves_the_counter_alone(world):
    world.user.civility, world.user.first_name, world.user.last_name = "mme", "Françoise", "Durand"
    world.user.save(update_fields=["civility", "first_name", "last_name"])
    old_transaction(world, "PVSPAID", [world.sejour], status="payee", minutes_ago=10)
    online = billing.record_payment(
        regie=world.regie, famille=world.famille, allocations=[(world.sejour, D("73.80"))],
        method=PaymentMethod.CARTE, received_on=timezone.localdate(), actor=None,
        transaction_reference="PVSPAID", send_receipt=False,
    )  # fmt: skip
    counter = billing.record_payment(
        regie=world.regie, famille=world.famille, allocations=[(world.cantine, D("20.01"))],
        method=PaymentMethod.ESPECES, received_on=timezone.localdate(), actor=None,
        send_receipt=False,
    )  # fmt: skip
    unknown = billing.record_payment(
        regie=world.regie, famille=world.famille, allocations=[(world.cantine, D("0.01"))],
        method=PaymentMethod.CARTE, received_on=timezone.localdate(), actor=None,
        transaction_reference="PVSGONE", send_receipt=False,
    )  # fmt: skip
    assert Payment.objects.exclude(payer_name="").count() == 0

    payer_names.name_online_payers(apps, None)

    names = dict(Payment.objects.values_list("pk", "payer_name"))
    assert names == {online.pk: "Madame Françoise DURAND", counter.pk: "", unknown.pk: ""}
