"""Who a PDF is addressed to (seed 000, « Mon compte »): an invoice names the family's « Payeur des
factures » chosen in its file — by default the responsable whose account acts for the family, not
the oldest one —; a receipt names who paid: the account that paid online, or at the counter the
family's payer. Read back from the PDFs with pypdf."""

from datetime import date
from decimal import Decimal as D

import pytest

from parvis.billing import pdf
from parvis.billing.models import PaymentMethod
from parvis.billing.services import record_payment
from parvis.billing.tests.test_pdf_support import make_invoice, make_world, pdf_text
from parvis.families.services import choose_payeur
from parvis.families.tests.factories import AgentFactory, PersonneFactory
from parvis.payments import services as payments_services
from parvis.payments.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Françoise (born 1986, her account acts for the family) and Marc (born 1984, no account):
    the demo DURAND household, where every PDF used to say « Monsieur Marc DURAND »."""
    world = make_world()
    world.responsable.birth_date = date(1986, 4, 9)
    world.responsable.save(update_fields=["birth_date"])
    world.marc = PersonneFactory(
        famille=world.famille, civility="m", first_names="Marc", birth_date=date(1984, 11, 2)
    )
    access = world.famille.accesses.get()
    access.personne = world.responsable
    access.save(update_fields=["personne"])
    world.user.civility, world.user.first_name, world.user.last_name = "mme", "Françoise", "Durand"
    world.user.save(update_fields=["civility", "first_name", "last_name"])
    return world


def addressee_of(content: bytes) -> str:
    """The name under the family's code on the first page: the bold line of the address."""
    text = pdf_text(content)
    return next(
        name
        for name in ("Madame Françoise DURAND", "Monsieur Marc DURAND", "Famille DURAND")
        if name in text
    )


def test_without_a_chosen_payer_the_invoice_goes_to_the_account_holder_not_the_oldest(world):
    invoice = make_invoice(world)
    text = pdf_text(pdf.invoice_pdf(invoice))
    assert "Madame Françoise DURAND" in text
    assert "Marc" not in text


def test_the_payer_chosen_in_the_family_file_is_the_invoices_addressee(world):
    agent = AgentFactory(commune=world.commune)
    choose_payeur(famille=world.famille, actor=agent, payeur=world.marc)
    invoice = make_invoice(world)
    text = pdf_text(pdf.invoice_pdf(invoice))
    assert "Monsieur Marc DURAND" in text
    assert "Françoise" not in text
    # The printing batch reads the payer from the same prefetched rows.
    assert "Monsieur Marc DURAND" in pdf_text(pdf.invoices_pdf([invoice]))


def test_francoises_online_payment_receipt_names_her_even_when_marc_is_the_payer(world):
    agent = AgentFactory(commune=world.commune)
    choose_payeur(famille=world.famille, actor=agent, payeur=world.marc)
    invoice = make_invoice(world)
    Transaction.objects.create(
        commune=world.commune,
        famille=world.famille,
        user=world.user,
        reference="PARVIS-T-1",
        provider="simulateur",
        amount=D("151.65"),
    )
    transaction = Transaction.objects.get(reference="PARVIS-T-1")
    payment = record_payment(
        regie=world.regie,
        famille=world.famille,
        allocations=[(invoice, D("151.65"))],
        method=PaymentMethod.CARTE,
        received_on=date(2026, 4, 2),
        actor=None,
        transaction_reference="PARVIS-T-1",
        send_receipt=False,
        # What the payment's notification records (payments.services._apply).
        payer_name=payments_services._payer_name(transaction),
    )
    text = pdf_text(pdf.receipt_pdf(payment))
    assert addressee_of(pdf.receipt_pdf(payment)) == "Madame Françoise DURAND"
    assert "Marc" not in text
    assert "Montant reçu : 151,65 €" in text


def test_a_counter_payments_receipt_names_the_familys_payer(world):
    agent = AgentFactory(commune=world.commune)
    invoice = make_invoice(world)

    def counter_receipt(amount):
        payment = record_payment(
            regie=world.regie,
            famille=world.famille,
            allocations=[(invoice, D(amount))],
            method=PaymentMethod.CHEQUE,
            received_on=date(2026, 4, 2),
            reference="Chèque n° 7654321",
            actor=agent,
            send_receipt=False,
        )
        return pdf_text(pdf.receipt_pdf(payment))

    first = counter_receipt("100.00")
    assert "Madame Françoise DURAND" in first and "Marc" not in first
    choose_payeur(famille=world.famille, actor=agent, payeur=world.marc)
    second = counter_receipt("51.65")
    assert "Monsieur Marc DURAND" in second and "Françoise" not in second
    assert "Montant reçu : 51,65 €" in second


def test_the_person_who_paid_at_the_counter_names_the_receipt(world):
    agent = AgentFactory(commune=world.commune)
    invoice = make_invoice(world)
    payment = record_payment(
        regie=world.regie,
        famille=world.famille,
        allocations=[(invoice, D("20.00"))],
        method=PaymentMethod.ESPECES,
        received_on=date(2026, 4, 2),
        actor=agent,
        payer_name="  Madame   Odile MARTIN ",
        send_receipt=False,
    )
    assert payment.payer_name == "Madame Odile MARTIN"
    assert addressee_of_any(pdf.receipt_pdf(payment), "Madame Odile MARTIN")


def addressee_of_any(content: bytes, name: str) -> bool:
    text = pdf_text(content)
    return name in text and "Françoise" not in text and "Marc" not in text
