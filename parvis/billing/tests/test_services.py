"""The shared writes of billing: invoice and receipt numbers without gaps (also when a
transaction fails, and under concurrency on PostgreSQL), an invoice's total from its lines, and
payments kept to the cent against what is due, idempotent for an online transaction, cancelled
with their reason."""

import threading
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from parvis.accounts.models import AuditEntry
from parvis.billing import services
from parvis.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Regie,
    SequenceKind,
)
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import AgentFactory, FamilleFactory

pytestmark = pytest.mark.django_db

NOV = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def no_receipt_mail(monkeypatch):
    # The receipt e-mail is the PDF part's; here only the payment rows matter.
    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)


@pytest.fixture
def regie():
    commune = CommuneFactory(name="Villebois", slug="villebois")
    return Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")


@pytest.fixture
def famille(regie):
    return FamilleFactory(commune=regie.commune)


def line(amount: str, quantity: int = 1) -> services.LineData:
    return services.LineData(
        kind=LineKind.PRESTATION,
        label="Restauration",
        quantity=quantity,
        unit_price=D(amount) / quantity,
        amount=D(amount),
    )


def invoice(regie, famille, *amounts: str, month=NOV) -> Invoice:
    return services.create_invoice(
        regie=regie,
        famille=famille,
        kind=InvoiceKind.MENSUELLE,
        month=month,
        label="Facture de novembre 2026",
        period_start=month,
        period_end=month.replace(day=30),
        lines=[line(a) for a in amounts],
        issued_on=date(2026, 12, 1),
        due_on=date(2026, 12, 31),
        actor=None,
    )


def pay(regie, famille, *allocations, **extra) -> Payment:
    extra.setdefault("method", PaymentMethod.ESPECES)
    return services.record_payment(
        regie=regie,
        famille=famille,
        allocations=list(allocations),
        received_on=date(2026, 12, 2),
        actor=extra.pop("actor", None),
        **extra,
    )


# --- Numbers ------------------------------------------------------------------------------------


def test_numbers_follow_each_other_per_regie_and_kind(regie, famille):
    other = Regie.objects.create(commune=regie.commune, name="Régie des sports", code="SPO")
    first = invoice(regie, famille, "10.00")
    second = invoice(regie, famille, "5.00", month=date(2026, 10, 1))
    elsewhere = invoice(other, FamilleFactory(commune=regie.commune), "1.00")
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    receipt = pay(regie, famille, (first, D("10.00")))
    assert receipt.number == 1  # receipts have their own sequence


def test_a_failed_transaction_gives_its_number_back(regie, famille):
    invoice(regie, famille, "10.00")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.next_number(regie=regie, kind=SequenceKind.FACTURE)
        raise RuntimeError("crash after numbering")
    assert invoice(regie, famille, "4.00", month=date(2026, 10, 1)).number == 2


@pytest.mark.django_db(transaction=True)
def test_a_number_outside_a_transaction_is_refused(regie):
    with pytest.raises(RuntimeError):
        services.next_number(regie=regie, kind=SequenceKind.FACTURE)


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_distinct_numbers_without_gaps(regie):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: concurrency is only meaningful on PostgreSQL")
    familles = [FamilleFactory(commune=regie.commune) for _ in range(8)]
    start = threading.Barrier(len(familles))
    errors = []

    def issue(famille):
        try:
            start.wait()
            invoice(regie, famille, "3.10")
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(f,)) for f in familles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Invoice.objects.filter(regie=regie).values_list("number", flat=True))
    assert numbers == list(range(1, len(familles) + 1))


# --- Invoices ------------------------------------------------------------------------------------


def test_the_total_is_the_sum_of_the_rounded_lines(regie, famille):
    created = invoice(regie, famille, "70.55", "2.08", "-4.15")
    assert created.total == D("68.48")
    assert created.status == InvoiceStatus.A_REGLER
    assert list(created.history.values_list("from_status", "to_status")) == [("", "a_regler")]
    assert AuditEntry.objects.filter(action="facture.emise", target_id=str(created.pk)).exists()


def test_an_invoice_of_nothing_due_is_settled_from_the_start(regie, famille):
    assert invoice(regie, famille, "4.15", "-4.15").status == InvoiceStatus.REGLEE


def test_a_negative_total_or_no_line_is_refused(regie, famille):
    with pytest.raises(ValidationError):
        invoice(regie, famille, "-1.00")
    with pytest.raises(ValidationError):
        invoice(regie, famille)
    assert not Invoice.objects.exists()


