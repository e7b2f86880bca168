"""An account holder's requests, through the real pages from end to end, in Chromium with axe on
every page: Françoise DURAND logs in, reports her new address (« Signalement d'un changement de
coordonnées »), the enfance agent accepts it at the guichet, and her household's address changes;
then she joins the paperless invoice (« Adhésion à la facture en ligne », seed 000)."""

import re

import pytest
from playwright.sync_api import expect

from parvis.communes.demo import DEMO_PASSWORD
from parvis.demarches import demo as demarches_demo
from parvis.demarches.models import Demande, Status
from parvis.families import demo as families_demo
from parvis.families.models import Famille
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"


def log_in_francoise(page):
    page.goto(f"{CSP}/connexion/")
    page.get_by_label("Identifiant").fill(families_demo.CITIZEN_EMAIL)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Madame DURAND")


def start(page, title):
    page.goto(f"{CSP}/demarches/")
    page.get_by_role("link", name=title).first.click()
    assert_accessible(page)
    page.get_by_role("button", name="Commencer").click()


def submit_from_summary(page) -> str:
    expect(page.get_by_role("button", name="Valider")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre demande est envoyée")
    number = page.locator(".demarche-number").inner_text()
    assert re.fullmatch(r"DEM-\d{4}-\d{6}", number), number
    assert_accessible(page)
    return number


def test_a_change_of_address_accepted_by_the_agent_moves_the_household(demo_site, browser_page):
    families_demo.load()
    demarches_demo.load()
    page = browser_page
    log_in_francoise(page)

    start(page, "Signalement d'un changement de coordonnées")
    # Pre-filled from her account; she types the new address.
    expect(page.get_by_label("Nouvelle adresse : numéro et voie")).to_have_value(
        "12, rue de l'Église"
    )
    page.get_by_label("Nouvelle adresse : numéro et voie").fill("7, avenue de la Gare")
    page.get_by_label("Nouvelle adresse : code postal").fill("78955")
    page.get_by_label("Nouvelle adresse : ville").fill("Carrières-sous-Poissy")
    page.get_by_label("Oui").check()
    assert_accessible(page)
    page.get_by_role("button", name="Aller à l'étape 2").click()
    number = submit_from_summary(page)
    assert Demande.objects.get(number=number).status == Status.EN_ATTENTE

    # The enfance agent, in another browser, takes it on and accepts it.
    agent_context = page.context.browser.new_context(base_url=demo_site, locale="fr-FR")
    agent = agent_context.new_page()
    agent.goto(f"{CSP}/guichet/connexion/")
    agent.get_by_label("Identifiant").fill("csp-enfance")
    agent.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Connexion").click()
    agent.goto(f"{CSP}/guichet/demandes/{number}/")
    expect(agent.get_by_text("7, avenue de la Gare")).to_be_visible()
    agent.get_by_role("button", name="Prendre en charge").click()
    agent.get_by_text("Accepter la demande", exact=True).click()
    agent.get_by_role("form", name="Accepter la demande").get_by_role(
        "button", name="Accepter", exact=True
    ).click()
    expect(agent.locator(".demande-state")).to_have_text(re.compile("Acceptée"))
    assert_accessible(agent)
    agent_context.close()

    # Her space and the family file now carry the new address.
    page.goto(f"{CSP}/mon-espace/mes-informations/?onglet=coordonnees")
    expect(page.get_by_label("Adresse")).to_have_value("7, avenue de la Gare")
    assert_accessible(page)
    assert Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND").address == (
        "7, avenue de la Gare"
    )


def test_joining_the_paperless_invoice(demo_site, browser_page):
    families_demo.load()
    demarches_demo.load()
    page = browser_page
    log_in_francoise(page)

    start(page, "Adhésion à la facture en ligne")
    expect(page.get_by_text("Durée approximative de cette démarche : 2 mn")).to_be_visible()
    expect(page.locator("[aria-current=step]")).to_contain_text("1 - Ma demande")
    expect(
        page.get_by_text("souhaitez-vous adhérer à la facture/compte en ligne ?")
    ).to_be_visible()
    page.get_by_label("Oui").check()
    page.get_by_role("button", name="Aller à l'étape 2").click()
    number = submit_from_summary(page)

    famille = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND")
    assert famille.paperless_invoice
    assert Demande.objects.get(number=number).status == Status.ACCEPTEE
    page.goto(f"{CSP}/demarches/mes-demandes/")
    expect(page.get_by_role("listitem").filter(has_text=number)).to_contain_text("Acceptée")
    assert_accessible(page)
