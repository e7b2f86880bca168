"""Browser journeys: Playwright (sync API) driving Debian's Chromium, with an axe-core check.

Registered as a pytest plugin by the root ``conftest.py``; every app's journeys use it::

    import pytest
    from parvis.testing.browser import assert_accessible

    @pytest.mark.browser
    def test_something(demo_site, browser_page):
        browser_page.goto("/carrieres-sous-poissy/")  # relative to the live server
        assert_accessible(browser_page)

Fixtures
    ``chromium`` (session)      one headless Chromium per test process (xdist worker).
    ``demo_site``               the demo communes loaded (``parvis.communes.demo.load()``) in a
                                transactional database; returns the live server's URL.
    ``browser_page``            a desktop page (1280x800) in a fresh context: fr-FR, Europe/Paris,
                                ``base_url`` set to the live server, so ``goto("/slug/")`` works.
    ``phone_page``              the same at 360x740 CSS pixels, ``is_mobile`` and ``has_touch``.

Both pages are *watched*: a test fails when, at any moment of it, its page logs a console error,
raises an uncaught JavaScript exception (``pageerror``), meets a Content-Security-Policy violation
or receives a status >= 500 from the live server. Call ``assert_no_browser_problems(page)`` to
check at a precise step; ``assert_accessible(page)`` does it before running axe.

Content-Security-Policy: the site's policy is strict (``script-src 'self'``, no inline style).
The contexts are created *without* ``bypass_csp``, so the browser enforces the real policy:

* axe is injected with ``page.evaluate``, which goes through the DevTools protocol and is not
  subject to the page's CSP (checked: axe runs on the CSP-protected pages), so there is no need to
  bypass the policy to audit the page;
* violations are therefore real, and caught twice: Chromium logs each one as a console error
  (« … violates the following Content Security Policy directive … »), and an init script — also
  injected through the protocol, so allowed by the policy — listens to ``securitypolicyviolation``
  and reports the directive and blocked URI through a Playwright binding. The listener also sees
  violations that Chromium would only warn about (``Content-Security-Policy-Report-Only``).

Playwright's sync API keeps an asyncio event loop registered as running on the main thread, so
Django would refuse ORM calls from the tests ("You cannot call this from an async context"):
``DJANGO_ALLOW_ASYNC_UNSAFE`` is set when this plugin loads. For the same reason, once Chromium has
started, ``asyncio.run()`` cannot be called in that process; the tests marked ``browser`` are
therefore moved to the end of the run (see ``pytest_collection_modifyitems``).

Time travel: ``time_machine.travel(..., tick=True)`` inside a journey changes the clock of the test
process, which includes the live server's threads; Playwright's driver and Chromium are separate
processes and keep the real clock (asyncio timeouts use ``time.monotonic``, which time-machine does
not touch), so travelling does not disturb them.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCALE = "fr-FR"
TIMEZONE = "Europe/Paris"
DESKTOP_VIEWPORT = {"width": 1280, "height": 800}
PHONE_VIEWPORT = {"width": 360, "height": 740}
# Short enough that a broken journey fails in seconds rather than hangs for Playwright's 30 s.
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

_CSP_BINDING = "__parvisCspViolation"
_CSP_LISTENER = f"""
document.addEventListener("securitypolicyviolation", (event) => {{
  window.{_CSP_BINDING}({{
    directive: event.effectiveDirective || event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile ? event.sourceFile + ":" + event.lineNumber : event.documentURI,
    disposition: event.disposition,
    sample: event.sample,
  }});
}});
"""


# --- Watching a page -----------------------------------------------------------------------------


@dataclass
class PageWatch:
    """What went wrong in one browser context, in the order it happened: console errors, page
    errors, CSP violations, server errors. Filled by Playwright's event handlers, read by the
    assertions."""

    server_url: str
    problems: list[str] = field(default_factory=list)
    reported: int = 0  # how many problems an assertion already reported (not reported twice)

    def attach(self, context) -> None:
        context.expose_binding(_CSP_BINDING, self._on_csp_violation)
        context.add_init_script(_CSP_LISTENER)
        context.on("page", self._watch_page)
        context.on("response", self._on_response)

    def _watch_page(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_console(self, message) -> None:
        if message.type == "error":
            location = message.location or {}
            where = location.get("url") or ""
            if location.get("lineNumber"):
                where += f":{location['lineNumber']}"
            self.problems.append(
                f"console error: {message.text}" + (f" ({where})" if where else "")
            )

    def _on_page_error(self, error) -> None:
        self.problems.append(f"uncaught JavaScript error: {error}")

    def _on_csp_violation(self, source, violation: dict) -> None:
        self.problems.append(
            "Content-Security-Policy violation ({disposition}) of {directive}: blocked {blocked!r}"
            " in {where}{sample}".format(
                disposition=violation.get("disposition") or "enforce",
                directive=violation.get("directive"),
                blocked=violation.get("blocked") or "inline",
                where=violation.get("source") or source["frame"].url,
                sample=f" ({violation['sample']!r})" if violation.get("sample") else "",
            )
        )

    def _on_response(self, response) -> None:
        if response.status >= 500 and response.url.startswith(self.server_url):
            self.problems.append(
                f"server error: {response.status} on {response.request.method} {response.url}"
            )

    def take_unreported(self) -> list[str]:
        """The problems not reported yet, now counted as reported."""
        new = self.problems[self.reported :]
        self.reported = len(self.problems)
        return new


_WATCHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # page -> PageWatch
_ITEM_WATCHES = pytest.StashKey[list[tuple[object, PageWatch]]]()


def _settle(page) -> None:
    """Let Playwright deliver the events still queued (the sync API dispatches them only while
    it waits for the browser)."""
    if page.is_closed():
        return
    # A crashed or navigating page cannot answer: report what was collected so far.
    with contextlib.suppress(Exception):
        page.evaluate("0")


def _problem_report(page, problems: list[str]) -> str:
    url = "(closed page)" if page.is_closed() else page.url
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"The browser reported {len(problems)} problem(s) on {url}:\n{lines}"


def assert_no_browser_problems(page) -> None:
    """Fail now if the page logged a console error, a JavaScript error, a CSP violation, or got a
    5xx from the live server since the last check."""
    watch = _WATCHES.get(page)
    if watch is None:
        return
    _settle(page)
    problems = watch.take_unreported()
    if problems:
        pytest.fail(_problem_report(page, problems), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """After the test body, fail it (rather than erroring its teardown) when a watched page
    reported a problem that no assertion reported yet."""
    try:
        result = yield
    except (Exception, pytest.fail.Exception) as error:
        for page, watch in item.stash.get(_ITEM_WATCHES, []):
            _settle(page)
            problems = watch.take_unreported()
            if problems:
                error.add_note(_problem_report(page, problems))
        raise
    reports = []
    for page, watch in item.stash.get(_ITEM_WATCHES, []):
        _settle(page)
        problems = watch.take_unreported()
        if problems:
            reports.append(_problem_report(page, problems))
    if reports:
        pytest.fail("\n".join(reports), pytrace=False)
    return result


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser journeys last: after Chromium starts, the process has a running asyncio loop (see
    the module docstring), which other tests should not inherit. Stable: the rest keeps its
    order."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


# --- Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Headless Debian Chromium, launched once per test process."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM_PATH, os.X_OK):
        pytest.fail(
            f"{CHROMIUM_PATH} is missing: install Debian's chromium package (make chromium)"
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def demo_site(transactional_db, live_server) -> str:
    """The demo communes, served by the live server; returns its URL (no trailing slash)."""
    from parvis.communes import demo

    demo.load()
    return live_server.url


def _watched_page(request: pytest.FixtureRequest, browser, server_url: str, **context_options):
    context = browser.new_context(
        base_url=server_url,
        locale=LOCALE,
        timezone_id=TIMEZONE,
        **context_options,
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    watch = PageWatch(server_url=server_url)
    watch.attach(context)
    page = context.new_page()
    _WATCHES[page] = watch
    request.node.stash.setdefault(_ITEM_WATCHES, []).append((page, watch))
    return context, page


@pytest.fixture
def browser_page(request, chromium, live_server) -> Iterator[object]:
    """A desktop page in a fresh context (fr-FR, Europe/Paris), relative URLs go to the live
    server; the test fails on console errors, CSP violations and server errors."""
    context, page = _watched_page(request, chromium, live_server.url, viewport=DESKTOP_VIEWPORT)
    yield page
    context.close()


@pytest.fixture
def phone_page(request, chromium, live_server) -> Iterator[object]:
    """Like ``browser_page`` on a 360x740 touch phone (``is_mobile``, ``has_touch``)."""
    context, page = _watched_page(
        request,
        chromium,
        live_server.url,
        viewport=PHONE_VIEWPORT,
        screen=PHONE_VIEWPORT,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield page
    context.close()


# --- Accessibility -------------------------------------------------------------------------------


def _axe_report(url: str, violations: list[dict]) -> str:
    lines = [f"axe found {len(violations)} accessibility violation(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"  - {violation['id']} [{violation.get('impact') or 'n/a'}] {violation['help']}"
            f" ({violation.get('helpUrl', '')})"
        )
        for node in violation["nodes"]:
            target = " ".join(
                t if isinstance(t, str) else " >>> ".join(t) for t in node.get("target", [])
            )
            lines.append(f"      at {target}")
            html = " ".join(node.get("html", "").split())
            if html:
                lines.append(f"         {html[:200]}")
            summary = " ".join(node.get("failureSummary", "").split())
            if summary:
                lines.append(f"         {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page, *, context: str | dict | None = None) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA, plus best practices) on the page as it is now, and
    fail with the list of violations (rule, impact, help, target selectors) if there is any.

    Checks ``assert_no_browser_problems`` first, so a console error or CSP violation is reported
    at the page that caused it. ``context`` restricts the audit (axe's include/exclude)."""
    from axe_playwright_python.sync_playwright import Axe

    assert_no_browser_problems(page)
    page.wait_for_load_state("load")
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = Axe().run(page, context=context, options=options)
    violations = results.response["violations"]
    if violations:
        pytest.fail(_axe_report(page.url, violations), pytrace=False)


