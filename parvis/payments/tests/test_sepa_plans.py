"""Each instalment of a payment plan is payable by direct debit (issue 19 §1 and §3): a family
with an active mandate and a plan en cours has its instalments debited, not its invoices whole;
each instalment's debit is spread over the plan's invoices in order, paid on the due date
through billing's single payment path, never paid by card meanwhile, and due again when the
bank rejects it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from parvis.billing import services as billing
from parvis.billing import services_plans
from parvis.billing.models import (
    InstalmentStatus,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from parvis.payments import sepa, services, services_sepa
from parvis.payments import services_plans as payment_plans
from parvis.payments.models import DebitStatus, SequenceType
from parvis.payments.selectors_sepa import debit_dates
from parvis.payments.tests.conftest import make_invoice
from parvis.payments.tests.sepa_fixtures import (
    collection_day,
    creditor,
    regie_agent,
    sign,
    today,
)


@pytest.fixture
def plan_world(world):
    world.creditor = creditor(world.regie)
    world.agent = regie_agent(world)
    world.mandate = sign(world)
    day = collection_day(world)
    # 144,35 € (73,80 + 70,55) in three instalments: 48,11 + 48,11 + 48,13; the first falls
    # on the first batch's day, the others a month apart.
    world.plan = services_plans.grant_plan(
        famille=world.famille,
        invoices=[world.sejour, world.cantine],
        schedule=[
            (day, D("48.11")),
            (day + timedelta(days=31), D("48.11")),
            (day + timedelta(days=62), D("48.13")),
        ],
        actor=world.agent,
        today=today(),
    )
    return world


def prepare(world, day):
    return services_sepa.prepare_batch(regie=world.regie, collection_date=day, actor=world.agent)


def refresh(*rows):
    for row in rows:
        row.refresh_from_db()


def instalments(plan):
    return [(i.status, i.paid) for i in plan.instalments.order_by("position")]


def test_a_batch_debits_the_instalment_due_not_the_invoices_of_the_plan(plan_world, receipts):
    world = plan_world
    day = collection_day(world)
    other = make_invoice(world.regie, world.famille, "12.40", label="Cantine hors échéancier")
    batch = prepare(world, day)
    debits = list(batch.debits.order_by("pk"))
    # The plan's first instalment as a partial debit of the first invoice, not the 144,35 €.
    assert [(d.invoice_id, d.amount) for d in debits] == [
        (other.pk, D("12.40")),
        (world.sejour.pk, D("48.11")),
    ]
    assert batch.count == 2 and batch.total == D("60.51")
    sepa.validate(batch.xml.encode())
    assert "<CtrlSum>60.51</CtrlSum>" in batch.xml
    assert '<InstdAmt Ccy="EUR">48.11</InstdAmt>' in batch.xml
    refresh(world.sejour, world.cantine)
    assert world.sejour.status == InvoiceStatus.PRELEVEMENT_EN_COURS
    assert world.cantine.status == InvoiceStatus.A_REGLER  # not in this instalment
    # The instalment under way is not taken twice.
    with pytest.raises(ValidationError, match="Aucune facture à prélever"):
        prepare(world, day)
    # Settled on its day through billing's payment path: the instalment is paid.
    services_sepa.mark_sent(batch=batch, actor=world.agent)
    services_sepa.settle_due_batches(today=day)
    refresh(world.sejour, world.plan)
    assert world.sejour.status == InvoiceStatus.PARTIELLEMENT_REGLEE
    assert world.sejour.paid == D("48.11")
    payment = Payment.objects.get(method=PaymentMethod.PRELEVEMENT, amount=D("48.11"))
    assert payment.received_on == day
    assert instalments(world.plan) == [
        (InstalmentStatus.PAYEE, D("48.11")),
        (InstalmentStatus.A_PAYER, D("0")),
        (InstalmentStatus.A_PAYER, D("0")),
    ]
    # Nothing more before the second instalment's day.
    with pytest.raises(ValidationError, match="Aucune facture à prélever"):
        prepare(world, day + timedelta(days=30))
    # The second spans both invoices: 25,69 € left on the first, 22,42 € on the second.
    second_day = day + timedelta(days=31)
    while second_day.weekday() >= 5:
        second_day += timedelta(days=1)
    second = prepare(world, second_day)
    debits = list(second.debits.order_by("pk"))
    assert [(d.invoice_id, d.amount) for d in debits] == [
        (world.sejour.pk, D("25.69")),
        (world.cantine.pk, D("22.42")),
    ]
    assert {d.sequence_type for d in debits} == {SequenceType.RCUR}
    assert second.total == D("48.11")
    sepa.validate(second.xml.encode())
    assert "<CtrlSum>48.11</CtrlSum>" in second.xml
    refresh(world.sejour, world.cantine)
    assert world.sejour.status == world.cantine.status == InvoiceStatus.PRELEVEMENT_EN_COURS
    services_sepa.mark_sent(batch=second, actor=world.agent)
    services_sepa.settle_due_batches(today=second_day)
    refresh(world.sejour, world.cantine, world.plan)
    assert world.sejour.status == InvoiceStatus.REGLEE
    assert world.cantine.paid == D("22.42")
    assert world.cantine.status == InvoiceStatus.PARTIELLEMENT_REGLEE
    assert [s for s, _p in instalments(world.plan)][:2] == [InstalmentStatus.PAYEE] * 2
    assert world.cantine.due_amount == D("48.13")  # the third instalment, to the cent


def test_an_invoice_of_a_plan_is_not_announced_debited_whole(plan_world):
    world = plan_world
    outside = make_invoice(world.regie, world.famille, "3.00")
    assert set(debit_dates([world.sejour, world.cantine, outside])) == {outside.pk}


def test_an_instalment_under_debit_is_paid_neither_by_card_nor_at_the_counter(plan_world):
    world = plan_world
    prepare(world, collection_day(world))
    with pytest.raises(ValidationError):
        services.start_payment(
            famille=world.famille, user=world.user, commune=world.commune,
            invoice_ids=[world.sejour.pk],
        )  # fmt: skip
    # « Payer l'échéance » online: its share goes to the invoice being debited, refused.
    with pytest.raises(ValidationError):
        payment_plans.start_instalment_payment(
            families=world.famille, user=world.user, commune=world.commune,
            plan_id=world.plan.pk,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="en cours de prélèvement"):
        billing.record_payment(
            regie=world.regie, famille=world.famille, allocations=[(world.sejour, D("48.11"))],
            method=PaymentMethod.ESPECES, received_on=today(), actor=world.agent,
        )  # fmt: skip


def test_a_plan_held_by_a_card_payment_under_way_waits(plan_world):
    world = plan_world
    payment_plans.start_instalment_payment(
        families=world.famille, user=world.user, commune=world.commune, plan_id=world.plan.pk
    )
    with pytest.raises(ValidationError, match="Aucune facture à prélever"):
        prepare(world, collection_day(world))


def test_a_rejected_instalment_debit_makes_the_instalment_due_again(plan_world, receipts):
    world = plan_world
    day = collection_day(world)
    batch = services_sepa.mark_sent(batch=prepare(world, day), actor=world.agent)
    services_sepa.settle_due_batches(today=day)
    debit = batch.debits.get()
    services_sepa.record_reject(debit=debit, code="AM04", rejected_on=today(), actor=world.agent)
    refresh(debit, world.sejour, world.plan)
    assert debit.status == DebitStatus.REJETE
    assert debit.payment.status == PaymentStatus.ANNULE
    assert world.sejour.status == InvoiceStatus.A_REGLER and world.sejour.paid == 0
    assert instalments(world.plan)[0][1] == D("0")
    assert instalments(world.plan)[0][0] != InstalmentStatus.PAYEE


def test_a_reject_before_settlement_gives_the_instalment_back(plan_world):
    world = plan_world
    day = collection_day(world)
    batch = services_sepa.mark_sent(batch=prepare(world, day), actor=world.agent)
    debit = batch.debits.get()
    services_sepa.record_reject(debit=debit, code="MD06", rejected_on=today(), actor=world.agent)
    refresh(world.sejour, world.plan)
    assert world.sejour.status == InvoiceStatus.A_REGLER
    assert instalments(world.plan)[0] == (InstalmentStatus.A_PAYER, D("0"))


# --- Under concurrency (PostgreSQL) ---------------------------------------------------------------


def _plan_world(slug):
    from parvis.payments.tests.conftest import make_world

    world = make_world(slug=slug, name=slug.capitalize())
    creditor(world.regie)
    world.agent = regie_agent(world)
    world.mandate = sign(world)
    day = collection_day(world)
    world.plan = services_plans.grant_plan(
        famille=world.famille, invoices=[world.sejour, world.cantine],
        schedule=[(day, D("48.11")), (day + timedelta(days=31), D("48.11")),
                  (day + timedelta(days=62), D("48.13"))],
        actor=world.agent, today=today(),
    )  # fmt: skip
    return world


def _race(world, transaction):
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    errors = []

    def batch():
        try:
            barrier.wait()
            prepare(world, collection_day(world))
        except ValidationError:
            pass  # nothing to debit: the card paid the instalment, or still holds it
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


def _instalment_paid_once(world):
    from parvis.billing.models import PaymentAllocation
    from parvis.payments.models import Debit, TropPercu

    debited = Debit.objects.filter(
        invoice__famille=world.famille, status__in=[DebitStatus.EN_COURS, DebitStatus.PAYE]
    )
    by_card = PaymentAllocation.objects.filter(
        invoice__famille=world.famille,
        payment__method=PaymentMethod.CARTE,
        payment__status=PaymentStatus.VALIDE,
    )
    assert not (debited.exists() and by_card.exists())
    world.sejour.refresh_from_db()
    world.cantine.refresh_from_db()
    assert world.sejour.paid + world.cantine.paid == (D("48.11") if by_card.exists() else 0)
    if debited.exists():
        assert sum(d.amount for d in debited) == D("48.11")
    return debited.exists(), TropPercu.objects.filter(famille=world.famille).first()


@pytest.mark.django_db(transaction=True)
def test_a_batch_and_an_instalment_paid_by_card_at_once_never_both(receipts):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    for round_ in range(3):
        world = _plan_world(f"echeance{round_}")
        transaction, _ = payment_plans.start_instalment_payment(
            families=world.famille, user=world.user, commune=world.commune, plan_id=world.plan.pk
        )
        _race(world, transaction)
        debited, excess = _instalment_paid_once(world)
        assert not debited and excess is None  # the pending card payment held the plan


@pytest.mark.django_db(transaction=True)
def test_a_batch_and_a_late_instalment_card_payment_leave_a_trop_percu_not_a_double(receipts):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    for round_ in range(3):
        world = _plan_world(f"tardive{round_}")
        transaction, _ = payment_plans.start_instalment_payment(
            families=world.famille, user=world.user, commune=world.commune, plan_id=world.plan.pk
        )
        services.simulate_notification(
            transaction=transaction, result="abandonne", remote_addr=None
        )
        transaction.refresh_from_db()
        _race(world, transaction)
        debited, excess = _instalment_paid_once(world)
        if debited:
            assert excess is not None and excess.amount == D("48.11")
        else:
            assert excess is None
