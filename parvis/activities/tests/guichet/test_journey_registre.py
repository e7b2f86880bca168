"""An agent's register in Chromium, with axe on every page: the demo's csp-enfance agent logs
in, opens « Activités », « Registres de présence », the canteen's register of a demo school
day, ticks Léa present with the keyboard and Hugo absent with a click, saves, and reads the
message and each child's state in words; the page prints without navigation nor buttons. And
the same on a 360 px phone, tapping large targets.

The demo's bookings start the day after it is loaded: loaded on Friday 13 November 2026, Léa
has « Acc Matin » on Mondays and both DURAND children the canteen every school day; the clock
is then Monday 16 November 2026, 10:00 in Paris."""

import re
from datetime import date, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.models import Attendance
from parvis.activities.rules import PARIS
from parvis.testing.browser import assert_accessible, log_in_agent, main_nav

pytestmark = pytest.mark.browser

GUICHET = "/carrieres-sous-poissy/guichet/"
LOADED = date(2026, 11, 13)
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=PARIS)


@pytest.fixture
def registre_site(demo_site):
    from parvis.activities import demo as activities_demo
    from parvis.families import demo as families_demo

    families_demo.load()
    with time_machine.travel(NOW, tick=True):
        activities_demo.load(today=LOADED)
        yield demo_site


def ticks():
    return {
        row.child.first_names: (row.present, row.booked)
        for row in Attendance.objects.select_related("child", "unit").filter(day=NOW.date())
    }


def open_registers(page):
    log_in_agent(page, GUICHET, "csp-enfance")
    main_nav(page).get_by_role("link", name="Activités").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activités")
    assert_accessible(page)
    page.get_by_role("link", name="Registres de présence").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Registres de présence")
    expect(page.get_by_role("heading", level=1)).to_contain_text("lundi 16/11/2026")
    assert_accessible(page)


def test_an_agent_ticks_the_canteen_register(registre_site, browser_page):
    page = browser_page
    open_registers(page)
    page.get_by_role("link", name=re.compile(r"^Registre : Repas")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Registre de présence — Restauration scolaire"
    )
    # Léa and Hugo DURAND, and Nina ROBERT (shared custody, in the demo since issue 19).
    expect(page.get_by_text("3 enfants réservés")).to_be_visible()
    expect(page.get_by_text("⚠ PAI")).to_be_visible()  # Hugo's
    assert_accessible(page)

    present = page.get_by_role("radio", name="Présent — Léa DURAND")
    present.focus()
    page.keyboard.press("Space")
    expect(present).to_be_checked()
    page.get_by_text("Absent — Hugo DURAND").click()  # the whole label is the target
    expect(page.get_by_role("radio", name="Absent — Hugo DURAND")).to_be_checked()
    page.get_by_role("button", name="Enregistrer le pointage").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Pointage enregistré : 1 présent, 1 absent (2 pointages nouveaux ou modifiés)."
    )
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="DURAND Léa")).to_contain_text("✓ présent")
    expect(rows.filter(has_text="DURAND Hugo")).to_contain_text("✗ absent")
    expect(page.get_by_role("radio", name="Présent — Léa DURAND")).to_be_checked()
    assert_accessible(page)
    assert ticks() == {"Léa": (True, True), "Hugo": (False, True)}

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Enregistrer le pointage")).to_be_hidden()
    expect(page.get_by_role("link", name="Retour aux registres du jour")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(rows.filter(has_text="DURAND Léa")).to_contain_text("✓ présent")


def test_the_same_on_a_phone(registre_site, phone_page):
    page = phone_page
    open_registers(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name=re.compile(r"^Registre : Acc Matin")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Registre de présence — Accueil Périscolaire Maternelle"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    target = page.get_by_text("Absent — Léa DURAND")
    box = target.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # a finger's size
    target.tap()
    page.get_by_role("button", name="Enregistrer le pointage").tap()

    expect(page.get_by_role("status")).to_contain_text("Pointage enregistré")
    expect(page.get_by_role("row").filter(has_text="DURAND Léa")).to_contain_text("✗ absent")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    assert ticks() == {"Léa": (False, True)}
