"""Focus seen (WCAG 2.4.7 and 1.4.11, RGAA 10.7): every control the keyboard reaches shows a
ring at least 2 px wide and 3:1 against the colours next to it (the background around it, and
the control's own), measured in Chromium on the payment simulator — which also starts with a
skip link that moves focus into its content — and on a date field, whose calendar button is a
tab stop of its own inside the field."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from parvis.accounts.models import User
from parvis.families import demo as families_demo
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

CSP = "carrieres-sous-poissy"

# The focused element, its ring and what the ring is drawn against: the first opaque background
# behind it (the outline offset leaves that colour on both sides of the ring) and its own.
FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const opaque = (colour) => !/^rgba\\(.*,\\s*0\\)$/.test(colour) && colour !== "transparent";
  let around = "rgb(255, 255, 255)";
  for (let node = element.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (opaque(colour)) { around = colour; break; }
  }
  return {
    what: element.tagName.toLowerCase() + " "
      + (element.id || element.textContent.trim() || element.name).slice(0, 40),
    id: element.id,
    focus: element.matches(":focus"),
    within: element.matches(":focus-within"),
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    ring: style.outlineColor,
    around,
    own: opaque(style.backgroundColor) ? style.backgroundColor : null,
  };
}"""


def rgb(colour: str) -> tuple[int, int, int]:
    parts = colour[colour.index("(") + 1 : colour.index(")")].replace(",", " ").split()
    return tuple(round(float(part)) for part in parts[:3])


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def ring_problems(focused: dict) -> list[str]:
    """Why the focused element's ring is not seen well enough (nothing when it is)."""
    what = focused["what"]
    if focused["style"] in {"none", "hidden"} or focused["width"] < 2:
        return [f"{what}: ring {focused['style']} {focused['width']}px"]
    return [
        f"{what}: ring {focused['ring']} is {ratio:.2f}:1 against {colour}"
        for colour in dict.fromkeys(filter(None, (focused["around"], focused["own"])))
        if (ratio := contrast(focused["ring"], colour)) < 3
    ]


def test_contrast_ratio_matches_wcag():
    assert round(contrast("rgb(241, 162, 8)", "rgb(255, 255, 255)"), 1) == 2.1  # the old ring
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    assert ring_problems(
        {"what": "x", "style": "solid", "width": 3, "ring": "rgb(241, 162, 8)",
         "around": "rgb(255, 255, 255)", "own": None}
    )  # fmt: skip


def log_in(page, server_url: str, user: User, backend: str) -> None:
    client = Client()
    client.force_login(user, backend=backend)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server_url,
            }
        ]
    )


@pytest.fixture
def demo(demo_site):
    for loader in LOADERS[1:]:  # demo_site loaded the communes
        loader()
    return demo_site


def simulator_url() -> str:
    from parvis.billing.models import Invoice, InvoiceKind
    from parvis.payments import services as payments

    user = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    invoice = Invoice.objects.get(kind=InvoiceKind.MENSUELLE, famille__name="DURAND")
    _transaction, redirect = payments.start_payment(
        famille=invoice.famille, user=user, commune=invoice.commune, invoice_ids=[str(invoice.pk)]
    )
    return redirect.url


def test_the_simulator_has_a_skip_link_and_a_ring_seen_on_every_control(demo, browser_page):
    page = browser_page
    page.goto(simulator_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiement par carte bancaire")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    problems = ring_problems(page.evaluate(FOCUSED))
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED)["id"] == "contenu"
    page.keyboard.press("Tab")
    expect(page.get_by_label("Numéro de carte")).to_be_focused()

    reached = []
    for _stop in range(7):  # the card's three fields, then the four buttons
        focused = page.evaluate(FOCUSED)
        reached.append(focused["what"])
        problems += ring_problems(focused)
        page.keyboard.press("Tab")
    assert reached[-1] == "button Payer (notification différée)", reached
    assert not problems, "\n".join(problems)
    assert_accessible(page)


def test_a_date_field_shows_the_ring_on_its_calendar_button(demo, browser_page):
    page = browser_page
    admin = User.objects.get(username="admin-carrieres-sous-poissy")
    log_in(page, demo, admin, "django.contrib.auth.backends.ModelBackend")
    page.goto(f"/{CSP}/guichet/activites/registres/")
    day = page.get_by_label("Jour", exact=True)
    day.focus()
    stops = []
    for _stop in range(4):  # day, month, year, then the calendar button
        focused = page.evaluate(FOCUSED)
        stops.append(focused)
        page.keyboard.press("Tab")
    button = stops[-1]
    # Still the date field, but no longer one of its text parts: its calendar button.
    assert button["id"] == "id_jour" and not button["focus"] and button["within"], button
    problems = [problem for stop in stops for problem in ring_problems(stop)]
    assert not problems, "\n".join(problems)
