"""One pending online payment per invoice, and the trop-perçus: a second « Payer » replaces the
transaction the invoice was pending in (the old one « remplacée », its late notification still
handled); money a bank confirms beyond what is due (the old transaction paid too, an invoice
settled at the counter meanwhile) becomes a trop-perçu of the régie, audited, that an agent
refunds once (means, date, reference, who), with its history. Amounts to the cent."""

import threading
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.db import transaction as db
from django.utils import timezone

from parvis.accounts.models import AuditEntry
from parvis.billing import services as billing
from parvis.billing.models import InvoiceStatus, Payment, PaymentMethod, Regie
from parvis.families.tests.factories import AgentFactory
from parvis.payments import services
from parvis.payments.models import (
    Exchange,
    ExchangeKind,
    Provider,
    RefundMethod,
    Transaction,
    TransactionInvoice,
    TransactionStatus,
    TropPercu,
    TropPercuStatus,
)
from parvis.payments.providers import simulateur
from parvis.payments.tests.conftest import make_invoice, make_world, text_of, url

pytestmark = pytest.mark.django_db


def start(world, *invoices):
    transaction, _redirect = services.start_payment(
        famille=world.famille,
        user=world.user,
        commune=world.commune,
        invoice_ids=[str(invoice.pk) for invoice in invoices],
    )
    return transaction


def notify(world, transaction, result=simulateur.PAID):
    body = simulateur.notification(
        services.provider_for(world.commune, Provider.SIMULATEUR).secret,
        reference=transaction.reference,
        amount=transaction.amount,
        result=result,
        number="SIM42",
    )
    return services.handle_notification(
        commune=world.commune,
        provider=Provider.SIMULATEUR,
        query_string="",
        body=body,
        remote_addr="192.0.2.10",
    )


def pending_of(invoice) -> list[str]:
    return list(
        TransactionInvoice.objects.filter(invoice=invoice, pending=True).values_list(
            "transaction__reference", flat=True
        )
    )


def last_outcome() -> str:
    return Exchange.objects.filter(kind=ExchangeKind.NOTIFICATION).order_by("-pk")[0].outcome


@pytest.fixture
def agent(world):
    return AgentFactory(commune=world.commune)


# --- One pending transaction per invoice ---------------------------------------------------------


def test_a_second_payer_replaces_the_pending_transaction(world):
    first = start(world, world.sejour)
    second = start(world, world.sejour)
    first.refresh_from_db()
    assert first.status == TransactionStatus.REMPLACEE
    assert first.replaced_by == second
    assert second.status == TransactionStatus.EN_ATTENTE
    assert second.amount == D("73.80")
    assert pending_of(world.sejour) == [second.reference]
    entry = AuditEntry.objects.get(action="paiement_en_ligne.remplace")
    assert entry.famille_id == world.famille.pk
    assert entry.target_id == str(first.pk)
    assert entry.changes["replaced_by"] == [None, second.reference]


def test_paying_part_of_a_pending_transaction_replaces_it_whole(world):
    both = start(world, world.sejour, world.cantine)
    sejour_only = start(world, world.sejour)
    both.refresh_from_db()
    assert both.status == TransactionStatus.REMPLACEE
    # The canteen invoice is in no pending transaction now: paying it leaves the séjour's alone.
    cantine_only = start(world, world.cantine)
    sejour_only.refresh_from_db()
    assert sejour_only.status == TransactionStatus.EN_ATTENTE
    assert pending_of(world.sejour) == [sejour_only.reference]
    assert pending_of(world.cantine) == [cantine_only.reference]


def test_a_finished_transaction_frees_its_invoices(world):
    refused = start(world, world.sejour)
    assert notify(world, refused, simulateur.REFUSED).status == 200
    assert pending_of(world.sejour) == []
    again = start(world, world.sejour)
    refused.refresh_from_db()
    assert refused.status == TransactionStatus.REFUSEE  # not « remplacée »: it was over
    assert pending_of(world.sejour) == [again.reference]


