"""Under concurrency (PostgreSQL): an invoice is never both debited and paid by card, whatever
the order in which a régie's batch and the bank's card notification take it (issue 19 §1). Both
lock the invoices in pk order first (billing.services.lock_invoices, as « Payer » and the
notification do), so one waits for the other and sees what it did."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from parvis.billing.models import Invoice, PaymentAllocation, PaymentMethod, PaymentStatus
from parvis.payments import services, services_sepa
from parvis.payments.models import Debit, DebitStatus, TropPercu
from parvis.payments.tests.conftest import make_world
from parvis.payments.tests.sepa_fixtures import collection_day, creditor, regie_agent, sign


def _race(world, transaction):
    barrier = threading.Barrier(2)
    errors = []

    def batch():
        try:
            barrier.wait()
            services_sepa.prepare_batch(
                regie=world.regie, collection_date=collection_day(world), actor=world.agent
            )
        except ValidationError:
            pass  # nothing left to debit: the card took both invoices first
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    def card():
        try:
            barrier.wait()
            outcome = services.simulate_notification(
                transaction=transaction, result="paye", remote_addr=None
            )
            if not outcome.handled:
                errors.append(AssertionError(outcome.text))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=f) for f in (batch, card)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _never_both(world):
    for invoice in Invoice.objects.filter(famille=world.famille):
        debited = Debit.objects.filter(
            invoice=invoice, status__in=[DebitStatus.EN_COURS, DebitStatus.PAYE]
        ).exists()
        by_card = PaymentAllocation.objects.filter(
            invoice=invoice,
            payment__method=PaymentMethod.CARTE,
            payment__status=PaymentStatus.VALIDE,
        ).exists()
        assert not (debited and by_card), invoice
        assert debited or by_card, invoice
        assert invoice.paid in (D("0"), invoice.total)


@pytest.mark.django_db(transaction=True)
def test_a_batch_and_a_pending_card_payment_at_once_never_take_the_same_invoice(receipts):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    for round_ in range(4):
        world = make_world(slug=f"ville{round_}", name=f"Ville {round_}")
        creditor(world.regie)
        world.agent = regie_agent(world)
        # « Payer » pressed, then a mandate signed: the bank's answer and the batch race.
        transaction, _ = services.start_payment(
            famille=world.famille,
            user=world.user,
            commune=world.commune,
            invoice_ids=[world.sejour.pk, world.cantine.pk],
        )
        sign(world)
        _race(world, transaction)
        _never_both(world)
        assert not TropPercu.objects.filter(famille=world.famille).exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_and_a_late_card_payment_at_once_leave_a_trop_percu_not_a_double(receipts):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    for round_ in range(4):
        world = make_world(slug=f"tard{round_}", name=f"Tard {round_}")
        creditor(world.regie)
        world.agent = regie_agent(world)
        transaction, _ = services.start_payment(
            famille=world.famille,
            user=world.user,
            commune=world.commune,
            invoice_ids=[world.sejour.pk, world.cantine.pk],
        )
        # Abandoned on the bank's page (the invoices free again), confirmed paid later.
        services.simulate_notification(
            transaction=transaction, result="abandonne", remote_addr=None
        )
        sign(world)
        transaction.refresh_from_db()
        _race(world, transaction)
        _never_both(world)
        debited = Debit.objects.filter(invoice__famille=world.famille).exists()
        excess = TropPercu.objects.filter(famille=world.famille).first()
        if debited:
            assert excess is not None and excess.amount == D("144.35")
        else:
            assert excess is None