# --- The main navigation ------------------------------------------------------------------------


def main_nav(page):
    """The « Navigation principale », opened first where it is folded behind « Menu » (a phone):
    ``main_nav(page).get_by_role("link", name="Mon compte").click()`` on any screen."""
    # menu.js (deferred) folds the navigation and shows « Menu »: wait until it has run, or the
    # button may not be there yet on a page still loading (after a login's redirect).
    page.wait_for_load_state("load")
    nav = page.get_by_role("navigation", name="Navigation principale")
    toggle = nav.get_by_role("button", name="Menu")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
    return nav


# --- Display settings ----------------------------------------------------------------------------


def set_display(page, **settings: str) -> None:
    """Choose « Paramètres d'affichage » (parvis.portal.display) for the pages this page's context
    opens next, as the settings form would, by setting its cookie: ``set_display(page,
    taille="tres-grande", contraste="renforce")``; no argument goes back to the defaults. The
    current page keeps its look until it is loaded again."""
    from parvis.portal import display

    unknown = {name: value for name, value in settings.items() if name not in display.BY_NAME}
    if unknown:
        raise ValueError(f"no such display setting: {unknown}")
    values = {**display.DEFAULTS, **settings}
    for name, value in values.items():
        if value not in dict(display.BY_NAME[name].choices):
            raise ValueError(f"no such value for the display setting {name}: {value!r}")
    watch = _WATCHES.get(page)
    server_url = watch.server_url if watch else page.url
    page.context.clear_cookies(name=display.COOKIE_NAME)
    value = display.serialize(values)
    if value:
        page.context.add_cookies([{"name": display.COOKIE_NAME, "value": value, "url": server_url}])


# --- Logging in ----------------------------------------------------------------------------------


def log_in_agent(page, guichet: str, username: str, password: str | None = None) -> None:
    """An agent logs in at `guichet` (« /<commune>/guichet/ »), the login page checked by axe;
    the demo agents' password by default."""
    import re

    from playwright.sync_api import expect

    from parvis.communes.demo import DEMO_PASSWORD

    page.goto(f"{guichet}connexion/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion au guichet des agents")
    assert_accessible(page)
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password or DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(guichet)}$"))
