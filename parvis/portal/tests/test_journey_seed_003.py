"""Seed 003's guide walked whole in Chromium, with axe on every page, on a desktop and on a
360 px phone: on Carrières-sur-Seine's « Espace Citoyens Premium », the MARTIN family logs in
with its « Code famille » F000001 and its password, is greeted with its last visit (not
« Première connexion »), books an evening of « Garderie du soir » for Jules, pays last month's
invoice through the payment module (the demo's simulator), and files a « Signalement d'un
changement de coordonnées »."""

import re
from datetime import datetime
from decimal import Decimal as D

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.models import Reservation, Unit
from parvis.activities.rules import PARIS
from parvis.billing.models import Invoice, InvoiceStatus
from parvis.communes.demo import DEMO_PASSWORD
from parvis.demarches.models import Demande, Status
from parvis.families import demo as families_demo
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible, main_nav

pytestmark = pytest.mark.browser

CSS = "/carrieres-sur-seine"
# Monday 23 November 2026, 10:00 in Paris: Thursday 26 can still be booked (until Wednesday 9:00).
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)


@pytest.fixture
def seed_003_site(demo_site):
    with time_machine.travel(NOW, tick=True):
        for loader in LOADERS[1:]:  # demo_site loaded the communes
            loader()
        yield Invoice.objects.get(famille__commune__slug="carrieres-sur-seine")


def check(page, *, phone: bool) -> None:
    assert_accessible(page)
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360


def walk(page, invoice, *, phone: bool) -> None:
    # « entrez votre code famille (identifiant) et votre mot de passe personnalisé »
    page.goto(f"{CSS}/")
    expect(page.locator(".brand__tagline")).to_have_text("Espace Citoyens Premium")
    expect(page).to_have_title(re.compile(r"— Espace Citoyens Premium — Carrières-sur-Seine"))
    check(page, phone=phone)
    box = page.get_by_role("region", name="Accéder au portail")
    box.get_by_label("Code famille", exact=True).fill(families_demo.FAMILY_CODE_READY)
    box.get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
    box.get_by_role("button", name="Connexion").click()

    # « un accueil personnalisé »
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Madame MARTIN")
    expect(page.get_by_text("Dernière connexion le 17/11/2025 à 18:42")).to_be_visible()
    expect(page.get_by_text("Première connexion")).to_have_count(0)
    check(page, phone=phone)

    # « effectuer des réservations »
    page.goto(f"{CSS}/mon-espace/activites/")
    expect(page.get_by_text("Accueil périscolaire élémentaire").first).to_be_visible()
    check(page, phone=phone)
    page.get_by_role(
        "link", name="Modifier les réservations — Accueil périscolaire élémentaire, Jules"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accueil périscolaire élémentaire")
    check(page, phone=phone)
    page.get_by_role("link", name="Commencer").click()
    soir = Unit.objects.get(commune__slug="carrieres-sur-seine", code="GARD_PM")
    page.locator(f'input[value="{soir.pk}:2026-11-26"]').check()
    check(page, phone=phone)
    page.get_by_role("button", name="Aller à l'étape 2").click()
    expect(page.get_by_text("jeudi 26/11/2026 — Garderie du soir (GARD_PM)")).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("button", name="Valider").click()
    expect(
        page.get_by_role("status").filter(has_text="Vos demandes sont enregistrées")
    ).to_be_visible()
    check(page, phone=phone)
    assert Reservation.objects.filter(unit=soir, day="2026-11-26").exists()

    # « payer vos factures en ligne et les consulter »
    main_nav(page).get_by_role("link", name="Mon compte").click()
    expect(page.get_by_text("Solde à régler : 47,00 €")).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("link", name=f"{invoice.number} - Facture d'octobre 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture n° {invoice.number}")
    check(page, phone=phone)
    page.get_by_role("link", name="Paiements").click()
    check(page, phone=phone)
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_text("Module de paiement sécurisé").first).to_be_visible()
    expect(page.get_by_text("47,00 €").first).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_text("Facture réglée : 47,00 €")).to_be_visible()
    check(page, phone=phone)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid) == (InvoiceStatus.REGLEE, D("47.00"))

    # « Signalement d'un changement de coordonnées (adresse, téléphone, mail, etc) »
    page.goto(f"{CSS}/mon-espace/mes-informations/?onglet=coordonnees")
    expect(page.get_by_text("5 chiffres, par exemple : 78420.").first).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("link", name="Signalement d'un changement de coordonnées").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Signalement d'un changement de coordonnées"
    )
    check(page, phone=phone)
    page.get_by_role("button", name="Commencer").click()
    page.get_by_label("Nouvelle adresse : numéro et voie").fill("12, quai Charles-de-Gaulle")
    page.get_by_label("Nouvelle adresse : code postal").fill("78420")
    page.get_by_label("Nouvelle adresse : ville").fill("Carrières-sur-Seine")
    page.get_by_label("Oui").check()
    check(page, phone=phone)
    page.get_by_role("button", name="Aller à l'étape 2").click()
    expect(page.get_by_text("12, quai Charles-de-Gaulle")).to_be_visible()
    check(page, phone=phone)
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre demande est envoyée")
    check(page, phone=phone)
    demande = Demande.objects.get(procedure__slug="changement-de-coordonnees")
    assert demande.status == Status.EN_ATTENTE
    assert demande.answers["adresse"]["street"] == "12, quai Charles-de-Gaulle"


def test_seed_003_walked_whole_on_a_desktop(seed_003_site, browser_page):
    walk(browser_page, seed_003_site, phone=False)


def test_seed_003_walked_whole_on_a_phone(seed_003_site, phone_page):
    walk(phone_page, seed_003_site, phone=True)