def test_one_monthly_invoice_per_family_and_month(regie, famille):
    invoice(regie, famille, "1.00")
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 (IntegrityError)
        invoice(regie, famille, "2.00")
    assert Invoice.objects.count() == 1


def test_a_family_of_another_commune_is_refused(regie):
    with pytest.raises(ValidationError):
        invoice(regie, FamilleFactory(), "1.00")


# --- Payments ------------------------------------------------------------------------------------


def test_a_partial_then_full_payment_to_the_cent(regie, famille):
    due = invoice(regie, famille, "45.10")
    pay(regie, famille, (due, D("20.00")))
    due.refresh_from_db()
    assert (due.paid, due.due_amount, due.status) == (
        D("20.00"),
        D("25.10"),
        InvoiceStatus.PARTIELLEMENT_REGLEE,
    )
    with pytest.raises(ValidationError):
        pay(regie, famille, (due, D("25.11")))
    pay(regie, famille, (due, D("25.10")))
    due.refresh_from_db()
    assert (due.paid, due.status) == (D("45.10"), InvoiceStatus.REGLEE)
    assert list(due.history.values_list("to_status", flat=True)) == [
        "a_regler",
        "partiellement_reglee",
        "reglee",
    ]


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "1.005"])
def test_an_amount_of_nothing_or_not_in_cents_is_refused(regie, famille, amount):
    due = invoice(regie, famille, "10.00")
    with pytest.raises(ValidationError):
        pay(regie, famille, (due, D(amount)))
    assert not Payment.objects.exists()


def test_one_payment_settles_several_invoices(regie, famille):
    october = invoice(regie, famille, "12.40", month=date(2026, 10, 1))
    november = invoice(regie, famille, "45.10")
    payment = pay(regie, famille, (october, D("12.40")), (november, D("45.10")))
    assert payment.amount == D("57.50")
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.REGLEE}


def test_another_familys_invoice_cannot_be_paid_in_a_family_payment(regie, famille):
    theirs = invoice(regie, FamilleFactory(commune=regie.commune), "10.00")
    with pytest.raises(ValidationError):
        pay(regie, famille, (theirs, D("10.00")))
    theirs.refresh_from_db()
    assert theirs.paid == 0


def test_an_online_transaction_is_recorded_once(regie, famille):
    due = invoice(regie, famille, "73.80")
    first = pay(regie, famille, (due, D("73.80")), method="carte", transaction_reference="PVS1")
    again = pay(regie, famille, (due, D("73.80")), method="carte", transaction_reference="PVS1")
    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    due.refresh_from_db()
    assert due.paid == D("73.80")


def test_cancelling_a_payment_makes_the_invoice_due_again(regie, famille):
    agent = AgentFactory(commune=regie.commune)
    due = invoice(regie, famille, "45.10")
    payment = pay(regie, famille, (due, D("45.10")), method=PaymentMethod.CHEQUE)
    with pytest.raises(ValidationError):
        services.cancel_payment(payment=payment, actor=agent, reason="  ")
    services.cancel_payment(payment=payment, actor=agent, reason="Chèque sans provision")
    due.refresh_from_db()
    payment.refresh_from_db()
    assert (due.paid, due.status) == (D("0.00"), InvoiceStatus.A_REGLER)
    assert payment.status == PaymentStatus.ANNULE
    assert payment.cancel_reason == "Chèque sans provision"
    entry = AuditEntry.objects.get(action="paiement.annule")
    assert entry.actor == agent and entry.changes["reason"] == [None, "Chèque sans provision"]
    with pytest.raises(ValidationError):
        services.cancel_payment(payment=payment, actor=agent, reason="encore")


def test_an_invoice_with_payments_is_not_cancelled(regie, famille):
    agent = AgentFactory(commune=regie.commune)
    due = invoice(regie, famille, "45.10")
    pay(regie, famille, (due, D("5.00")))
    with pytest.raises(ValidationError):
        services.cancel_invoice(invoice=due, actor=agent, reason="Erreur")
    other = invoice(regie, famille, "3.00", month=date(2026, 10, 1))
    services.cancel_invoice(invoice=other, actor=agent, reason="Erreur de facturation")
    other.refresh_from_db()
    assert other.status == InvoiceStatus.ANNULEE
    with pytest.raises(ValidationError):
        pay(regie, famille, (other, D("3.00")))
