"""The régie at the counter in Chromium, axe on every page: the demo's csp-regie agent opens
« Régie » from the navigation, finds the DURAND family's invoice, types too much (refused next to
the field, the entry kept), then « 45,10 », reads the payment with « Imprimer le reçu », cancels it
with a reason, and sends a reminder; then the same pages on a 360 px phone."""

import re
from datetime import date, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.billing.models import InvoiceStatus, Payment
from parvis.communes.models import Commune
from parvis.families.models import Famille
from parvis.testing.browser import _WATCHES, assert_accessible, log_in_agent
from parvis.testing.regie import make_invoice, make_regie

pytestmark = pytest.mark.browser

SLUG = "carrieres-sous-poissy"
GUICHET = f"/{SLUG}/guichet/"
NOW = datetime(2026, 10, 20, 10, 0, tzinfo=PARIS)


@pytest.fixture
def regie_site(demo_site):
    from parvis.families import demo as families_demo

    families_demo.load()
    commune = Commune.objects.get(slug=SLUG)
    durand = Famille.objects.get(commune=commune, name="DURAND")
    regie = make_regie(commune, code="CPT", name="Régie du guichet")
    invoice = make_invoice(regie, durand, "45.10", due_on=date(2026, 10, 15))
    with time_machine.travel(NOW, tick=True):
        yield invoice


def expect_bad_request(page):
    """A refused form answers 400, which Chromium logs as a console error: expected here, and
    only that."""
    page.evaluate("0")
    problems = _WATCHES[page].take_unreported()
    assert problems and all("status of 400" in problem for problem in problems), problems


def test_a_payment_at_the_counter(regie_site, browser_page):
    invoice, page = regie_site, browser_page
    log_in_agent(page, GUICHET, "csp-regie")
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Régie"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Régie — factures à régler")
    expect(page.get_by_text("En retard", exact=True).first).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name=f"Facture n° {invoice.number}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Facture n° {invoice.number}")
    assert_accessible(page)
    page.get_by_role("link", name="Encaisser", exact=True).click()
    expect(page.get_by_label("Montant reçu (€)")).to_have_value("45,10")
    assert_accessible(page)

    page.get_by_label("Chèque").check()
    page.get_by_label("Montant reçu (€)").fill("45,11")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.get_by_role("alert")).to_contain_text("Le montant dépasse ce qui reste dû")
    expect_bad_request(page)
    expect(page.get_by_label("Montant reçu (€)")).to_have_value("45,11")
    assert_accessible(page)
    page.get_by_label("Montant reçu (€)").fill("45,10")
    page.get_by_label("Référence").fill("1234567 — Banque Postale")
    page.get_by_role("button", name="Enregistrer le paiement").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Paiement — reçu n° 1")
    expect(page.get_by_text("Paiement de 45,10 € enregistré : reçu n° 1.")).to_be_visible()
    expect(page.get_by_role("link", name="Imprimer le reçu")).to_be_visible()
    assert_accessible(page)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REGLEE

    page.get_by_label("Motif de l'annulation").fill("Chèque sans provision")
    page.get_by_role("button", name="Annuler ce paiement").click()
    expect(page.get_by_text("Motif de l'annulation")).to_be_visible()
    expect(page.get_by_text("Chèque sans provision")).to_be_visible()
    assert_accessible(page)
    assert Payment.objects.get().status == "annule"

    menu = page.get_by_role("navigation", name="Pages de la régie")
    page.goto(f"{GUICHET}regie/")
    menu.get_by_role("link", name="Relances").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Régie — relances")
    assert_accessible(page)
    page.get_by_label(f"Relancer la facture n° {invoice.number}").check()
    page.get_by_role("button", name="Envoyer une relance").click()
    # The reminders' job page (a background job: done at once by the tests' backend).
    expect(page.get_by_role("heading", level=1)).to_have_text("Relances des factures en retard")
    expect(page.get_by_text("1 relance envoyée par courriel.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Retour à la liste").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Régie — relances")

    for name, heading in (
        ("Paiements", "Régie — paiements"),
        ("Export pour la trésorerie", "Régie — export pour la trésorerie"),
    ):
        menu.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(page)


def test_the_counter_on_a_phone(regie_site, phone_page):
    invoice, page = regie_site, phone_page
    log_in_agent(page, GUICHET, "csp-regie")
    for path in (
        "regie/",
        f"regie/factures/{invoice.pk}/",
        f"regie/factures/{invoice.pk}/encaisser/",
        f"regie/familles/{invoice.famille_id}/encaisser/",
        "regie/paiements/",
        "regie/relances/",
    ):
        page.goto(f"{GUICHET}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)  # no sideways scrolling but in the tables
    page.goto(f"{GUICHET}regie/factures/{invoice.pk}/encaisser/")
    page.get_by_text("Espèces", exact=True).click()
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page).to_have_url(re.compile(r"/regie/paiements/\d+/$"))