def test_the_database_refuses_a_second_pending_share_of_an_invoice(world):
    first = start(world, world.sejour)
    other = Transaction.objects.create(
        commune=world.commune, famille=world.famille, reference="PVSDIRECT",
        provider=Provider.SIMULATEUR, amount=D("73.80"),
    )  # fmt: skip
    with pytest.raises(IntegrityError), db.atomic():
        TransactionInvoice.objects.create(
            transaction=other, invoice=world.sejour, amount=D("73.80")
        )
    TransactionInvoice.objects.create(
        transaction=other, invoice=world.sejour, amount=D("73.80"), pending=False
    )
    assert pending_of(world.sejour) == [first.reference]


def test_a_replaced_transactions_bank_page_is_gone(client, world):
    first = start(world, world.sejour)
    start(world, world.sejour)
    page = f"/{world.commune.slug}/paiement/simulateur/{first.reference}/"
    assert client.get(page).status_code == 404
    assert client.post(page, {"action": "payer"}).status_code == 404
    first.refresh_from_db()
    assert first.status == TransactionStatus.REMPLACEE


def test_payer_twice_on_the_page_and_the_old_return_page_says_replaced(logged, world):
    for _click in range(2):
        response = logged.post(url(world, "payer"), {"factures": [world.sejour.pk]})
        assert response.status_code == 302
    old, new = Transaction.objects.order_by("pk")
    assert response.url == url(world, "simulateur", reference=new.reference)
    assert (old.status, new.status) == (TransactionStatus.REMPLACEE, TransactionStatus.EN_ATTENTE)
    text = text_of(logged.get(url(world, "retour", reference=old.reference)))
    assert "Paiement remplacé par un paiement plus récent" in text
    assert "la somme payée en trop vous sera remboursée par la régie" in text


@pytest.mark.parametrize("result", [simulateur.REFUSED, simulateur.CANCELLED])
def test_a_late_refusal_of_a_replaced_transaction_changes_nothing(world, result):
    first = start(world, world.sejour)
    second = start(world, world.sejour)
    assert notify(world, first, result).status == 200
    assert last_outcome() == "remplacée par un autre paiement : ignorée"
    first.refresh_from_db()
    assert first.status == TransactionStatus.REMPLACEE
    assert pending_of(world.sejour) == [second.reference]


# --- Trop-perçus ---------------------------------------------------------------------------------


@pytest.mark.parametrize("paid_first", ["old", "new"])
def test_both_transactions_paid_settle_the_invoice_once_and_the_rest_is_a_trop_percu(
    world, receipts, paid_first, django_capture_on_commit_callbacks
):
    old = start(world, world.sejour)
    new = start(world, world.sejour)
    first, second = (old, new) if paid_first == "old" else (new, old)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(world, first).status == 200
        assert notify(world, second).status == 200
    for row in (old, new, world.sejour):
        row.refresh_from_db()
    assert old.status == new.status == TransactionStatus.PAYEE
    assert world.sejour.status == InvoiceStatus.REGLEE and world.sejour.paid == D("73.80")
    payment = Payment.objects.get()
    assert payment.amount == D("73.80") and payment.transaction_reference == first.reference
    assert receipts == [payment.pk]
    trop_percu = TropPercu.objects.get()
    assert trop_percu.amount == D("73.80")
    assert trop_percu.transaction == second
    assert trop_percu.famille == world.famille and trop_percu.regie == world.regie
    assert trop_percu.commune == world.commune
    assert trop_percu.status == TropPercuStatus.A_REMBOURSER
    assert list(trop_percu.history.values_list("from_status", "to_status")) == [
        ("", "a_rembourser")
    ]
    assert last_outcome() == "payée ; trop-perçu à rembourser : 73,80 €"
    entry = AuditEntry.objects.get(action="trop_percu.constate")
    assert entry.famille_id == world.famille.pk and entry.target_id == str(trop_percu.pk)
    assert entry.changes["amount"] == [None, "73.80"]


