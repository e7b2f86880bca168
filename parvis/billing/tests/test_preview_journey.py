"""The price preview in Chromium on a 360 px phone, with axe: Françoise DURAND (the demo household,
billed by the demo « Régie enfance ») ticks a canteen day for Léa and one for Hugo in the
household grid, opens the basket and reads the estimate of December above « Valider »."""

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


@pytest.fixture
def billed_site(demo_site):
    from parvis.activities import demo as activities_demo
    from parvis.billing import demo as billing_demo
    from parvis.families import demo as families_demo

    with time_machine.travel(NOW, tick=True):
        families_demo.load()
        activities_demo.load(today=NOW.date())
        billing_demo.load(today=NOW.date())
        yield


def test_the_household_basket_shows_the_estimate_on_a_phone(billed_site, phone_page):
    page = phone_page
    log_in_francoise(page)
    page.goto(f"{CSP}/mon-espace/reservations/foyer/?vue=mois&debut=2026-12-01")
    expect(page.get_by_role("heading", name="Décembre 2026")).to_be_visible()
    page.get_by_label("Repas REPAS, Léa, lundi 14/12/2026").check()
    page.get_by_label("Repas REPAS, Hugo, lundi 14/12/2026").check()
    page.get_by_role("button", name="Voir le panier").first.click()

    expect(page.get_by_role("heading", name="Panier")).to_be_visible()
    section = page.get_by_role("region", name="Estimation du prix")
    expect(section).to_be_visible()
    expect(section.get_by_role("heading", name="Décembre 2026")).to_be_visible()
    expect(section).to_contain_text(
        re.compile(r"Estimation pour décembre 2026 : \+\d+,\d\d € ; total du mois \d+,\d\d €")
    )
    expect(section).to_contain_text("Léa DURAND — Repas : 1 jour ajouté à")
    expect(section).to_contain_text("Hugo DURAND — Repas : 1 jour ajouté à")
    assert_accessible(page)
