"""The seed's path « GÉRER ET PAYER SES FACTURES », in Chromium with axe on every page:
Françoise DURAND opens « Mon compte », clicks last month's invoice, checks the amount, clicks
« Paiements », then « Payer », pays on the secure payment module (the simulator, the demo
commune's provider), comes back to « Facture réglée » and finds her « reçu de paiement » in her
mailbox as a PDF. Only the simulator's signed notification marked the invoice paid."""

import re
from datetime import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.core import mail
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.billing.models import Invoice, InvoiceKind, InvoiceStatus
from parvis.demarches.tests.test_journey_account_requests import log_in_francoise
from parvis.payments.models import Exchange, Transaction
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=PARIS)


@pytest.fixture
def demo_invoices(demo_site):
    with time_machine.travel(NOW, tick=True):
        for loader in LOADERS[1:]:  # demo_site loaded the communes
            loader()
        yield Invoice.objects.get(kind=InvoiceKind.MENSUELLE, famille__name="DURAND")


def test_mon_compte_paiements_payer_simulator_facture_reglee(demo_invoices, browser_page):
    october, page = demo_invoices, browser_page
    log_in_francoise(page)
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Mon compte"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    expect(page.get_by_text("7916 - Séjour CT 3 (Ecole du PARC)")).to_be_visible()
    expect(page.get_by_text("Facture réglée : 73,80 €")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="7917 - Facture d'octobre 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Facture n° 7917")
    expect(page.get_by_text("66,18 €").first).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Paiements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiements")
    assert_accessible(page)
    page.get_by_role("button", name="Payer", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Paiement par carte bancaire")
    expect(page.get_by_text("Module de paiement sécurisé").first).to_be_visible()
    expect(page.get_by_text("66,18 €").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Payer", exact=True).click()

    expect(page.get_by_text("Facture réglée : 66,18 €")).to_be_visible()
    assert_accessible(page)
    october.refresh_from_db()
    assert (october.status, october.paid) == (InvoiceStatus.REGLEE, D("66.18"))
    transaction = Transaction.objects.get(famille=october.famille)
    assert Exchange.objects.filter(
        transaction=transaction, kind="notification", verified=True
    ).exists()

    receipts = [m for m in mail.outbox if "reçu de paiement" in m.subject]
    assert len(receipts) == 1
    assert receipts[0].to == ["francoise.durand@example.fr"]
    name, content, mimetype = receipts[0].attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    assert re.fullmatch(r"recu-\d+\.pdf", name)

    page.get_by_role("link", name="Retour à « Mon compte »").click()
    expect(page.get_by_text("Facture réglée : 66,18 €")).to_be_visible()
