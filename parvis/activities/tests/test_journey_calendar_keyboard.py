"""The reservation calendar by keyboard and with a screen reader (issue 15 §2), in Chromium on
the demo data, on Friday 20 November 2026 (twelve weeks already past): Françoise DURAND opens
Léa's « Accueil Périscolaire Maternelle ».

With JavaScript: from the skip link, « Aller à la semaine du 23/11/2026, la première
modifiable » is a few Tabs away and puts the focus in that week; the agenda is one Tab stop with
the arrow keys inside; a week that cannot change has no button and says why; after « Tout
cocher » of a week (or of the whole period) the focus is back on the button used and the
message is read out. Without JavaScript: every box is a Tab stop, « Tout cocher » works and
the server's message shows next to the week the page opens on."""

import re
from datetime import datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.demarches.tests.test_journey_account_requests import CSP, log_in_francoise
from parvis.testing.browser import PHONE_VIEWPORT, _watched_page, assert_accessible

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
FIRST_WEEK = "2026-11-23"  # Monday 23 is past its deadline, Tuesday 24 can still be booked
MAX_TABS_TO_THE_FIRST_WEEK = 10

# What has the focus: its id, its text, the id of its week's row, whether it is in the agenda.
ACTIVE = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const row = e.closest("tr");
  return {
    id: e.id,
    text: (e.innerText || e.value || "").trim().replace(/\\s+/g, " "),
    week: row ? row.id : "",
    inGrid: !!e.closest("table[data-resa-grid]"),
  };
}"""

# Each row of the live agenda: whether a day can change, its buttons, whether it says why not.
ROWS = """() => Array.from(document.querySelectorAll("table[data-resa-grid] tbody tr")).map(
  (tr) => ({
    week: tr.id,
    changeable: !!tr.querySelector('input[type="checkbox"]:not([disabled])'),
    buttons: tr.querySelectorAll("button").length,
    why: (tr.querySelector(".resa-locked") || {}).innerText || "",
  }))"""


@pytest.fixture
def site(demo_site):
    from parvis.activities import demo as activities_demo
    from parvis.families import demo as families_demo

    with time_machine.travel(NOW, tick=True):
        families_demo.load()
        activities_demo.load(today=NOW.date())
        yield


def lea_calendar() -> str:
    from parvis.families.models import Personne

    lea = Personne.objects.get(
        famille__commune__slug="carrieres-sous-poissy", famille__name="DURAND", first_names="Léa"
    )
    return f"{CSP}/mon-espace/reservations/peri-maternelle/{lea.pk}/"


def box(code: str, day: str) -> str:
    """The selector of the checkbox of the unit `code` on `day` (« 2026-12-01 »)."""
    from parvis.activities.models import Unit

    unit = Unit.objects.get(activity__commune__slug="carrieres-sous-poissy", code=code)
    return f"#c-{unit.pk}-{day}"


def active(page) -> dict | None:
    return page.evaluate(ACTIVE)


def tab_stops(page) -> list[dict]:
    """Every Tab stop of the page, in order, from the top (a full turn)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.evaluate("() => window.scrollTo(0, 0)")
    stops = []
    for _ in range(400):
        page.keyboard.press("Tab")
        now = active(page)
        if now is None or (stops and now == stops[0]):
            break
        stops.append(now)
    return stops


