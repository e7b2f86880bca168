"""From any footer to the accessibility statement and its grid, on a 360 px phone, with axe."""

import pytest
from playwright.sync_api import expect

from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

HOME = "/carrieres-sous-poissy/"


def test_phone_reaches_the_statement_and_the_grid_from_the_footer(demo_site, phone_page):
    page = phone_page
    page.goto(HOME)
    footer = page.get_by_role("contentinfo")
    footer.get_by_role("link", name="Accessibilité : non conforme").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Déclaration d'accessibilité")
    expect(page.get_by_text("Ce portail est non conforme avec le référentiel")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)

    page.get_by_role(
        "link", name="Consulter la grille d'auto-évaluation, critère par critère"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grille d'auto-évaluation RGAA 4.1")
    expect(page.get_by_role("table")).to_have_count(13)
    images = page.get_by_role("table", name="Thème 1 : Images, 9 critères")
    expect(images.get_by_role("rowheader", name="1.1", exact=True)).to_be_visible()
    # The page does not scroll sideways: a wide table scrolls in its own region.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    region = page.get_by_role("region", name="Thème 11 : Formulaires, 13 critères")
    expect(region).to_be_visible()
    expect(region).to_have_attribute("tabindex", "0")
    assert_accessible(page)


def test_phone_reaches_the_plan_du_site_from_the_footer_and_follows_it(demo_site, phone_page):
    """RGAA 12.1: besides the (folded) menu, the footer's « Plan du site » lists every page."""
    page = phone_page
    page.goto(f"{HOME}contacts/")
    page.get_by_role("contentinfo").get_by_role("link", name="Plan du site").click()

    expect(page).to_have_url(f"{demo_site}{HOME}plan-du-site/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan du site")
    for section in ("Pages publiques", "Espace famille", "Démarches", "Guichet des agents"):
        expect(page.get_by_role("heading", level=2, name=section)).to_be_visible()
    expect(page.get_by_text("demandent d'être connecté à votre espace famille")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)

    # Its links lead where they say: the display settings, from the plan's own list.
    page.get_by_role("main").get_by_role("link", name="Paramètres d'affichage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paramètres d'affichage")