def test_a_notification_arriving_twice_makes_one_trop_percu(world):
    old = start(world, world.sejour)
    new = start(world, world.sejour)
    notify(world, new)
    assert notify(world, old).status == 200
    assert notify(world, old).status == 200
    assert last_outcome() == "rejouée : ignorée"
    assert TropPercu.objects.get().amount == D("73.80")
    assert Payment.objects.count() == 1
    assert AuditEntry.objects.filter(action="trop_percu.constate").count() == 1


def test_the_part_settled_at_the_counter_meanwhile_is_a_trop_percu_to_the_cent(world):
    transaction = start(world, world.sejour, world.cantine)  # 73,80 + 70,55 = 144,35
    billing.record_payment(
        regie=world.regie, famille=world.famille, allocations=[(world.cantine, D("20.01"))],
        method=PaymentMethod.ESPECES, received_on=date(2026, 11, 21), actor=None,
    )  # fmt: skip
    assert notify(world, transaction).status == 200
    card = Payment.objects.get(method=PaymentMethod.CARTE)
    assert card.amount == D("124.34")  # 73,80 + 50,54
    world.cantine.refresh_from_db()
    assert world.cantine.paid == D("70.55") and world.cantine.status == InvoiceStatus.REGLEE
    assert TropPercu.objects.get().amount == D("20.01")
    assert last_outcome().endswith("; trop-perçu à rembourser : 20,01 €")


def test_a_trop_percu_per_regie(world):
    periscolaire = Regie.objects.create(commune=world.commune, name="Régie péri", code="PERI")
    garderie = make_invoice(periscolaire, world.famille, "17.25", label="Garderie")
    old = start(world, world.sejour, garderie)
    new = start(world, world.sejour, garderie)
    notify(world, new)
    notify(world, old)
    amounts = {row.regie_id: row.amount for row in TropPercu.objects.filter(transaction=old)}
    assert amounts == {world.regie.pk: D("73.80"), periscolaire.pk: D("17.25")}
    assert last_outcome() == "payée ; trop-perçu à rembourser : 91,05 €"


def test_an_invoice_cancelled_meanwhile_is_all_trop_percu(world):
    transaction = start(world, world.cantine)
    billing.cancel_invoice(invoice=world.cantine, actor=None, reason="erreur de facturation")
    notify(world, transaction)
    assert not Payment.objects.exists()
    assert TropPercu.objects.get().amount == D("70.55")


def test_no_trop_percu_when_nothing_is_over(world):
    transaction = start(world, world.sejour)
    notify(world, transaction)
    assert not TropPercu.objects.exists()


# --- Refunds -------------------------------------------------------------------------------------


@pytest.fixture
def trop_percu(world):
    old = start(world, world.sejour)
    new = start(world, world.sejour)
    notify(world, new)
    notify(world, old)
    return TropPercu.objects.get()


def test_rembourser_records_the_means_date_reference_and_who(world, trop_percu, agent):
    today = timezone.localdate()
    refunded = services.refund_trop_percu(
        trop_percu=trop_percu, actor=agent, method=RefundMethod.VIREMENT,
        refunded_on=today, reference="  VIR-2026-118  ",
    )  # fmt: skip
    refunded.refresh_from_db()
    assert refunded.status == TropPercuStatus.REMBOURSE
    assert refunded.refund_method == RefundMethod.VIREMENT
    assert refunded.refunded_on == today
    assert refunded.refund_reference == "VIR-2026-118"
    assert refunded.refunded_by == agent and refunded.refunded_at is not None
    assert refunded.amount == D("73.80")
    history = list(refunded.history.values_list("from_status", "to_status", "actor"))
    assert history == [("", "a_rembourser", None), ("a_rembourser", "rembourse", agent.pk)]
    entry = AuditEntry.objects.get(action="trop_percu.rembourse")
    assert entry.famille_id == world.famille.pk and entry.actor == agent
    assert entry.changes["status"] == ["a_rembourser", "rembourse"]
    assert entry.changes["refund_reference"] == [None, "VIR-2026-118"]
    with pytest.raises(ValidationError, match="déjà remboursé"):
        services.refund_trop_percu(
            trop_percu=trop_percu, actor=agent, method=RefundMethod.ESPECES, refunded_on=today
        )
    assert AuditEntry.objects.filter(action="trop_percu.rembourse").count() == 1


