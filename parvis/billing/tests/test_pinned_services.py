"""Billing's shared writes (billing/services.py), the branches mutation testing found unpinned
(issue 24 §3): every field an invoice, its lines, a payment and a cancellation write, the audit
rows, the statuses at their edges (a cent short, a cent paid), shares of one invoice summed, the
messages an agent reads next to the field, and the receipt queued only when asked for."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from parvis.accounts.models import AuditEntry
from parvis.billing import services
from parvis.billing.models import (
    Delivery,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    InvoicingRun,
    LineKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Regie,
    Sequence,
    SequenceKind,
)
from parvis.billing.tests.test_services import NOV, invoice, pay
from parvis.families import selectors as family_selectors
from parvis.families.tests.factories import AgentFactory, FamilleFactory, PersonneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_receipt_mail(monkeypatch):
    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)


@pytest.fixture
def regie():
    from parvis.communes.tests.factories import CommuneFactory

    commune = CommuneFactory(name="Villebois", slug="villebois")
    return Regie.objects.create(commune=commune, name="Régie enfance", code="ENF")


@pytest.fixture
def famille(regie):
    famille = FamilleFactory(commune=regie.commune, name="DURAND")
    PersonneFactory(famille=famille, first_names="Claire")  # the responsable: the payer
    return famille


@pytest.fixture
def agent(regie):
    return AgentFactory(commune=regie.commune, first_name="Agnès", last_name="Martin")


def messages(error: ValidationError) -> dict | list:
    return error.message_dict if hasattr(error, "error_dict") else error.messages


# --- Numbers ------------------------------------------------------------------------------------


def test_the_sequence_row_is_made_once_per_regie_and_kind(regie, famille):
    invoice(regie, famille, "1.00")
    invoice(regie, famille, "1.00", month=date(2026, 10, 1))
    pay(regie, famille, (Invoice.objects.first(), D("1.00")))
    assert sorted(Sequence.objects.values_list("kind", "last_number", "commune_id")) == [
        (SequenceKind.FACTURE, 2, regie.commune_id),
        (SequenceKind.RECU, 1, regie.commune_id),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_number_outside_a_transaction_says_why(regie):
    with pytest.raises(
        RuntimeError, match=r"^a number is taken inside the transaction that uses it$"
    ):
        services.lock_sequence(regie=regie, kind=SequenceKind.FACTURE)
    assert not Sequence.objects.exists()


# --- Invoices -----------------------------------------------------------------------------------


def test_an_invoice_keeps_every_field_and_line(regie, famille, agent):
    run = InvoicingRun.objects.create(commune=regie.commune, regie=regie, month=NOV)
    lines = [
        services.LineData(
            kind=LineKind.PRESTATION, label="Repas — Léa DURAND", quantity=17,
            unit_price=D("4.15"), amount=D("70.55"), child_id=None, child_name="Léa DURAND",
            unit_id=None, price_label="QF de 1600 € à 1900 €", explanation="QF 1650 € : …",
            days=["2026-11-02"], childcare=False,
        ),
        services.LineData(
            kind=LineKind.DEDUCTION, label="Absence justifiée déduite", quantity=1,
            unit_price=D("-1.20"), amount=D("-1.20"), childcare=True,
        ),
    ]  # fmt: skip
    created = services.create_invoice(
        regie=regie, famille=famille, kind=InvoiceKind.MENSUELLE, label="Facture de novembre 2026",
        period_start=NOV, period_end=date(2026, 11, 30), lines=lines,
        issued_on=date(2026, 12, 1), due_on=date(2026, 12, 31), actor=agent, month=NOV,
        category="RÉGIE ENFANCE", run=run,
    )  # fmt: skip
    created = Invoice.objects.get(pk=created.pk)
    assert (
        created.commune_id, created.regie_id, created.famille_id, created.run_id, created.kind,
        created.number, created.month, created.category, created.label, created.period_start,
        created.period_end, created.issued_on, created.due_on, created.total, created.paid,
        created.status, created.delivery,
    ) == (
        regie.commune_id, regie.pk, famille.pk, run.pk, InvoiceKind.MENSUELLE, 1, NOV,
        "RÉGIE ENFANCE", "Facture de novembre 2026", NOV, date(2026, 11, 30), date(2026, 12, 1),
        date(2026, 12, 31), D("69.35"), D("0.00"), InvoiceStatus.A_REGLER, Delivery.PAPIER,
    )  # fmt: skip
    saved = list(created.lines.order_by("position"))
    assert [
        (
            row.position, row.kind, row.label, row.quantity, row.unit_price, row.amount,
            row.child_name, row.price_label, row.explanation, row.days, row.childcare,
        )
        for row in saved
    ] == [
        (
            0, LineKind.PRESTATION, "Repas — Léa DURAND", 17, D("4.15"), D("70.55"),
            "Léa DURAND", "QF de 1600 € à 1900 €", "QF 1650 € : …", ["2026-11-02"], False,
        ),
        (1, LineKind.DEDUCTION, "Absence justifiée déduite", 1, D("-1.20"), D("-1.20"), "", "",
         "", [], True),
    ]  # fmt: skip
    change = created.history.get()
    assert (change.from_status, change.to_status, change.actor) == ("", "a_regler", agent)
    entry = AuditEntry.objects.get(action="facture.emise")
    assert (entry.actor, entry.commune, entry.famille_id, entry.target_id, entry.changes) == (
        agent,
        regie.commune,
        famille.pk,
        str(created.pk),
        {"total": [None, "69.35"]},
    )


def test_a_paperless_family_gets_its_invoice_by_email(regie, famille):
    famille.paperless_invoice = True
    famille.save()
    assert invoice(regie, famille, "1.00").delivery == Delivery.COURRIEL


def test_an_invoice_of_a_cent_is_due(regie, famille):
    assert invoice(regie, famille, "0.01").status == InvoiceStatus.A_REGLER


def test_the_invoice_refusals_say_why(regie, famille):
    with pytest.raises(ValidationError) as error:
        invoice(regie, famille, "-0.01")
    assert messages(error.value) == ["Le total d'une facture n'est pas négatif."]
    with pytest.raises(ValidationError) as error:
        invoice(regie, famille)
    assert messages(error.value) == ["Une facture a au moins une ligne."]
    with pytest.raises(ValidationError) as error:
        invoice(regie, FamilleFactory(), "1.00")
    assert messages(error.value) == ["Cette famille appartient à une autre commune."]
    assert not Invoice.objects.exists()
    assert not Sequence.objects.exists()  # no number taken


# --- Cancelling an invoice ----------------------------------------------------------------------


def test_cancelling_an_invoice_keeps_its_reason_everywhere(regie, famille, agent):
    due = invoice(regie, famille, "3.00")
    with pytest.raises(ValidationError) as error:
        services.cancel_invoice(invoice=due, actor=agent, reason=" \n ")
    assert messages(error.value) == {"reason": ["Indiquez le motif de l'annulation."]}
    with pytest.raises(ValidationError) as error:
        services.cancel_invoice(invoice=due, actor=agent, reason=None)
    assert messages(error.value) == {"reason": ["Indiquez le motif de l'annulation."]}
    cancelled = services.cancel_invoice(invoice=due, actor=agent, reason="  Erreur de tarif ")
    assert cancelled.status == InvoiceStatus.ANNULEE
    due.refresh_from_db()
    assert due.status == InvoiceStatus.ANNULEE
    change = due.history.order_by("pk").last()
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        "a_regler",
        "annulee",
        agent,
        "Erreur de tarif",
    )
    entry = AuditEntry.objects.get(action="facture.annulee")
    assert (entry.actor, entry.commune, entry.famille_id, entry.target_id, entry.changes) == (
        agent,
        regie.commune,
        famille.pk,
        str(due.pk),
        {"status": ["a_regler", "annulee"], "reason": [None, "Erreur de tarif"]},
    )


def test_an_invoice_with_a_cent_paid_is_not_cancelled(regie, famille, agent):
    due = invoice(regie, famille, "3.00")
    pay(regie, famille, (due, D("0.01")))
    with pytest.raises(ValidationError) as error:
        services.cancel_invoice(invoice=due, actor=agent, reason="Erreur")
    assert messages(error.value) == [
        "Cette facture a des paiements : annulez-les avant d'annuler la facture."
    ]


def test_a_settled_invoice_of_nothing_cannot_be_cancelled(regie, famille, agent):
    settled = invoice(regie, famille, "1.00", "-1.00")
    with pytest.raises(ValidationError) as error:
        services.cancel_invoice(invoice=settled, actor=agent, reason="Erreur")
    assert messages(error.value) == ["Une facture « Réglée » ne peut pas passer à « Annulée »."]
    settled.refresh_from_db()
    assert settled.status == InvoiceStatus.REGLEE


# --- Payments -----------------------------------------------------------------------------------


def test_a_payment_keeps_every_field_and_its_audit(regie, famille, agent):
    october = invoice(regie, famille, "12.40", month=date(2026, 10, 1))
    november = invoice(regie, famille, "45.10")
    payment = pay(
        regie, famille, (october, D("12.40")), (november, D("20.00")), actor=agent,
        method=PaymentMethod.CHEQUE, reference="Chèque 1234567", send_receipt=False,
        payer_name="  Claire \n  DURAND  ",
    )  # fmt: skip
    payment = Payment.objects.get(pk=payment.pk)
    assert (
        payment.commune_id, payment.regie_id, payment.famille_id, payment.number, payment.method,
        payment.amount, payment.received_on, payment.reference, payment.transaction_reference,
        payment.payer_name, payment.recorded_by, payment.status,
    ) == (
        regie.commune_id, regie.pk, famille.pk, 1, PaymentMethod.CHEQUE, D("32.40"),
        date(2026, 12, 2), "Chèque 1234567", "", "Claire DURAND", agent, PaymentStatus.VALIDE,
    )  # fmt: skip
    assert sorted(payment.allocations.values_list("invoice__number", "amount")) == [
        (1, D("12.40")),
        (2, D("20.00")),
    ]
    october.refresh_from_db()
    november.refresh_from_db()
    assert (october.paid, october.status) == (D("12.40"), InvoiceStatus.REGLEE)
    assert (november.paid, november.status) == (D("20.00"), InvoiceStatus.PARTIELLEMENT_REGLEE)
    change = november.history.order_by("pk").last()
    assert (change.to_status, change.actor, change.reason) == (
        "partiellement_reglee",
        agent,
        "",  # a payment gives no reason
    )
    entry = AuditEntry.objects.get(action="paiement.enregistre")
    assert (entry.actor, entry.commune, entry.famille_id, entry.target_id, entry.changes) == (
        agent,
        regie.commune,
        famille.pk,
        str(payment.pk),
        {
            "amount": [None, "32.40"],
            "method": [None, PaymentMethod.CHEQUE],
            "invoices": [None, "1, 2"],
        },
    )


def test_without_a_payer_name_the_familys_payer_is_kept(regie, famille):
    due = invoice(regie, famille, "5.00")
    payment = pay(regie, famille, (due, D("5.00")), payer_name="   ")
    expected = family_selectors.payeur_name(famille)
    assert expected and "Claire" in expected
    assert Payment.objects.get(pk=payment.pk).payer_name == expected


def test_a_payer_name_is_cut_at_200_characters(regie, famille):
    due = invoice(regie, famille, "5.00")
    payment = pay(regie, famille, (due, D("5.00")), payer_name="A" * 250)
    assert Payment.objects.get(pk=payment.pk).payer_name == "A" * 200


def test_shares_of_one_invoice_are_summed_and_checked_together(regie, famille):
    due = invoice(regie, famille, "10.00")
    with pytest.raises(ValidationError) as error:
        pay(regie, famille, (due, D("6.00")), (due, D("4.01")))
    assert messages(error.value) == {
        "amount": [
            "La facture n° 1 n'a plus que 10,00 € à régler : le montant ne peut pas dépasser ce "
            "qui reste dû."
        ]
    }
    payment = pay(regie, famille, (due, D("6.00")), (due, D("4.00")))
    assert payment.amount == D("10.00")
    assert list(payment.allocations.values_list("amount", flat=True)) == [D("10.00")]
    due.refresh_from_db()
    assert (due.paid, due.status) == (D("10.00"), InvoiceStatus.REGLEE)


def test_a_cent_short_is_partly_paid(regie, famille):
    due = invoice(regie, famille, "10.00")
    pay(regie, famille, (due, D("9.99")))
    due.refresh_from_db()
    assert (due.paid, due.due_amount, due.status) == (
        D("9.99"),
        D("0.01"),
        InvoiceStatus.PARTIELLEMENT_REGLEE,
    )


def test_the_payment_refusals_say_why(regie, famille):
    due = invoice(regie, famille, "10.00")
    cases = [
        (
            {"method": "bitcoin"},
            [(due, D("1.00"))],
            {"method": ["Choisissez un mode de paiement."]},
        ),
        ({}, [], ["Choisissez au moins une facture."]),
        ({}, [(due, 1.0)], {"amount": ["Un montant en euros et centimes."]}),
        ({}, [(due, D("1.005"))], {"amount": ["Un montant en euros et centimes."]}),
        ({}, [(due, D("0.00"))], {"amount": ["Le montant est supérieur à 0 €."]}),
        ({}, [(due, D("-1.00"))], {"amount": ["Le montant est supérieur à 0 €."]}),
    ]
    for extra, allocations, expected in cases:
        with pytest.raises(ValidationError) as error:
            pay(regie, famille, *allocations, **extra)
        assert messages(error.value) == expected, (extra, allocations)
    assert not Payment.objects.exists()


def test_an_invoice_of_another_regie_or_family_is_refused(regie, famille):
    sports = Regie.objects.create(commune=regie.commune, name="Régie des sports", code="SPO")
    for other in (
        invoice(sports, famille, "10.00"),
        invoice(regie, FamilleFactory(commune=regie.commune), "10.00"),
    ):
        with pytest.raises(ValidationError) as error:
            pay(regie, famille, (other, D("1.00")))
        assert messages(error.value) == ["Cette facture n'est pas une facture de la famille."]
    deleted = invoice(regie, famille, "2.00", month=date(2026, 10, 1))
    Invoice.objects.filter(pk=deleted.pk).delete()
    with pytest.raises(ValidationError) as error:
        pay(regie, famille, (deleted, D("1.00")))
    assert messages(error.value) == ["Cette facture n'est pas une facture de la famille."]


def test_a_cancelled_invoice_is_not_paid(regie, famille, agent):
    due = invoice(regie, famille, "10.00")
    services.cancel_invoice(invoice=due, actor=agent, reason="Erreur")
    with pytest.raises(ValidationError) as error:
        pay(regie, famille, (due, D("10.00")))
    assert messages(error.value) == ["La facture n° 1 est annulée."]


def test_an_online_transaction_of_another_regie_is_another_payment(regie, famille):
    sports = Regie.objects.create(commune=regie.commune, name="Régie des sports", code="SPO")
    ours, theirs = invoice(regie, famille, "5.00"), invoice(sports, famille, "7.00")
    first = pay(regie, famille, (ours, D("5.00")), method="carte", transaction_reference="TX1")
    second = pay(sports, famille, (theirs, D("7.00")), method="carte", transaction_reference="TX1")
    assert first.pk != second.pk
    assert (first.transaction_reference, second.amount) == ("TX1", D("7.00"))


def test_the_receipt_is_queued_after_the_commit_only_when_asked(
    regie, famille, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []

    class FakeTask:
        @staticmethod
        def enqueue(**kwargs):
            queued.append(kwargs)

    monkeypatch.setattr("parvis.billing.tasks.send_receipt", FakeTask)
    due = invoice(regie, famille, "10.00")
    with django_capture_on_commit_callbacks(execute=True):
        quiet = pay(regie, famille, (due, D("4.00")), send_receipt=False)
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sent = pay(regie, famille, (due, D("6.00")))
        assert queued == []  # not before the commit
    assert len(callbacks) == 1
    assert queued == [{"payment_id": sent.pk, "commune_id": sent.commune_id}]
    assert quiet.pk != sent.pk


# --- Cancelling a payment -----------------------------------------------------------------------


def test_cancelling_a_payment_writes_who_when_and_why(regie, famille, agent):
    october = invoice(regie, famille, "12.40", month=date(2026, 10, 1))
    november = invoice(regie, famille, "45.10")
    pay(regie, famille, (november, D("5.10")))
    payment = pay(regie, famille, (october, D("12.40")), (november, D("40.00")))
    with pytest.raises(ValidationError) as error:
        services.cancel_payment(payment=payment, actor=agent, reason="")
    assert messages(error.value) == {"reason": ["Indiquez le motif de l'annulation."]}
    services.cancel_payment(payment=payment, actor=agent, reason=" Chèque sans provision ")
    payment.refresh_from_db()
    assert (payment.status, payment.cancelled_by, payment.cancel_reason) == (
        PaymentStatus.ANNULE,
        agent,
        "Chèque sans provision",
    )
    assert payment.cancelled_at is not None
    october.refresh_from_db()
    november.refresh_from_db()
    assert (october.paid, october.status) == (D("0.00"), InvoiceStatus.A_REGLER)
    # The first payment stays: partly paid again.
    assert (november.paid, november.status) == (D("5.10"), InvoiceStatus.PARTIELLEMENT_REGLEE)
    change = november.history.order_by("pk").last()
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        "reglee",
        "partiellement_reglee",
        agent,
        "Chèque sans provision",
    )
    entry = AuditEntry.objects.get(action="paiement.annule")
    assert (entry.commune, entry.famille_id, entry.target_id, entry.changes) == (
        regie.commune,
        famille.pk,
        str(payment.pk),
        {"status": ["valide", "annule"], "reason": [None, "Chèque sans provision"]},
    )
    with pytest.raises(ValidationError) as error:
        services.cancel_payment(payment=payment, actor=agent, reason="encore")
    assert messages(error.value) == ["Ce paiement est déjà annulé."]


def test_a_line_keeps_its_child_and_unit(regie, famille):
    from parvis.activities.tests.factories import make_activity
    from parvis.families.tests.factories import ChildFactory

    unit = make_activity(regie.commune).units.get()
    kid = ChildFactory(famille=famille, first_names="Léa")
    data = services.LineData(
        kind=LineKind.PRESTATION, label="Acc Matin", quantity=1, unit_price=D("1.20"),
        amount=D("1.20"), child_id=kid.pk, child_name="Léa DURAND", unit_id=unit.pk,
    )  # fmt: skip
    created = services.create_invoice(
        regie=regie, famille=famille, kind=InvoiceKind.MENSUELLE, label="Facture",
        period_start=NOV, period_end=date(2026, 11, 30), lines=[data],
        issued_on=date(2026, 12, 1), due_on=date(2026, 12, 31), actor=None, month=NOV,
    )  # fmt: skip
    assert list(created.lines.values_list("child_id", "unit_id")) == [(kid.pk, unit.pk)]
