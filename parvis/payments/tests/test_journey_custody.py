"""Separated parents (issue 19 §2, « Done when »), in Chromium with axe on every page: Nina
ROBERT of the demo lives alternate weeks with her mother (foyer PETIT, QF 1 250 €, the even
weeks) and her father (foyer ROBERT, QF 640 €, the odd weeks). Her mother booked all her
October meals; the régie's run gave each parent an invoice for their weeks at their own QF.
Camille PETIT (desktop) sees and pays only hers through the payment simulator; Julien ROBERT (a
360 px phone) sees only his, pays it too, and his calendar says which weeks he will be billed.

October 2026 before the Toussaint holidays (zone C, from the 17th): week 40 (1–2, even), 41
(5–9, odd), 42 (12–16, even), four meals a week from Monday to Friday but Wednesday: 6 meals
× 3,30 € = 19,80 € for the mother, 4 × 1,35 € = 5,40 € for the father."""

from datetime import datetime
from decimal import Decimal as D

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.billing.models import Invoice, InvoiceKind, InvoiceStatus
from parvis.communes.demo import DEMO_PASSWORD
from parvis.families import demo as families_demo
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=PARIS)
CSP = "/carrieres-sous-poissy"


@pytest.fixture
def split_invoices(demo_site, monkeypatch):
    with time_machine.travel(NOW, tick=True):
        for loader in LOADERS[1:]:  # demo_site loaded the communes
            loader()
        mensuelles = Invoice.objects.filter(kind=InvoiceKind.MENSUELLE)
        yield (
            mensuelles.get(famille__number=families_demo.PETIT_NUMBER),
            mensuelles.get(famille__number=families_demo.ROBERT_NUMBER),
        )


def log_in(page, email, greeting):
    page.goto(f"{CSP}/connexion/")
    page.get_by_label("Identifiant").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(greeting)


def pay_on_the_simulator(page, invoice, amount):
    page.goto(f"{CSP}/mon-espace/factures/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    link = page.get_by_role("link", name=f"{invoice.number} - Facture d'octobre 2026")
    expect(link).to_be_visible()
    assert_accessible(page)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture n° {invoice.number}")
    expect(page.get_by_text(amount).first).to_be_visible()
    expect(page.get_by_text("Nina ROBERT").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Paiements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiements")
    assert_accessible(page)
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiement par carte bancaire")
    expect(page.get_by_text(amount).first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_text(f"Facture réglée : {amount}")).to_be_visible()
    assert_accessible(page)


def test_the_mother_sees_and_pays_only_her_share(split_invoices, browser_page):
    mine, theirs = split_invoices
    assert (mine.total, theirs.total) == (D("19.80"), D("5.40"))
    page = browser_page
    log_in(page, families_demo.MOTHER_EMAIL, "Bonjour Madame PETIT")
    pay_on_the_simulator(page, mine, "19,80 €")
    body = page.locator("main")
    expect(body).not_to_contain_text(str(theirs.number))
    expect(body).not_to_contain_text("5,40 €")
    expect(body).not_to_contain_text("quai de Seine")
    # His invoice by its address (with her session): not found.
    assert page.request.get(f"{CSP}/mon-espace/factures/{theirs.pk}/").status == 404
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, mine.paid) == (InvoiceStatus.REGLEE, D("19.80"))
    assert theirs.status == InvoiceStatus.A_REGLER


def test_the_father_sees_his_weeks_and_pays_only_his_share_on_a_phone(split_invoices, phone_page):
    theirs, mine = split_invoices
    page = phone_page
    log_in(page, families_demo.FATHER_EMAIL, "Bonjour Monsieur ROBERT")
    pay_on_the_simulator(page, mine, "5,40 €")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    body = page.locator("main")
    expect(body).not_to_contain_text(str(theirs.number))
    expect(body).not_to_contain_text("19,80 €")
    expect(body).not_to_contain_text("rue des Écoles")
    for address in (f"{CSP}/mon-espace/factures/{theirs.pk}/",
                    f"{CSP}/mon-espace/factures/{theirs.pk}/pdf/"):  # fmt: skip
        assert page.request.get(address).status == 404

    # His daughter's canteen calendar: each week says who it is billed to.
    page.goto(f"{CSP}/mon-espace/activites/")
    assert_accessible(page)
    nina = theirs.lines.first().child_id
    page.goto(f"{CSP}/mon-espace/reservations/restauration/{nina}/?semaine=2026-11-23")
    expect(page.get_by_text("Facturé à votre foyer").first).to_be_visible()
    expect(page.get_by_text("Facturé à l'autre parent").first).to_be_visible()
    assert_accessible(page)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, mine.paid) == (InvoiceStatus.REGLEE, D("5.40"))
    assert theirs.status == InvoiceStatus.A_REGLER