def test_cash_needs_no_reference(trop_percu, agent):
    services.refund_trop_percu(
        trop_percu=trop_percu, actor=agent, method=RefundMethod.ESPECES,
        refunded_on=timezone.localdate(),
    )  # fmt: skip
    trop_percu.refresh_from_db()
    assert trop_percu.status == TropPercuStatus.REMBOURSE and trop_percu.refund_reference == ""


@pytest.mark.parametrize(
    "method, days, reference, field, words",
    [
        ("", 0, "X", "method", "Choisissez le moyen du remboursement."),
        ("bitcoin", 0, "X", "method", "Choisissez le moyen du remboursement."),
        (RefundMethod.CHEQUE, 0, "  ", "reference", "Indiquez la référence du remboursement"),
        (RefundMethod.VIREMENT, 1, "X", "refunded_on", "ne peut pas être dans le futur"),
        (RefundMethod.VIREMENT, -1, "X", "refunded_on", "ne peut pas le précéder"),
        (RefundMethod.VIREMENT, None, "X", "refunded_on", "Indiquez la date du remboursement."),
    ],
)
def test_a_refund_is_refused_field_by_field(
    trop_percu, agent, method, days, reference, field, words
):
    on = None if days is None else timezone.localdate() + timedelta(days=days)
    with pytest.raises(ValidationError) as refused:
        services.refund_trop_percu(
            trop_percu=trop_percu, actor=agent, method=method, refunded_on=on, reference=reference
        )
    assert words in " ".join(refused.value.message_dict[field])
    trop_percu.refresh_from_db()
    assert trop_percu.status == TropPercuStatus.A_REMBOURSER
    assert not AuditEntry.objects.filter(action="trop_percu.rembourse").exists()


def test_the_day_it_was_noticed_is_a_valid_refund_day(trop_percu, agent):
    noticed = timezone.localdate(trop_percu.created_at)
    services.refund_trop_percu(
        trop_percu=trop_percu, actor=agent, method=RefundMethod.CARTE,
        refunded_on=noticed, reference="ANNUL-0087654321",
    )  # fmt: skip
    trop_percu.refresh_from_db()
    assert trop_percu.refunded_on == noticed


# --- Under concurrency (PostgreSQL) --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_payer_leave_one_pending_transaction(receipts):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    world = make_world()
    clicks = 6
    barrier = threading.Barrier(clicks)
    errors = []

    def click():
        try:
            barrier.wait()
            start(world, world.sejour, world.cantine)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    statuses = sorted(Transaction.objects.values_list("status", flat=True))
    assert statuses == ["en_attente"] + ["remplacee"] * (clicks - 1)
    assert len(pending_of(world.sejour)) == len(pending_of(world.cantine)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_notification_and_a_payer_at_once_neither_deadlock_nor_pay_twice(receipts):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    for _round in range(5):
        world = make_world(slug=f"ville{_round}", name=f"Ville {_round}")
        old = start(world, world.sejour, world.cantine)
        barrier = threading.Barrier(2)
        errors, outcomes = [], []

        def pay_old(world=world, old=old, barrier=barrier, errors=errors, outcomes=outcomes):
            try:
                barrier.wait()
                outcomes.append(notify(world, old).status)
            except Exception as error:  # reported below
                errors.append(error)
            finally:
                connection.close()

        def payer_again(world=world, barrier=barrier, errors=errors):
            try:
                barrier.wait()
                start(world, world.cantine, world.sejour)
            except Exception as error:  # « nothing due » when the old one paid first
                if not isinstance(error, ValidationError):
                    errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=f) for f in (pay_old, payer_again)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and outcomes == [200]
        world.sejour.refresh_from_db()
        assert world.sejour.paid == D("73.80")
        assert Payment.objects.filter(famille=world.famille).count() == 1
