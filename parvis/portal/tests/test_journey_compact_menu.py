"""On a phone (360x740) the header leaves the screen to the page: brand, account and menu take at
most a quarter of the first screen on each demo commune's home, as a family and as an agent at
the guichet. The navigation folds behind a « Menu » button (aria-expanded, static script) that
the keyboard opens to reach every link, the current page still marked; without JavaScript the
navigation is shown whole, as on a wide screen."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from parvis.accounts.models import User
from parvis.families import demo as families_demo
from parvis.testing.browser import PHONE_VIEWPORT, assert_accessible

pytestmark = pytest.mark.browser

CSP = "carrieres-sous-poissy"
CSS = "carrieres-sur-seine"
CITIZEN_BACKEND = "parvis.accounts.backends.CommuneBackend"
AGENT_BACKEND = "django.contrib.auth.backends.ModelBackend"
SCREENSHOTS = None  # a folder to look at the headers, while working on them


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


def header_share(page) -> float:
    height = page.locator(".site-header").evaluate("(header) => header.offsetHeight")
    return height / PHONE_VIEWPORT["height"]


@pytest.fixture
def families(demo_site):
    families_demo.load()
    return demo_site


def homes():
    durand = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    martin = User.objects.get(commune__slug=CSS, family_code=families_demo.FAMILY_CODE_READY)
    return [
        (durand, CITIZEN_BACKEND, f"/{CSP}/mon-espace/"),
        (martin, CITIZEN_BACKEND, f"/{CSS}/mon-espace/"),
        (None, None, f"/{CSP}/"),
        (User.objects.get(username="csp-enfance"), AGENT_BACKEND, f"/{CSP}/guichet/"),
        (User.objects.get(username="css-sej"), AGENT_BACKEND, f"/{CSS}/guichet/"),
    ]


def test_the_header_takes_at_most_a_quarter_of_a_phone_screen(families, phone_page):
    page = phone_page
    too_tall = []
    for user, backend, path in homes():
        page.context.clear_cookies()
        if user is not None:
            log_in(page, families, user, backend)
        page.goto(path)
        if SCREENSHOTS:
            page.screenshot(path=f"{SCREENSHOTS}/{path.strip('/').replace('/', '_')}.png")
        share = header_share(page)
        if share > 0.25:
            too_tall.append(f"{path}: {share:.0%} of the screen")
    assert not too_tall, "\n".join(too_tall)


def test_the_menu_opens_by_keyboard_and_keeps_the_current_page(families, phone_page):
    page = phone_page
    durand = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    log_in(page, families, durand, CITIZEN_BACKEND)
    page.goto(f"/{CSP}/mon-espace/factures/")
    nav = page.get_by_role("navigation", name="Navigation principale")
    toggle = nav.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Mon compte")).to_be_hidden()
    assert_accessible(page)

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    links = nav.get_by_role("link")
    expect(links).to_have_count(7)
    current = nav.get_by_role("link", name="Mon compte")
    expect(current).to_have_attribute("aria-current", "page")
    for _link in range(7):  # Tab goes from the button through every link of the menu
        page.keyboard.press("Tab")
    expect(current).to_be_focused()
    assert_accessible(page)

    toggle.focus()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(current).to_be_hidden()
    # The menu is still there on a wide screen: no button, every link shown.
    page.set_viewport_size({"width": 1024, "height": 740})
    expect(toggle).to_be_hidden()
    expect(current).to_be_visible()


@pytest.fixture
def no_script_page(request, chromium, live_server):
    from parvis.testing import browser

    context, page = browser._watched_page(
        request, chromium, live_server.url, viewport=PHONE_VIEWPORT, java_script_enabled=False
    )
    yield page
    context.close()


def test_without_javascript_the_whole_menu_is_shown(families, no_script_page):
    page = no_script_page
    page.goto(f"/{CSP}/")
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("button", name="Menu")).to_have_count(0)
    expect(nav.get_by_role("link", name="Mon compte")).to_be_visible()
