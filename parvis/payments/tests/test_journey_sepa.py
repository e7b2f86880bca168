"""Issue 19 §1 « Done when », in Chromium with axe on every page, on a desktop and on a 360 px
phone: Françoise DURAND signs a SEPA mandate from « Mon compte » (the code e-mailed) and her
next invoice says « prélevé le … » without « Payer »; the régie (`csp-regie`) prepares the
batch of that date, downloads its pain.008 (valid against the schema), marks it transmitted and
records the bank's reject; the invoice is due again and Françoise pays it by card."""

import re
from datetime import datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.billing.models import Invoice, InvoiceKind, InvoiceStatus, PaymentMethod
from parvis.communes.demo import DEMO_PASSWORD
from parvis.demarches.tests.test_journey_account_requests import log_in_francoise
from parvis.payments import sepa
from parvis.payments.models import Debit, DebitStatus, Mandate, MandateStatus
from parvis.payments.selectors_sepa import debit_dates
from parvis.payments.tests.sepa_fixtures import FAMILY_IBAN
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible, main_nav

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=PARIS)


@pytest.fixture
def sepa_site(demo_site):
    with time_machine.travel(NOW, tick=True):
        for loader in LOADERS[1:]:  # demo_site loaded the communes
            loader()
        yield demo_site


def check(page, *, phone: bool) -> None:
    assert_accessible(page)
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360


def sign_the_mandate(page, *, phone: bool) -> Mandate:
    log_in_francoise(page)
    main_nav(page).get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", name="Prélèvement automatique")).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("link", name="Signer un mandat de prélèvement (Régie enfance)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mandat de prélèvement SEPA")
    expect(page.get_by_text("En signant ce formulaire de mandat, vous autorisez")).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("button", name="Recevoir le code de confirmation").click()
    expect(page).to_have_title(re.compile(r"^Erreur"))
    check(page, phone=phone)
    page.get_by_label("Titulaire du compte").fill("Françoise DURAND")
    page.get_by_label("IBAN").fill("FR14 2004 1010 0505 0001 3M02 606")
    page.get_by_label("J'autorise la régie").check()
    page.get_by_role("button", name="Recevoir le code de confirmation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer le mandat de prélèvement")
    check(page, phone=phone)
    [message] = [m for m in mail.outbox if "code pour signer" in m.subject]
    code = re.search(r"\b(\d{6})\b", message.body).group(1)
    page.get_by_label("Code reçu par courriel").fill(code)
    page.get_by_role("button", name="Signer le mandat").click()
    mandate = Mandate.objects.get(famille__name="DURAND", status=MandateStatus.ACTIF)
    assert mandate.iban == FAMILY_IBAN and mandate.signed_on == NOW.date()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Mandat de prélèvement {mandate.rum}"
    )
    check(page, phone=phone)
    return mandate


def walk(page, site: str, *, phone: bool) -> None:
    october = Invoice.objects.get(
        kind=InvoiceKind.MENSUELLE, famille__name="DURAND", regie__code="ENF"
    )
    sign_the_mandate(page, phone=phone)
    day = debit_dates([october])[october.pk]
    page.get_by_role("link", name="Retour à Mon compte").click()
    expect(
        page.get_by_text(
            f"À régler : 66,18 € — prélevé le {day:%d/%m/%Y} (prélèvement automatique)"
        )
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Payer plusieurs factures")).to_have_count(0)
    check(page, phone=phone)

    # The régie prepares the batch of that day, downloads the file, sends it, enters a reject.
    context = page.context.browser.new_context(
        base_url=site, locale="fr-FR", viewport=page.viewport_size, accept_downloads=True
    )
    agent = context.new_page()
    agent.goto(f"{CSP}/guichet/connexion/")
    agent.get_by_label("Identifiant").fill("csp-regie")
    agent.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Connexion").click()
    agent.goto(f"{CSP}/guichet/regie/prelevements/")
    expect(agent.get_by_role("heading", level=1)).to_have_text("Régie — prélèvements automatiques")
    check(agent, phone=phone)
    agent.get_by_label("Date de prélèvement").fill(f"{day:%Y-%m-%d}")
    agent.get_by_role("button", name="Préparer un lot").click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text(f"Prélèvements du {day:%d/%m/%Y}")
    expect(agent.get_by_text("66,18 €").first).to_be_visible()
    check(agent, phone=phone)
    with agent.expect_download() as download:
        agent.get_by_role("link", name=re.compile("Télécharger le fichier pain.008")).click()
    xml = Path(download.value.path()).read_bytes()
    sepa.validate(xml)
    assert b"<CtrlSum>66.18</CtrlSum>" in xml and b"<SeqTp>FRST</SeqTp>" in xml
    agent.get_by_role("button", name="Noter le lot transmis à la banque").click()
    expect(agent.get_by_text("Lot noté transmis à la banque")).to_be_visible()
    check(agent, phone=phone)
    agent.get_by_label("Motif du rejet (code de la banque)").first.select_option("AM04")
    agent.get_by_role("button", name="Enregistrer le rejet").first.click()
    expect(agent.get_by_text("AM04 — provision insuffisante sur le compte")).to_be_visible()
    check(agent, phone=phone)
    context.close()
    debit = Debit.objects.get(invoice=october)
    assert debit.status == DebitStatus.REJETE and debit.amount == D("66.18")
    assert any("Prélèvement rejeté" in m.subject for m in mail.outbox)

    # The family pays the invoice by card.
    page.reload()
    expect(page.get_by_text("À régler : 66,18 € avant le").first).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("link", name=f"{october.number} - Facture d'octobre 2026").click()
    page.get_by_role("link", name="Paiements").click()
    check(page, phone=phone)
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_text("Module de paiement sécurisé").first).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_text("Facture réglée : 66,18 €")).to_be_visible()
    check(page, phone=phone)
    october.refresh_from_db()
    assert (october.status, october.paid) == (InvoiceStatus.REGLEE, D("66.18"))
    [allocation] = october.allocations.filter(payment__status="valide")
    assert allocation.payment.method == PaymentMethod.CARTE


def test_sepa_mandate_batch_reject_and_card_on_a_desktop(sepa_site, browser_page):
    walk(browser_page, sepa_site, phone=False)


def test_sepa_mandate_batch_reject_and_card_on_a_phone(sepa_site, phone_page):
    walk(phone_page, sepa_site, phone=True)
