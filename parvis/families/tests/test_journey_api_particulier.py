"""Issue 20 §2, « Done when »: Françoise DURAND fetches her family quotient through the local API
Particulier (a real HTTP server, reached by the production client) and sees the canteen's price
change in the basket's estimate, in Chromium with axe on every page, on a desktop and on a 360 px
phone. Before: the QF computed from the tax notice (1 117,02 €), the meal at 3,30 € (2,97 € for
Léa, a second child); after: the CAF's QF of 612,00 €, the meal at 1,35 € (1,22 €)."""

import re
from datetime import datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.demarches.tests.test_journey_account_requests import CSP, log_in_francoise
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
GRID = f"{CSP}/mon-espace/reservations/foyer/?vue=mois&debut=2026-12-01"
MEAL = "Repas REPAS, Léa, lundi 14/12/2026"


@pytest.fixture
def billed_site(demo_site, api_server):
    from parvis.activities import demo as activities_demo
    from parvis.billing import demo as billing_demo
    from parvis.demarches import demo as demarches_demo
    from parvis.families import demo as families_demo
    from parvis.families import demo_api_particulier, demo_documents

    with time_machine.travel(NOW, tick=True):
        families_demo.load()
        demarches_demo.load()
        demo_documents.load()
        demo_api_particulier.load()
        activities_demo.load(today=NOW.date())
        billing_demo.load(today=NOW.date())
        yield


def basket_estimate(page):
    page.goto(GRID)
    expect(page.get_by_role("heading", name="Décembre 2026")).to_be_visible()
    page.get_by_label(MEAL).check()
    page.get_by_role("button", name="Voir le panier").first.click()
    section = page.get_by_role("region", name="Estimation du prix")
    expect(section).to_be_visible()
    return section


@pytest.mark.parametrize("device", ["browser_page", "phone_page"])
def test_the_qf_fetched_from_the_caf_lowers_the_canteen_price(request, billed_site, device):
    page = request.getfixturevalue(device)
    log_in_francoise(page)

    before = basket_estimate(page)
    # Léa is the second child: 10 % off the bracket's price (3,30 € → 2,97 €).
    expect(before).to_contain_text("Léa DURAND — Repas : 1 jour ajouté à 2,97 €")
    expect(before).to_contain_text("tranche QF de 1100 € à 1299,99 €, 3,30 €")
    expect(before).to_contain_text("quotient familial de 1117,02 € au 1er décembre 2026")

    # « Mon compte »: the QF computed from the tax notice, and the offer of the CAF's.
    page.goto(f"{CSP}/mon-espace/mes-informations/")
    panel = page.get_by_role("region", name="Quotient familial")
    expect(panel).to_contain_text("Calculé à partir de l'avis d'imposition")
    panel.get_by_role("link", name="Récupérer mon quotient familial CAF ou MSA").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Récupérer mon quotient familial CAF ou MSA"
    )
    assert_accessible(page)
    # Prefilled from the household file; she gives her commune of birth, not yet her consent.
    expect(page.get_by_label("Nom de naissance")).to_have_value("DURAND")
    expect(page.get_by_label("Date de naissance")).to_have_value("1986-04-09")
    page.get_by_role("group", name="Êtes-vous né ou née en France ?").get_by_label("Oui").check()
    page.get_by_label("Code de la commune de naissance").fill("78498")
    page.get_by_role("button", name="Récupérer mon quotient familial").click()
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    expect(page.get_by_role("alert")).to_contain_text("Cochez la case pour autoriser la demande")
    assert_accessible(page)

    page.get_by_label(re.compile("J'accepte que la commune demande")).check()
    page.get_by_role("button", name="Récupérer mon quotient familial").click()
    expect(
        page.get_by_text("Votre quotient familial de 612,00 € (CAF, novembre 2026)")
    ).to_be_visible()
    panel = page.get_by_role("region", name="Quotient familial")
    expect(panel).to_contain_text("612,00 €")
    expect(panel).to_contain_text("API Particulier (CAF ou MSA)")
    expect(panel).to_contain_text("novembre 2026 (CAF)")
    expect(panel).to_contain_text("Allocataire : FRANCOISE DURAND")
    assert_accessible(page)

    after = basket_estimate(page)
    # 1,35 € less 10 % = 1,215 €, rounded half up once: 1,22 €.
    expect(after).to_contain_text("Léa DURAND — Repas : 1 jour ajouté à 1,22 €")
    expect(after).to_contain_text("tranche QF de 400 € à 699,99 €, 1,35 €")
    expect(after).to_contain_text("quotient familial de 612,00 € au 1er décembre 2026")
    assert_accessible(page)
