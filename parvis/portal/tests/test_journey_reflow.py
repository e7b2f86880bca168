"""Reflow (WCAG 1.4.10, RGAA 10.11): at 360 and 640 CSS pixels wide, the wide tables of both
sides — the agents' occupation grid and régie lists, the household's grid, a child's calendar,
the family's invoices — scroll inside their own box: the page itself never scrolls sideways,
and every table's caption stays within the screen (it wraps instead of running off with the
table)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from parvis.accounts.models import User
from parvis.families import demo as families_demo
from parvis.families.models import Personne
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_no_browser_problems

pytestmark = pytest.mark.browser

CSP = "carrieres-sous-poissy"
WIDTHS = (360, 640)

# What overflows, measured in the page: the document's width beyond the viewport, and each
# caption's box outside it (its text clipped off-screen, to be scrolled to).
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const captions = [...document.querySelectorAll("caption")]
    .filter((caption) => caption.getClientRects().length)
    .map((caption) => {
      const box = caption.getBoundingClientRect();
      return {text: caption.textContent.trim().slice(0, 60), left: box.left, right: box.right};
    })
    .filter((box) => box.left < -0.5 || box.right > width + 0.5);
  return {width, scrollWidth: document.documentElement.scrollWidth, captions};
}"""


def log_in(page, server_url: str, user: User, backend: str) -> None:
    client = Client()
    client.force_login(user, backend=backend)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server_url,
            }
        ]
    )


def overflows(page, path: str) -> list[str]:
    found = []
    page.goto(path)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 740})
        seen = page.evaluate(MEASURE)
        if seen["scrollWidth"] > seen["width"]:
            found.append(f"{path} at {width}px: the page is {seen['scrollWidth']}px wide")
        found.extend(
            f"{path} at {width}px: caption « {c['text']} » spans {c['left']:.0f}–{c['right']:.0f}"
            for c in seen["captions"]
        )
    assert_no_browser_problems(page)
    return found


@pytest.fixture
def demo(demo_site):
    for loader in LOADERS[1:]:  # demo_site loaded the communes
        loader()
    return demo_site


def test_wide_tables_scroll_in_their_box_at_360_and_640_px(demo, browser_page):
    page = browser_page
    durand = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    lea = Personne.objects.get(commune__slug=CSP, first_names="Léa", famille__name="DURAND")
    found = []

    log_in(page, demo, durand, "parvis.accounts.backends.CommuneBackend")
    for path in (
        f"/{CSP}/mon-espace/reservations/foyer/",
        f"/{CSP}/mon-espace/reservations/restauration/{lea.pk}/",
        f"/{CSP}/mon-espace/factures/",
    ):
        found += overflows(page, path)

    admin = User.objects.get(username="admin-carrieres-sous-poissy")
    log_in(page, demo, admin, "django.contrib.auth.backends.ModelBackend")
    for path in (
        f"/{CSP}/guichet/activites/restauration/occupation/",
        f"/{CSP}/guichet/activites/loisirs-mercredi/occupation/",
        f"/{CSP}/guichet/regie/",
        f"/{CSP}/guichet/regie/paiements/",
        f"/{CSP}/guichet/regie/relances/",
        f"/{CSP}/guichet/demandes/",
    ):
        found += overflows(page, path)
    assert not found, "\n".join(found)
