"""A visitor's journey through a commune's public pages, in Chromium, with axe on every page.

The clock is frozen on a Monday (time-machine moves the clock of this process, which serves the
pages from the live server's threads) so the « ouvert / fermé » badges are deterministic.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.testing.browser import assert_accessible, main_nav

pytestmark = pytest.mark.browser

PARIS = ZoneInfo("Europe/Paris")
MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
MONDAY_12H30 = datetime(2026, 11, 23, 12, 30, tzinfo=PARIS)
HOME = "/carrieres-sous-poissy/"
TOWN_HALL_TABLE = "Horaires d'ouverture de l'Hôtel de Ville"
REGIE_TABLE = "Horaires d'ouverture : Régie centrale"


def day_hours(page, table_name: str, day: str):
    """The hours cell of `day`'s row in the table captioned `table_name`."""
    table = page.get_by_role("table", name=table_name)
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=day, exact=True))
    return row.get_by_role("cell")


def open_infos_pratiques(page):
    page.goto(HOME)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur le portail « Démarches numériques » de Carrières-sous-Poissy"
    )
    assert_accessible(page)
    nav = main_nav(page)
    nav.get_by_role("link", name="Infos pratiques").click()
    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/infos-pratiques/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Infos pratiques")
    # On a phone the new page's menu is folded again: open it to read the current entry.
    expect(main_nav(page).get_by_role("link", name="Infos pratiques")).to_have_attribute(
        "aria-current", "page"
    )


def test_visitor_reads_hours_and_news(demo_site, browser_page):
    page = browser_page
    with time_machine.travel(MONDAY_10H, tick=True):
        open_infos_pratiques(page)

        town_hall = page.get_by_role("region", name="Hôtel de Ville")
        expect(town_hall.get_by_text("Ouvert maintenant — ferme à 12h00")).to_be_visible()
        expect(day_hours(page, TOWN_HALL_TABLE, "Lundi")).to_have_text("8h30-12h / 13h45-17h30")

        regie = page.get_by_role("region", name="Régie centrale")
        expect(regie.get_by_text("Ouvert maintenant — ferme à 12h00")).to_be_visible()
        expect(day_hours(page, REGIE_TABLE, "Lundi")).to_have_text("8h30-12h / 13h45-16h")
        expect(day_hours(page, REGIE_TABLE, "Mardi")).to_have_text("8h30-12h")
        assert_accessible(page)

        main_nav(page).get_by_role("link", name="Actualités").click()
        expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/actualites/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Actualités")
        assert_accessible(page)

        title = "La Régie centrale fermée du 28 au 31 décembre"
        page.get_by_role("link", name=title).click()
        expect(page).to_have_url(re.compile(r"/actualites/regie-fermee-fin-decembre/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page).to_have_title(re.compile(rf"^{re.escape(title)}"))
        assert_accessible(page)


def test_lunch_break_badge(demo_site, browser_page):
    page = browser_page
    with time_machine.travel(MONDAY_12H30, tick=True):
        page.goto(HOME)
        home_town_hall = page.get_by_role("region", name="Hôtel de Ville")
        expect(home_town_hall.get_by_text("Fermé — ouvre à 13h45")).to_be_visible()

        page.goto(HOME + "infos-pratiques/")
        town_hall = page.get_by_role("region", name="Hôtel de Ville")
        expect(town_hall.get_by_text("Fermé — ouvre à 13h45")).to_be_visible()
        regie = page.get_by_role("region", name="Régie centrale")
        expect(regie.get_by_text("Fermé — ouvre à 13h45")).to_be_visible()


def test_phone_journey_has_no_horizontal_scroll(demo_site, phone_page):
    page = phone_page
    with time_machine.travel(MONDAY_10H, tick=True):
        page.goto(HOME)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        open_infos_pratiques(page)
        expect(day_hours(page, REGIE_TABLE, "Lundi")).to_have_text("8h30-12h / 13h45-16h")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert_accessible(page)


def test_skip_link_is_first_tab_stop(demo_site, browser_page):
    page = browser_page
    page.goto(HOME)
    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Aller au contenu")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#contenu$"))


def test_footer_links(demo_site, browser_page):
    page = browser_page
    page.goto(HOME)
    footer = page.get_by_role("contentinfo")
    for name in (
        "Mentions légales",
        "Conditions générales d'utilisation",
        "Contacts",
        "Retour au site principal",
    ):
        expect(footer.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(footer.get_by_role("link", name="Retour au site principal")).to_have_attribute(
        "href", "https://www.carrieres-sous-poissy.fr"
    )
