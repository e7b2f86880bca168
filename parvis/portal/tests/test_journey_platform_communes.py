"""A resident finds their commune on the platform's page among many, on a 360 px phone and on a
desktop, with axe on every page: the search (without accents nor capitals), the next page keeping
the search, an empty result, then the commune's home."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from parvis.communes.tests.factories import CommuneFactory
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

SEARCH_LABEL = "Rechercher votre commune"


def many_communes() -> None:
    """25 « Saint-Rémy » beside the demo's two communes: two pages of results."""
    for n in range(25):
        CommuneFactory(name=f"Saint-Rémy-{n:02d}", slug=f"saint-remy-{n:02d}", postal_code="13210")


def search(page, text: str) -> None:
    field = page.get_by_label(SEARCH_LABEL)
    field.fill(text)
    field.press("Enter")


def test_a_resident_searches_their_commune_and_opens_it(demo_site, phone_page):
    many_communes()
    page = phone_page
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisissez votre commune")
    expect(page.get_by_role("status")).to_have_text("27 communes en ligne. Page 1 sur 2.")
    assert_accessible(page)
    # Nothing wider than the phone's 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    search(page, "saint remy")
    expect(page).to_have_url(re.compile(r"/\?q=saint\+remy$"))
    expect(page.get_by_role("status")).to_have_text(
        "25 communes correspondent à « saint remy ». Page 1 sur 2."
    )
    results = page.get_by_role("main").get_by_role("list").first.get_by_role("listitem")
    expect(results).to_have_count(20)
    page.get_by_role("link", name="Page suivante").click()
    expect(page).to_have_url(re.compile(r"/\?q=saint\+remy&page=2$"))
    expect(page.get_by_label(SEARCH_LABEL)).to_have_value("saint remy")
    expect(results).to_have_count(5)
    assert_accessible(page)

    search(page, "Atlantide")
    expect(page.get_by_role("status")).to_have_text("Aucune commune ne correspond à « Atlantide ».")
    assert_accessible(page)

    search(page, "CARRIERES SOUS")
    expect(page.get_by_role("status")).to_have_text("1 commune correspond à « CARRIERES SOUS ».")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name="Carrières-sous-Poissy").click()
    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Carrières-sous-Poissy")
    assert_accessible(page)


def test_the_keyboard_goes_from_the_search_to_the_results_then_the_pages(demo_site, browser_page):
    many_communes()
    page = browser_page
    page.goto("/?q=78")
    field = page.get_by_label(SEARCH_LABEL)
    field.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Rechercher")).to_be_focused()
    page.keyboard.press("Tab")
    # The postal code 78… : the two demo communes, in the order of their names.
    expect(page.get_by_role("link", name="Carrières-sous-Poissy")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Carrières-sur-Seine")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Voir toutes les communes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    page.get_by_label(SEARCH_LABEL).focus()
    for _ in range(2 + 20):  # the button, the page's twenty communes
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Page suivante")).to_be_focused()
    assert_accessible(page)
