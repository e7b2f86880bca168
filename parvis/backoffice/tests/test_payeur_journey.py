"""« Payeur des factures » at the guichet, in Chromium at 360 px with axe: the régie agent opens
the DURAND file (« Payeur des factures : Françoise DURAND (par défaut) »), chooses Marc, and the
file then names him; his name is what the invoices' PDFs address."""

import re

import pytest
from playwright.sync_api import expect

from parvis.backoffice.tests.test_journey_guichet import CSP
from parvis.testing.browser import assert_accessible, log_in_agent

pytestmark = pytest.mark.browser


def test_the_regie_chooses_marc_as_payer_on_a_phone(demo_site, phone_page):
    from parvis.families import demo as families_demo
    from parvis.families.models import Famille

    families_demo.load()
    page = phone_page
    log_in_agent(page, CSP, "csp-regie")
    page.goto(f"{CSP}familles/1/")
    responsables = page.get_by_role("region", name="Responsables")
    expect(responsables).to_contain_text("Payeur des factures : Françoise DURAND (par défaut)")
    assert_accessible(page)
    responsables.get_by_role("link", name="Choisir le payeur des factures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Payeur des factures")
    expect(page.get_by_label("Par défaut : Madame Françoise DURAND")).to_be_checked()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_label("Monsieur Marc DURAND").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page).to_have_url(re.compile(r"/guichet/familles/1/$"))
    expect(page.get_by_text("Le payeur des factures est enregistré.")).to_be_visible()
    expect(page.get_by_role("region", name="Responsables")).to_contain_text(
        "Payeur des factures : Marc DURAND"
    )
    assert_accessible(page)
    famille = Famille.objects.get(commune__slug="carrieres-sous-poissy", number=1)
    assert famille.payeur.first_names == "Marc"