def test_by_keyboard_the_first_week_tout_cocher_and_the_message(site, browser_page):
    page = browser_page
    log_in_francoise(page)
    page.goto(lea_calendar())
    expect(page.get_by_role("grid")).to_be_visible()  # calendrier.js has run
    expect(page.get_by_text("Au clavier : les flèches passent")).to_be_visible()
    assert_accessible(page)

    # One Tab stop for the whole agenda (it had one per box and button: 295 on this page).
    stops = tab_stops(page)
    in_grid = [stop for stop in stops if stop["inGrid"]]
    assert len(in_grid) == 1, in_grid
    assert in_grid[0]["id"] == f"tout-cocher-{FIRST_WEEK}"  # the first changeable week's
    assert len(stops) <= 45, [stop["text"] for stop in stops]

    # From the skip link, « Aller à la semaine … » within a few Tabs, then into that week.
    page.evaluate("() => window.scrollTo(0, 0)")
    page.keyboard.press("Tab")
    assert active(page)["text"] == "Aller au contenu"
    page.keyboard.press("Enter")
    tabs = 0
    while not active(page) or not active(page)["text"].startswith("Aller à la semaine"):
        page.keyboard.press("Tab")
        tabs += 1
        assert tabs < MAX_TABS_TO_THE_FIRST_WEEK, active(page)
    assert active(page)["text"] == "Aller à la semaine du 23/11/2026, la première modifiable"
    page.keyboard.press("Enter")
    expect(page.locator(f"#tout-cocher-{FIRST_WEEK}")).to_be_focused()
    expect(page.locator(f"#semaine-{FIRST_WEEK}")).to_be_in_viewport()

    # The arrow keys inside the agenda: right along the week, down to the same day next week.
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"#tout-decocher-{FIRST_WEEK}")).to_be_focused()
    page.keyboard.press("ArrowRight")  # Monday 23 is locked: Tuesday 24's morning
    expect(page.locator(box("PERI_AM_M", "2026-11-24"))).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator(box("PERI_AM_M", "2026-12-01"))).to_be_focused()
    tuesday = page.locator(box("PERI_AM_M", "2026-12-01"))
    booked = tuesday.is_checked()  # the demo books a few weeks
    page.keyboard.press("Space")
    expect(tuesday).to_be_checked(checked=not booked)
    expect(page.locator(f'[data-resa-count="{"retrait" if booked else "ajout"}"]')).to_have_text(
        "1"
    )
    # The counter that changed sits in a status region: screen readers say the new basket.
    expect(page.get_by_role("status").filter(has_text="Panier :")).to_contain_text(
        "jours annulés 1" if booked else "jours ajoutés 1"
    )
    # Tab leaves the agenda, Shift+Tab comes back where the user was.
    page.keyboard.press("Tab")
    assert not active(page)["inGrid"]
    page.keyboard.press("Shift+Tab")
    expect(page.locator(box("PERI_AM_M", "2026-12-01"))).to_be_focused()

    # No inert control: a week none of whose days can change has no button and says why.
    rows = page.evaluate(ROWS)
    locked = [row for row in rows if not row["changeable"]]
    # (The page shows six weeks from the first that can change: the Christmas holidays.)
    assert [row["week"] for row in locked] == ["semaine-2026-12-21", "semaine-2026-12-28"]
    assert all(row["buttons"] == 0 and row["why"].startswith("⊘ Non modifiable") for row in locked)
    assert all(row["buttons"] == 2 for row in rows if row["changeable"])
    christmas = page.locator("#semaine-2026-12-21")
    expect(christmas).to_contain_text("lundi, mardi, jeudi — pas d'accueil : Vacances de Noël")
    expect(christmas.get_by_text("Vacances de Noël")).to_have_count(1)  # once, not per day

    # « Tout cocher » of the week by keyboard: back on the same button, the message read out.
    page.keyboard.press("Home")
    expect(page.locator("#tout-cocher-2026-11-30")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#semaine-2026-11-30$"))
    expect(page.locator("#tout-cocher-2026-11-30")).to_be_focused()
    message = "Semaine du 30/11/2026 : 4 jours cochés."
    expect(page.locator("#resa-annonce")).to_have_text(message)
    row = page.locator("#semaine-2026-11-30")
    expect(row.get_by_role("status")).to_have_text(f"✓ {message}")
    expect(row.locator('input[name="c"]:checked')).to_have_count(8)
    expect(page.locator('[data-resa-count="retrait"]')).to_have_text("0")
    assert active(page)["inGrid"]
    assert_accessible(page)

    # « Tout décocher » of the whole period: the same, with what could not change.
    page.locator("#tout-decocher-periode").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#periode$"))
    expect(page.locator("#tout-decocher-periode")).to_be_focused()
    said = page.locator("#resa-annonce")
    expect(said).to_have_text(
        re.compile(
            r"^Toute la période : \d+ jours décochés\. \d+ jours non modifiables laissés tels "
            r"quels\.$"
        )
    )
    expect(page.locator("#periode").get_by_role("status")).to_have_text("✓ " + said.inner_text())
    expect(page.locator('[data-resa-count="ajout"]')).to_have_text("0")


@pytest.fixture
def page_without_javascript(request, chromium, live_server):
    context, page = _watched_page(
        request,
        chromium,
        live_server.url,
        viewport=PHONE_VIEWPORT,
        screen=PHONE_VIEWPORT,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
    )
    yield page
    context.close()


def test_without_javascript_every_box_is_reachable_and_tout_cocher_says_what_it_did(
    site, page_without_javascript
):
    """(No axe here: it runs as a page script, and this page runs none. The HTML is the one
    audited with JavaScript above, before calendrier.js changes it.)"""
    page = page_without_javascript
    log_in_francoise(page)
    page.goto(lea_calendar())
    expect(page.get_by_role("grid")).to_have_count(0)  # a plain table: no arrow keys to learn
    expect(page.get_by_text("Au clavier : les flèches passent")).to_be_hidden()

    # « Aller à la semaine … » then Tab: the week's first button (no roving tabindex here).
    page.get_by_role(
        "link", name="Aller à la semaine du 23/11/2026, la première modifiable"
    ).focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"#semaine-{FIRST_WEEK}$"))
    page.keyboard.press("Tab")
    expect(page.locator(f"#tout-cocher-{FIRST_WEEK}")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator(box("PERI_AM_M", "2026-11-24"))).to_be_focused()  # every box is a Tab stop
    page.keyboard.press("Tab")
    expect(page.locator(box("PERI_PM_M", "2026-11-24"))).to_be_focused()

    page.get_by_role("button", name="Tout cocher — semaine du 30/11/2026").click()
    expect(page).to_have_url(re.compile(r"#semaine-2026-11-30$"))
    row = page.locator("#semaine-2026-11-30")
    status = row.get_by_role("status")
    expect(status).to_have_text("✓ Semaine du 30/11/2026 : 4 jours cochés.")
    expect(status).to_be_in_viewport()
    expect(row.locator('input[name="c"]:checked')).to_have_count(8)
    expect(row.locator(".resa-cell--changed")).to_have_count(  # marked by the server
        row.locator(".resa-cell:not([data-booked])").count()
    )
