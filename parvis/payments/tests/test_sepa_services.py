"""SEPA direct debit's services (issue 19 §1): the creditor's settings, mandates signed with an
e-mailed code, batches and their pain.008 file, settlement on the due date through billing's
payment path, rejects, and an invoice never both debited and paid by card."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from parvis.accounts.models import AuditEntry
from parvis.background.models import OutgoingEmail
from parvis.billing import services as billing
from parvis.billing.models import (
    Invoice,
    InvoiceStatus,
    InvoiceStatusChange,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from parvis.billing.selectors import invoice_state
from parvis.payments import sepa, services, services_sepa
from parvis.payments.models import (
    BatchStatus,
    CreditorSettings,
    Debit,
    DebitStatus,
    Mandate,
    MandateStatus,
    SequenceType,
    TransactionStatus,
    TropPercu,
)
from parvis.payments.selectors_sepa import debit_dates
from parvis.payments.tests.conftest import make_invoice, make_world
from parvis.payments.tests.sepa_fixtures import (
    FAMILY_IBAN,
    ICS,
    announced,
    collection_day,
    creditor,
    regie_agent,
    sign,
    today,
)


@pytest.fixture
def sepa_world(world):
    world.creditor = creditor(world.regie, rejection_fee=D("5.00"))
    world.agent = regie_agent(world)
    return world


def prepare(world, day=None):
    return services_sepa.prepare_batch(
        regie=world.regie, collection_date=day or collection_day(world), actor=world.agent
    )


def refresh(*rows):
    for row in rows:
        row.refresh_from_db()


# --- Identifiers ---------------------------------------------------------------------------------


def test_a_creditor_identifier_is_checked_with_iso_7064_mod_97_10():
    assert sepa.clean_ics("fr72 zzz 123456") == "FR72ZZZ123456" == ICS
    with pytest.raises(ValidationError, match="chiffres de contrôle"):
        sepa.clean_ics("FR73ZZZ123456")
    with pytest.raises(ValidationError, match="13 caractères"):
        sepa.clean_ics("FR72ZZZ1234567")
    with pytest.raises(ValidationError, match="s'écrit comme"):
        sepa.clean_ics("123")


def test_an_iban_is_checked_and_its_bic_derived():
    assert sepa.clean_iban("fr14 2004 1010 0505 0001 3M02 606") == (FAMILY_IBAN, "PSSTFRPP")
    with pytest.raises(ValidationError, match="clé de contrôle"):
        sepa.clean_iban("FR1520041010050500013M02606")
    with pytest.raises(ValidationError, match="zone SEPA"):
        sepa.clean_iban("BR1800360305000010009795493C1")


def test_the_regie_settings_refuse_a_wrong_ics_or_iban(world):
    settings = CreditorSettings(
        commune=world.commune,
        regie=world.regie,
        creditor_name="Régie & co",
        ics="FR00ZZZ123456",
        iban="FR7630006000011234567890188",
    )
    with pytest.raises(ValidationError) as error:
        settings.full_clean()
    assert set(error.value.message_dict) == {"ics", "iban"}
    settings.ics, settings.iban = ICS, "FR7630006000011234567890189"
    settings.full_clean()
    assert settings.bic == "AGRIFRPPXXX"
    assert settings.creditor_name == "Regie co"  # SEPA Latin: no « & », no accents


def test_the_pain008_of_debits_validates_and_its_totals_are_checked():
    lines = [
        sepa.Line("E2E-1", D("45.10"), "FRST", "RUM-1", date(2026, 12, 1), "Zoé Ça", FAMILY_IBAN,
                  "", "Facture n° 1 ç"),
        sepa.Line("E2E-2", D("0.01"), "RCUR", "RUM-2", date(2026, 11, 1), "Léo", FAMILY_IBAN,
                  "PSSTFRPPPAR", "Facture 2"),
    ]  # fmt: skip
    xml = sepa.pain008(
        creditor=sepa.Creditor("Régie", ICS, "FR7630006000011234567890189", "AGRIFRPPXXX"),
        collection_date=date(2027, 1, 5),
        lines=lines,
        message_id="PVS-ENF-1-20270105",
    )
    sepa.validate(xml)
    text = xml.decode()
    assert "<CtrlSum>45.11</CtrlSum>" in text and "<NbOfTxs>2</NbOfTxs>" in text
    assert "<SeqTp>FRST</SeqTp>" in text and "<SeqTp>RCUR</SeqTp>" in text
    assert "<MsgId>PVS-ENF-1-20270105</MsgId>" in text and "Zoe Ca" in text
    with pytest.raises(ValueError):
        sepa.check_totals(xml, lines[:1])


# --- Mandates ------------------------------------------------------------------------------------


def test_a_mandate_is_signed_with_the_code_emailed_and_keeps_its_evidence(sepa_world):
    world = sepa_world
    mandate, code = services_sepa.start_mandate(
        famille=world.famille, regie=world.regie, user=world.user, holder_name="Françoise DURAND",
        iban="FR14 2004 1010 0505 0001 3M02 606", consent=True, ip="192.0.2.7",
        user_agent="Firefox",
    )  # fmt: skip
    assert mandate.status == MandateStatus.EN_ATTENTE and mandate.rum == ""
    [mail] = OutgoingEmail.objects.filter(subject__contains="code pour signer")
    assert mail.to == ["francoise.durand@example.fr"] and code in mail.body
    assert code not in mandate.code_hash
    wrong = "000000" if code != "000000" else "111111"
    failed = services_sepa.confirm_mandate(mandate=mandate, user=world.user, code=wrong, ip=None)
    assert "essai 1 sur 5" in failed.error
    done = services_sepa.confirm_mandate(
        mandate=mandate, user=world.user, code=code, ip="192.0.2.8", user_agent="Firefox"
    )
    assert done.ok
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIF
    assert mandate.rum.startswith("PVS-ENF-") and len(mandate.rum) <= 35
    assert mandate.signed_on == today() and mandate.bic == "PSSTFRPP"
    assert mandate.iban == FAMILY_IBAN
    assert mandate.evidence["consent"] is True
    assert mandate.evidence["asked_ip"] == "192.0.2.7"
    assert mandate.evidence["confirmed_ip"] == "192.0.2.8"
    assert mandate.evidence["ics"] == ICS and len(mandate.evidence["wording_sha256"]) == 64
    assert AuditEntry.objects.filter(action="mandat.signe", target_id=mandate.pk).exists()
    assert OutgoingEmail.objects.filter(subject__contains=mandate.rum).exists()


def test_a_code_is_refused_after_five_wrong_tries_or_once_expired(sepa_world):
    world = sepa_world
    mandate, code = services_sepa.start_mandate(
        famille=world.famille, regie=world.regie, user=world.user, holder_name="F DURAND",
        iban=FAMILY_IBAN, consent=True, ip=None,
    )  # fmt: skip
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        services_sepa.confirm_mandate(mandate=mandate, user=world.user, code=wrong, ip=None)
    late = services_sepa.confirm_mandate(mandate=mandate, user=world.user, code=code, ip=None)
    assert "plus valable" in late.error
    other, code = services_sepa.start_mandate(
        famille=world.famille, regie=world.regie, user=world.user, holder_name="F DURAND",
        iban=FAMILY_IBAN, consent=True, ip=None,
    )  # fmt: skip
    Mandate.objects.filter(pk=other.pk).update(
        code_expires_at=other.code_expires_at - timedelta(hours=1)
    )
    expired = services_sepa.confirm_mandate(mandate=other, user=world.user, code=code, ip=None)
    assert "plus valable" in expired.error
    assert not Mandate.objects.filter(status=MandateStatus.ACTIF).exists()


def test_a_mandate_needs_consent_a_holder_and_a_valid_iban(sepa_world):
    world = sepa_world
    with pytest.raises(ValidationError) as error:
        services_sepa.start_mandate(
            famille=world.famille, regie=world.regie, user=world.user, holder_name=" ",
            iban="FR1520041010050500013M02606", consent=False, ip=None,
        )  # fmt: skip
    assert set(error.value.message_dict) == {"holder_name", "iban", "consent"}
    assert not Mandate.objects.exists()


def test_a_new_account_makes_a_new_mandate_that_replaces_the_old(sepa_world):
    world = sepa_world
    first = sign(world)
    second = sign(world, iban="DE89370400440532013000")
    refresh(first)
    assert first.status == MandateStatus.REMPLACE and first.ended_at is not None
    assert second.status == MandateStatus.ACTIF and second.rum != first.rum
    assert second.bic == "COBADEFFXXX"


def test_a_regie_records_a_paper_mandate(sepa_world):
    world = sepa_world
    mandate = services_sepa.record_paper_mandate(
        regie=world.regie, famille=world.famille, actor=world.agent, holder_name="Paul DURAND",
        iban=FAMILY_IBAN, signed_on=date(2026, 11, 2), rum="ENF-PAPIER-0001",
    )  # fmt: skip
    assert mandate.status == MandateStatus.ACTIF and mandate.source == "papier"
    assert mandate.rum == "ENF-PAPIER-0001" and mandate.signed_on == date(2026, 11, 2)
    with pytest.raises(ValidationError) as error:
        services_sepa.record_paper_mandate(
            regie=world.regie, famille=world.famille, actor=world.agent, holder_name="P",
            iban=FAMILY_IBAN, signed_on=today() + timedelta(days=1), rum="ENF-PAPIER-0001",
        )  # fmt: skip
    assert set(error.value.message_dict) == {"signed_on", "rum"}


# --- « Prélevé le … » and no « Payer » -----------------------------------------------------------


def test_an_invoice_of_a_family_with_a_mandate_says_when_it_is_debited(sepa_world):
    world = sepa_world
    assert debit_dates([world.sejour]) == {}
    sign(world)
    day = announced(world)  # the notice (14 days) after the mandate, or the due date
    assert debit_dates([world.sejour, world.cantine]) == {
        world.sejour.pk: day,
        world.cantine.pk: day,
    }
    state = invoice_state(world.sejour, today=today(), debit_on=day)
    assert state.text == f"À régler : 73,80 € — prélevé le {day:%d/%m/%Y} (prélèvement automatique)"
    assert state.payable is False
    with pytest.raises(ValidationError, match="Aucune facture à régler"):
        services.start_payment(
            famille=world.famille, user=world.user, commune=world.commune,
            invoice_ids=[world.sejour.pk],
        )  # fmt: skip


def test_the_notice_runs_from_the_invoice_when_signed_before(sepa_world):
    world = sepa_world
    sign(world)
    later = make_invoice(world.regie, world.famille, "12.00")
    Invoice.objects.filter(pk=later.pk).update(
        issued_on=today() + timedelta(days=20), due_on=today() + timedelta(days=25)
    )
    later.refresh_from_db()
    assert debit_dates([later]) == {later.pk: today() + timedelta(days=34)}


# --- Batches -------------------------------------------------------------------------------------


def test_a_batch_takes_the_invoices_due_by_its_date_in_one_valid_file(sepa_world):
    world = sepa_world
    mandate = sign(world)
    with pytest.raises(ValidationError, match="au plus tôt"):
        prepare(world, today() + timedelta(days=1))
    with pytest.raises(ValidationError, match="Aucune facture à prélever"):
        prepare(world, announced(world) - timedelta(days=1))
    batch = prepare(world)
    assert batch.status == BatchStatus.PREPARE
    assert batch.count == 2 and batch.total == D("144.35")  # 73,80 + 70,55
    debits = list(batch.debits.order_by("invoice__number"))
    assert [d.amount for d in debits] == [D("73.80"), D("70.55")]
    assert {d.sequence_type for d in debits} == {SequenceType.FRST}
    assert {d.mandate_id for d in debits} == {mandate.pk}
    sepa.validate(batch.xml.encode())
    assert "<CtrlSum>144.35</CtrlSum>" in batch.xml and mandate.rum in batch.xml
    assert f"<ReqdColltnDt>{collection_day(world):%Y-%m-%d}</ReqdColltnDt>" in batch.xml
    refresh(world.sejour, world.cantine)
    assert world.sejour.status == world.cantine.status == InvoiceStatus.PRELEVEMENT_EN_COURS
    assert InvoiceStatusChange.objects.filter(
        invoice=world.sejour, to_status=InvoiceStatus.PRELEVEMENT_EN_COURS
    ).exists()
    assert AuditEntry.objects.filter(action="prelevement.lot_prepare").count() == 1
    # Nothing left for a second batch of the same day.
    with pytest.raises(ValidationError, match="Aucune facture à prélever"):
        prepare(world)


def test_an_invoice_held_by_a_card_payment_under_way_is_left_out(sepa_world):
    world = sepa_world
    transaction, _ = services.start_payment(
        famille=world.famille, user=world.user, commune=world.commune,
        invoice_ids=[world.sejour.pk],
    )  # fmt: skip
    sign(world)
    batch = prepare(world)
    assert list(batch.debits.values_list("invoice_id", flat=True)) == [world.cantine.pk]
    assert batch.total == D("70.55")
    assert transaction.status == TransactionStatus.EN_ATTENTE


def test_the_next_batch_of_a_mandate_is_rcur(sepa_world):
    world = sepa_world
    sign(world)
    first = prepare(world)
    services_sepa.mark_sent(batch=first, actor=world.agent)
    later = make_invoice(world.regie, world.famille, "20.15", label="Restauration décembre")
    day = collection_day(world) + timedelta(days=7)
    second = prepare(world, day)
    [debit] = second.debits.all()
    assert debit.invoice_id == later.pk and debit.sequence_type == SequenceType.RCUR
    assert "<SeqTp>RCUR</SeqTp>" in second.xml and "<SeqTp>FRST</SeqTp>" not in second.xml


def test_a_batch_cancelled_before_sending_gives_the_invoices_back(sepa_world):
    world = sepa_world
    sign(world)
    batch = services_sepa.cancel_batch(batch=prepare(world), actor=world.agent)
    assert batch.status == BatchStatus.ANNULE
    refresh(world.sejour)
    assert world.sejour.status == InvoiceStatus.A_REGLER
    assert set(batch.debits.values_list("status", flat=True)) == {DebitStatus.RETIRE}
    with pytest.raises(ValidationError):
        services_sepa.mark_sent(batch=batch, actor=world.agent)


def test_an_invoice_in_a_batch_is_paid_neither_at_the_counter_nor_by_card(sepa_world):
    world = sepa_world
    sign(world)
    prepare(world)
    with pytest.raises(ValidationError, match="en cours de prélèvement"):
        billing.record_payment(
            regie=world.regie, famille=world.famille, allocations=[(world.sejour, D("73.80"))],
            method=PaymentMethod.ESPECES, received_on=today(), actor=world.agent,
        )  # fmt: skip
    with pytest.raises(ValidationError):
        services.start_payment(
            famille=world.famille, user=world.user, commune=world.commune,
            invoice_ids=[world.sejour.pk],
        )  # fmt: skip
    outside = make_invoice(world.regie, world.famille, "3.00")
    with pytest.raises(ValidationError, match="pas dans un lot"):
        billing.record_payment(
            regie=world.regie, famille=world.famille, allocations=[(outside, D("3.00"))],
            method=PaymentMethod.PRELEVEMENT, received_on=today(), actor=world.agent,
        )  # fmt: skip


def test_a_card_payment_the_bank_confirms_late_for_a_debited_invoice_is_a_trop_percu(sepa_world):
    world = sepa_world
    transaction, _ = services.start_payment(
        famille=world.famille, user=world.user, commune=world.commune,
        invoice_ids=[world.sejour.pk],
    )  # fmt: skip
    # The family gives up on the bank's page; the debit takes the invoice.
    services.simulate_notification(transaction=transaction, result="abandonne", remote_addr=None)
    sign(world)
    prepare(world)
    # The bank confirms the card payment after all.
    transaction.refresh_from_db()
    outcome = services.simulate_notification(
        transaction=transaction, result="paye", remote_addr=None
    )
    assert outcome.handled
    refresh(world.sejour)
    assert world.sejour.status == InvoiceStatus.PRELEVEMENT_EN_COURS and world.sejour.paid == 0
    assert TropPercu.objects.get().amount == D("73.80")
    assert not Payment.objects.filter(method=PaymentMethod.CARTE).exists()


def test_revoking_a_mandate_takes_its_debits_out_of_an_unsent_batch(sepa_world):
    world = sepa_world
    mandate = sign(world)
    batch = prepare(world)
    services_sepa.revoke_mandate(mandate=mandate, actor=world.user)
    refresh(mandate, batch, world.sejour)
    assert mandate.status == MandateStatus.REVOQUE
    assert batch.status == BatchStatus.ANNULE
    assert world.sejour.status == InvoiceStatus.A_REGLER
    assert debit_dates([world.sejour]) == {}
    assert OutgoingEmail.objects.filter(subject__startswith="Fin de votre mandat").exists()


# --- Settlement and rejects ----------------------------------------------------------------------


def sent_batch(world):
    sign(world)
    batch = prepare(world)
    return services_sepa.mark_sent(batch=batch, actor=world.agent)


def test_invoices_are_paid_on_the_due_date_through_billings_payment_path(
    sepa_world, receipts, django_capture_on_commit_callbacks
):
    world = sepa_world
    batch = sent_batch(world)
    day = batch.collection_date
    assert services_sepa.settle_due_batches(today=day - timedelta(days=1)) == []
    refresh(world.sejour)
    assert world.sejour.status == InvoiceStatus.PRELEVEMENT_EN_COURS
    with django_capture_on_commit_callbacks(execute=True):
        [(_batch, count)] = services_sepa.settle_due_batches(today=day)
    assert count == 2
    refresh(batch, world.sejour, world.cantine)
    assert batch.status == BatchStatus.REGLE
    assert world.sejour.status == world.cantine.status == InvoiceStatus.REGLEE
    assert world.sejour.paid == D("73.80") and world.cantine.paid == D("70.55")
    payments = Payment.objects.filter(method=PaymentMethod.PRELEVEMENT).order_by("amount")
    assert [p.amount for p in payments] == [D("70.55"), D("73.80")]
    assert {p.received_on for p in payments} == {day}
    assert {p.payer_name for p in payments} == {"Françoise DURAND"}
    assert len(receipts) == 2
    assert services_sepa.settle_due_batches(today=day) == []  # once


def test_the_periodic_command_settles_the_batches_due(sepa_world, receipts):
    world = sepa_world
    batch = sent_batch(world)
    out = StringIO()
    call_command("settle_direct_debits", "--date", f"{batch.collection_date:%Y-%m-%d}", stdout=out)
    assert "2 prélèvement(s)" in out.getvalue()
    refresh(batch)
    assert batch.status == BatchStatus.REGLE


def test_a_reject_makes_the_invoice_due_again_with_the_fee_and_an_email(sepa_world):
    world = sepa_world
    batch = sent_batch(world)
    debit = batch.debits.get(invoice=world.sejour)
    services_sepa.record_reject(debit=debit, code="AM04", rejected_on=today(), actor=world.agent)
    refresh(debit, world.sejour)
    assert debit.status == DebitStatus.REJETE and debit.reject_code == "AM04"
    assert world.sejour.status == InvoiceStatus.A_REGLER and world.sejour.due_amount == D("73.80")
    assert debit.fee_invoice.total == D("5.00")
    assert debit.fee_invoice.famille_id == world.famille.pk
    [mail] = OutgoingEmail.objects.filter(subject__startswith="Prélèvement rejeté")
    assert "provision insuffisante" in mail.body and "5,00 €" in mail.body
    assert "73,80 €" in mail.body
    # Due again, never debited again: the family pays by card.
    assert world.sejour.pk not in debit_dates([world.sejour])
    assert invoice_state(world.sejour, today=today()).payable
    transaction, _ = services.start_payment(
        famille=world.famille, user=world.user, commune=world.commune,
        invoice_ids=[world.sejour.pk],
    )  # fmt: skip
    assert transaction.amount == D("73.80")
    with pytest.raises(ValidationError, match="plus en cours"):
        services_sepa.record_reject(
            debit=debit, code="AM04", rejected_on=today(), actor=world.agent
        )


def test_a_reject_after_settlement_cancels_the_payment(sepa_world, receipts):
    world = sepa_world
    batch = sent_batch(world)
    services_sepa.settle_due_batches(today=batch.collection_date)
    debit = batch.debits.get(invoice=world.cantine)
    services_sepa.record_reject(debit=debit, code="MD06", rejected_on=today(), actor=world.agent)
    refresh(debit, world.cantine)
    assert debit.payment.status == PaymentStatus.ANNULE
    assert world.cantine.status == InvoiceStatus.A_REGLER and world.cantine.paid == 0


def test_two_rejects_in_a_row_suspend_the_mandate(sepa_world):
    world = sepa_world
    batch = sent_batch(world)
    first, second = batch.debits.order_by("pk")
    services_sepa.record_reject(debit=first, code="AC04", rejected_on=today(), actor=world.agent)
    mandate = Mandate.objects.get(status__in=["actif", "suspendu"])
    assert mandate.status == MandateStatus.ACTIF and mandate.consecutive_rejects == 1
    services_sepa.record_reject(debit=second, code="AC04", rejected_on=today(), actor=world.agent)
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.SUSPENDU
    assert AuditEntry.objects.filter(action="mandat.suspendu").exists()
    later = make_invoice(world.regie, world.famille, "9.99")
    assert debit_dates([later]) == {}  # suspended: nothing debited until reviewed
    services_sepa.reactivate_mandate(mandate=mandate, actor=world.agent)
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIF and mandate.consecutive_rejects == 0
    assert later.pk in debit_dates([later])


def next_month(world, batch, amount):
    later = make_invoice(world.regie, world.famille, amount, label="Restauration")
    day = batch.collection_date + timedelta(days=31)
    following = services_sepa.prepare_batch(regie=world.regie, collection_date=day,
                                            actor=world.agent)  # fmt: skip
    services_sepa.mark_sent(batch=following, actor=world.agent)
    services_sepa.settle_due_batches(today=following.collection_date)
    return following, following.debits.get(invoice=later)


def test_a_reject_that_comes_after_its_settlement_still_counts_in_a_row(sepa_world):
    # The bank's rejects come days after the collection: January's arrives once January is
    # settled; February's, once February is. Two in a row all the same.
    world = sepa_world
    january = sent_batch(world)
    services_sepa.settle_due_batches(today=january.collection_date)
    services_sepa.record_reject(debit=january.debits.order_by("pk").first(), code="AM04",
                                rejected_on=today(), actor=world.agent)  # fmt: skip
    mandate = Mandate.objects.get(status="actif")
    assert mandate.consecutive_rejects == 1
    _february, debit = next_month(world, january, "20.15")
    mandate.refresh_from_db()
    assert mandate.consecutive_rejects == 1  # January's collection was not kept whole
    services_sepa.record_reject(debit=debit, code="AM04", rejected_on=today(), actor=world.agent)
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.SUSPENDU


def test_a_collection_kept_whole_ends_the_run_of_rejects(sepa_world):
    world = sepa_world
    january = sent_batch(world)
    services_sepa.settle_due_batches(today=january.collection_date)
    services_sepa.record_reject(debit=january.debits.order_by("pk").first(), code="AM04",
                                rejected_on=today(), actor=world.agent)  # fmt: skip
    february, _debit = next_month(world, january, "20.15")  # paid, never rejected
    _march, debit = next_month(world, february, "18.40")
    mandate = Mandate.objects.get(status="actif")
    assert mandate.consecutive_rejects == 0  # February stayed paid a collection later
    services_sepa.record_reject(debit=debit, code="AM04", rejected_on=today(), actor=world.agent)
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIF and mandate.consecutive_rejects == 1


def test_a_rejects_file_with_an_impossible_year_names_the_line(sepa_world):
    world = sepa_world
    batch = sent_batch(world)
    debit = batch.debits.order_by("pk").first()
    result = services_sepa.import_rejects(
        regie=world.regie,
        text=f"{debit.end_to_end_id};AM04;01/01/99999999999999999999",
        actor=world.agent,
    )
    assert result.recorded == [] and "Ligne 1 : date illisible." in result.errors


def test_rejects_are_imported_line_by_line(sepa_world):
    world = sepa_world
    batch = sent_batch(world)
    debit = batch.debits.get(invoice=world.sejour)
    result = services_sepa.import_rejects(
        regie=world.regie,
        text=f"{debit.end_to_end_id};MS02;{today():%d/%m/%Y}\nINCONNU;AM04\nbad\n{debit.end_to_end_id};ZZ99",
        actor=world.agent,
    )
    assert [d.pk for d in result.recorded] == [debit.pk]
    assert len(result.errors) == 3
    assert "Ligne 2" in result.errors[0] and "Ligne 3" in result.errors[1]
    debit.refresh_from_db()
    assert debit.reject_code == "MS02"


def test_a_reject_of_an_unsent_batch_or_with_a_future_date_is_refused(sepa_world):
    world = sepa_world
    sign(world)
    batch = prepare(world)
    debit = batch.debits.first()
    with pytest.raises(ValidationError, match="pas été transmis"):
        services_sepa.record_reject(
            debit=debit, code="AM04", rejected_on=today(), actor=world.agent
        )
    with pytest.raises(ValidationError) as error:
        services_sepa.record_reject(
            debit=debit, code="XX", rejected_on=today() + timedelta(days=1), actor=world.agent
        )
    assert set(error.value.message_dict) == {"code", "rejected_on"}


def test_everything_is_scoped_by_commune(sepa_world):
    world = sepa_world
    other = make_world(slug="autreville", name="Autreville")
    with pytest.raises(ValidationError):
        services_sepa.start_mandate(
            famille=other.famille, regie=world.regie, user=other.user, holder_name="X",
            iban=FAMILY_IBAN, consent=True, ip=None,
        )  # fmt: skip
    sign(world)
    assert debit_dates([other.sejour]) == {}
    assert Debit.objects.count() == 0


def test_the_invoice_pdf_is_the_pre_notification_of_its_debit(sepa_world):
    from parvis.billing import pdf
    from parvis.billing.tests.test_pdf_support import pdf_text

    world = sepa_world
    before = " ".join(pdf_text(pdf.invoice_pdf(world.sejour)).split())
    assert "Comment payer" in before and "prélevée" not in before
    sign(world)
    text = " ".join(pdf_text(pdf.invoice_pdf(world.sejour)).split())
    assert f"Cette facture sera prélevée le {announced(world):%d/%m/%Y} sur votre compte" in text
    assert "73,80 €" in text and "Comment payer" not in text
