"""« Mon compte » on a 360 px phone, with axe on each page: Françoise DURAND opens « Mon compte »
from the navigation, reads « Facture réglée : 73,80 € » for the « Séjour CT 3 (Ecole du PARC) »
and her November invoice to pay, opens it, checks its lines, then « Paiements » with the
« Payer » button. (The payment itself is the online payment's journey.) From « Mon accueil »,
« Ma famille » › « Modifier les réservations »; from « Mon compte », « Adhésion à la facture en
ligne » with her current choice, and the procedure that changes it."""

import re
from datetime import date, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.billing.models import InvoiceKind, LineKind
from parvis.billing.tests.test_mon_compte import line, make_invoice, pay
from parvis.demarches.tests.test_journey_account_requests import log_in_francoise
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=PARIS)


@pytest.fixture
def invoices_site(demo_site, monkeypatch):
    from parvis.billing import demo as billing_demo
    from parvis.families import demo as families_demo
    from parvis.families.models import Famille

    monkeypatch.setattr("parvis.billing.delivery.send_receipt", lambda **kwargs: None)
    families_demo.load()
    regie = billing_demo.load()
    famille = Famille.objects.get(commune=regie.commune, name="DURAND")
    stay = make_invoice(
        regie, famille, line(LineKind.SEJOUR, "Séjour CT 3", 1, "73.80", child_name="Léa DURAND"),
        kind=InvoiceKind.UNIQUE, category="CLASSES TRANSPLANTÉES",
        label="Séjour CT 3 (Ecole du PARC)", issued_on=date(2026, 6, 30),
        due_on=date(2026, 7, 31),
    )  # fmt: skip
    pay(regie, famille, stay, "73.80", day=date(2026, 7, 2))
    november = make_invoice(
        regie, famille,
        line(label="Restauration — Léa DURAND", quantity=17, unit_price="4.15",
             child_name="Léa DURAND", price_label="QF de 1000 € à 1299,99 €"),
        line(LineKind.DEDUCTION, "Absence justifiée — Restauration", 1, "4.15",
             amount="-4.15", child_name="Léa DURAND", price_label="100 % du prix"),
        category="RÉGIE ENFANCE", label="Facture de novembre 2026",
    )  # fmt: skip
    with time_machine.travel(NOW, tick=True):
        yield november


def test_mon_compte_the_invoice_and_its_payments_on_a_phone(invoices_site, phone_page):
    november = invoices_site
    page = phone_page
    log_in_francoise(page)
    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.get_by_role("button", name="Menu").click()  # folded on a phone
    menu.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    expect(page.get_by_role("heading", name="FACTURATION UNIQUE")).to_be_visible()
    expect(page.get_by_text("Facture réglée : 73,80 €")).to_be_visible()
    expect(page.get_by_text("Solde à régler : 66,40 €")).to_be_visible()
    expect(
        page.get_by_label(f"Facture n° {november.number} - Facture de novembre 2026")
    ).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("link", name=f"{november.number} - Facture de novembre 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture n° {november.number}")
    table = page.get_by_role("table", name=f"Lignes de la facture n° {november.number}")
    expect(table).to_contain_text("70,55 €")
    expect(table).to_contain_text("Déduction")
    expect(table).to_contain_text("-4,15 €")
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("link", name="Paiements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiements")
    expect(page.get_by_text("Aucun paiement reçu pour cette facture.")).to_be_visible()
    expect(page.get_by_role("button", name="Payer")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_mon_accueil_then_adhesion_a_la_facture_en_ligne_from_mon_compte(invoices_site, phone_page):
    """Seed 000: « Dans la rubrique « Ma famille », cliquez sur « Modifier les réservations » »;
    « Pour recevoir les factures en ligne : 1. Cliquer sur « Mon compte » 2. Cliquer sur
    « Adhésion à la facture en ligne » », « Oui », « ALLER À L'ÉTAPE 2 »: one e-mail, and
    « Mon compte » says « Facture en ligne depuis le 10/12/2026 »."""
    from django.core import mail

    from parvis.demarches import demo as demarches_demo

    demarches_demo.load()
    page = phone_page
    log_in_francoise(page)
    famille = page.get_by_role("region", name="Ma famille")
    expect(famille.get_by_role("link", name="Modifier les réservations")).to_be_visible()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    famille.get_by_role("link", name="Modifier les réservations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier les réservations")

    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.get_by_role("button", name="Menu").click()  # folded on a phone
    menu.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_text("Payeur des factures : Madame Françoise DURAND")).to_be_visible()
    adhesion = page.get_by_role("region", name="Adhésion à la facture en ligne")
    expect(adhesion).to_contain_text(
        re.compile(r"Votre choix : Facture papier depuis le \d\d/\d\d/\d{4}")
    )
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    adhesion.get_by_role("link", name="Adhésion à la facture en ligne").click()
    page.get_by_role("button", name="Commencer").click()
    expect(
        page.get_by_text("souhaitez-vous adhérer à la facture/compte en ligne ?")
    ).to_be_visible()
    page.get_by_label("Oui").check()
    page.get_by_role("button", name="Aller à l'étape 2").click()
    mail.outbox.clear()
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre demande est envoyée")
    number = page.locator(".demarche-number").inner_text()
    assert [m.subject for m in mail.outbox if number in m.subject] == [
        f"Carrières-sous-Poissy — Adhésion à la facture en ligne ({number}) : Acceptée"
    ]

    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.get_by_role("button", name="Menu").click()  # folded on a phone
    menu.get_by_role("link", name="Mon compte").click()
    adhesion = page.get_by_role("region", name="Adhésion à la facture en ligne")
    expect(adhesion).to_contain_text("Votre choix : Facture en ligne depuis le 10/12/2026")
    expect(adhesion).to_contain_text("Vos factures vous sont envoyées par courriel")
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
