"""The régie's monthly invoicing in Chromium, with axe on every page: the demo's csp-regie agent
opens « Facturation mensuelle », « Nouvelle facturation » (November 2026, the previous month),
reads the DURAND family's lines, « Émettre les factures », reads the run and its paper invoices;
a month not over is refused next to its field. And, on a 360 px phone, a single invoice for
« Séjour CT 3 (Ecole du PARC) », a bad price said next to its field first.

The demo is loaded on Friday 13 November 2026 (bookings from the 16th); the clock is then
Thursday 3 December 2026, 10:00 in Paris."""

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.billing.models import Invoice, InvoiceKind
from parvis.families.models import Famille
from parvis.testing.browser import _WATCHES, assert_accessible, log_in_agent

pytestmark = pytest.mark.browser

GUICHET = "/carrieres-sous-poissy/guichet/"
LOADED = date(2026, 11, 13)
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=PARIS)


@pytest.fixture
def billing_site(demo_site):
    from parvis.activities import demo as activities_demo
    from parvis.billing import demo as billing_demo
    from parvis.families import demo as families_demo

    families_demo.load()
    with time_machine.travel(NOW, tick=True):
        activities_demo.load(today=LOADED)
        billing_demo.load(today=LOADED)
        yield demo_site


def heading(page):
    return page.get_by_role("heading", level=1)


def expect_bad_request(page) -> None:
    """A form sent with errors comes back « 400 Bad Request » (the guichet's rule), which
    Chromium logs: that one console line is expected, nothing else."""
    page.wait_for_load_state()
    problems = _WATCHES[page].take_unreported()
    assert problems and all("status of 400 (Bad Request)" in p for p in problems), problems


def test_the_regie_previews_and_issues_last_month(billing_site, browser_page):
    page = browser_page
    log_in_agent(page, GUICHET, "csp-regie")
    page.goto(f"{GUICHET}regie/facturation/")
    expect(heading(page)).to_have_text("Facturation mensuelle")
    assert_accessible(page)

    page.get_by_role("link", name="Nouvelle facturation").click()
    expect(page.get_by_role("heading", name=re.compile("Aperçu — novembre 2026"))).to_be_visible()
    assert_accessible(page)
    durand = page.get_by_role("row").filter(has_text="DURAND")
    durand.get_by_text(re.compile(r"lignes? — DURAND")).click()
    expect(
        durand.get_by_text(re.compile(r"Restauration scolaire \(Repas\) — Léa DURAND"))
    ).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name=re.compile("Émettre les factures")).click()
    expect(heading(page)).to_have_text("Facturation de novembre 2026 — Régie enfance")
    expect(page.get_by_role("status")).to_contain_text("Facturation de novembre 2026")
    expect(page.get_by_role("row").filter(has_text="DURAND")).to_contain_text("Facture n°")
    assert_accessible(page)
    assert Invoice.objects.filter(kind=InvoiceKind.MENSUELLE, month=date(2026, 11, 1)).exists()

    page.get_by_role("link", name="Factures à imprimer et à poster").click()
    expect(heading(page)).to_contain_text("Factures à imprimer — novembre 2026")
    assert_accessible(page)

    page.goto(f"{GUICHET}regie/facturation/nouvelle/")
    page.get_by_label("Mois facturé").fill("2026-12")
    page.get_by_role("button", name="Voir l'aperçu").click()
    expect(page.get_by_text("Ce mois n'est pas terminé").first).to_be_visible()
    expect_bad_request(page)
    assert_accessible(page)


def test_a_stay_invoice_on_a_phone(billing_site, phone_page):
    page = phone_page
    durand = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND")
    log_in_agent(page, GUICHET, "csp-regie")
    page.goto(f"{GUICHET}regie/sejours/nouvelle/")
    expect(heading(page)).to_have_text("Facture d'un séjour")
    assert_accessible(page)
    page.get_by_label("Code famille").fill(durand.reference)
    page.get_by_role("button", name="Choisir cette famille").tap()
    expect(
        page.get_by_role("heading", name=re.compile("2. Le séjour — famille DURAND"))
    ).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)

    page.get_by_label("Enfant").select_option(label="Hugo DURAND")
    page.get_by_label("Libellé").fill("Séjour CT 3 (Ecole du PARC)")
    page.get_by_label("Du", exact=True).fill("2026-11-09")
    page.get_by_label("Au (inclus)").fill("2026-11-13")
    page.get_by_label("Prix unitaire (€)").fill("soixante-treize")
    page.get_by_role("button", name="Émettre la facture").tap()
    expect(page.get_by_text("Indiquez un prix en euros et centimes").first).to_be_visible()
    expect_bad_request(page)
    expect(page.get_by_label("Libellé")).to_have_value("Séjour CT 3 (Ecole du PARC)")
    assert_accessible(page)

    page.get_by_label("Prix unitaire (€)").fill("73,80")
    page.get_by_role("button", name="Émettre la facture").tap()
    expect(page.get_by_role("status")).to_contain_text("Séjour CT 3 (Ecole du PARC), 73,80 €")
    invoice = Invoice.objects.get(kind=InvoiceKind.UNIQUE, label="Séjour CT 3 (Ecole du PARC)")
    assert (invoice.category, invoice.total, invoice.famille) == (
        "CLASSES TRANSPLANTÉES",
        Decimal("73.80"),
        durand,
    )
