"""A receipt names who paid then, not who pays now: a payment recorded without a name (the agent
emptied « Payé par », an online payment without its account) keeps the family's « Payeur des
factures » of that day, so choosing another payer later does not rename an old receipt."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.utils import translation

from parvis.billing import pdf
from parvis.billing.models import PaymentMethod
from parvis.billing.services import record_payment
from parvis.billing.tests.test_pdf_payeur import addressee_of, world  # noqa: F401 (fixture)
from parvis.billing.tests.test_pdf_support import make_invoice
from parvis.families.services import choose_payeur
from parvis.families.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_an_old_receipt_still_names_the_payer_of_its_day(world):  # noqa: F811
    agent = AgentFactory(commune=world.commune)
    invoice = make_invoice(world)
    with translation.override("en"):  # an agent browsing in English records it
        payment = record_payment(
            regie=world.regie, famille=world.famille, allocations=[(invoice, D("100.00"))],
            method=PaymentMethod.CHEQUE, received_on=date(2026, 4, 2), actor=agent,
            send_receipt=False,
        )  # fmt: skip
    assert payment.payer_name == "Madame Françoise DURAND"

    choose_payeur(famille=world.famille, actor=agent, payeur=world.marc)

    payment.refresh_from_db()
    assert addressee_of(pdf.receipt_pdf(payment)) == "Madame Françoise DURAND"
    later = record_payment(
        regie=world.regie, famille=world.famille, allocations=[(invoice, D("51.65"))],
        method=PaymentMethod.ESPECES, received_on=date(2026, 4, 3), actor=agent,
        send_receipt=False,
    )  # fmt: skip
    assert later.payer_name == "Monsieur Marc DURAND"
    assert addressee_of(pdf.receipt_pdf(later)) == "Monsieur Marc DURAND"
