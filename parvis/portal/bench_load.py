"""`make bench-load` (issue 23): the registration rush driven over HTTP against gunicorn, as
families' browsers do it — distinct families arriving within ARRIVAL seconds, each logging in
(GET the form, POST with its CSRF token, the static files once), « Mon espace », the household's
month grid, « Tout cocher » (2-child families) or « Appliquer un modèle de semaine » for each
child (3-child families), the basket, « Valider », the confirmation, then the next month, with
THINK seconds between pages. The pieces here have no Django server of their own (the command
portal/management/commands/bench_load.py builds the commune and starts gunicorn): the HTML forms
read as a browser submits them, the journey, the percentiles, and the CPU read from /proc."""

from __future__ import annotations

import html
import os
import random
import re
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from http.client import HTTPConnection, HTTPException
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

INPUT = re.compile(r"<input\b[^>]*>", re.S)
ATTR = re.compile(r'([a-zA-Z_:-]+)(?:="([^"]*)")?')
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
OPTION = re.compile(r'<option value="([^"]*)"')
STATIC = re.compile(r'(?:href|src)="(/static/[^"]+)"')


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # what a browser would send
    boxes: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, value, checked)
    options: dict[str, list[str]] = field(default_factory=dict)  # select name → values


def forms_of(page: str) -> list[Form]:
    """The page's forms as a browser sees them: text, hidden and date inputs with their values,
    the enabled checkboxes and radios (checked or not), and each select's options."""
    found = []
    for attributes, body in FORM.findall(page):
        action = dict(ATTR.findall(attributes)).get("action", "")
        form = Form(action=html.unescape(action))
        for tag in INPUT.findall(body):
            attrs = {name: html.unescape(value) for name, value in ATTR.findall(tag[6:-1])}
            name = attrs.get("name")
            if not name or "disabled" in attrs:
                continue
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                form.boxes.append((name, attrs.get("value", "on"), "checked" in attrs))
            elif kind not in ("submit", "button", "file", "password"):
                form.fields.append((name, attrs.get("value", "")))
        for select, inner in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
            form.options[select] = OPTION.findall(inner)
        found.append(form)
    return found


def form_with(page: str, action_part: str) -> Form:
    for form in forms_of(page):
        if action_part in form.action:
            return form
    raise LookupError(f"no form posting to …{action_part}")


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`: a value that was measured."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))  # ceil without floats
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Recorder:
    """Every request's time, by type, and the errors (thread-safe)."""

    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float, error: str | None = None) -> None:
        with self.lock:
            self.timings[kind].append(ms)
            if error:
                self.errors[kind] += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{kind}: {error}")

    def report(self) -> list[str]:
        lines = []
        for kind in sorted(self.timings):
            values = self.timings[kind]
            lines.append(
                f"{kind}: n={len(values)} p50={percentile(values, 0.50):.0f} ms "
                f"p95={percentile(values, 0.95):.0f} ms p99={percentile(values, 0.99):.0f} ms "
                f"max={max(values):.0f} ms errors={self.errors.get(kind, 0)}"
            )
        return lines

    def worst_p95(self) -> tuple[str, float]:
        return max(
            ((kind, percentile(values, 0.95)) for kind, values in self.timings.items()),
            key=lambda item: item[1],
        )


class Browser:
    """One family's browser: its cookies (sent by hand — the production cookies are Secure, and
    the bench speaks plain HTTP to gunicorn behind a « proxy » that says https), its address
    (X-Forwarded-For, as nginx passes it: the login limits count per address) and its timings."""

    def __init__(self, base: str, address: str, recorder: Recorder):
        self.base, self.recorder = base, recorder
        self.server = urlsplit(base)
        self.cookies: dict[str, str] = {}
        self.headers = {"X-Forwarded-For": address, "X-Forwarded-Proto": "https"}
        self.fetched_static = False

    def request(self, kind: str, method: str, path: str, data=None, expect=(200,)) -> str:
        # http.client rather than requests: a third of its CPU a request (0.3 vs 0.9 ms), and
        # these browsers share the machine's two cores with the server they measure.
        url = urljoin(self.base, path)
        headers = {**self.headers, "Referer": url.replace("http://", "https://", 1)}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(list(data.items()) if isinstance(data, dict) else list(data))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        error = None
        try:
            http = HTTPConnection(self.server.hostname, self.server.port, timeout=120)
            try:
                http.request(method, urlsplit(url)._replace(scheme="", netloc="").geturl(),
                             body=body, headers=headers)  # fmt: skip
                response = http.getresponse()
                text = response.read().decode("utf-8", "replace")
            finally:
                http.close()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel.value and morsel["max-age"] != "0":
                        self.cookies[name] = morsel.value
                    else:  # deleted by the server (the messages once read, a logout)
                        self.cookies.pop(name, None)
            if response.status not in expect:
                error = f"HTTP {response.status} on {path}"
            location = response.headers.get("Location", "")
        except (OSError, HTTPException) as failure:  # refused, reset, timed out, cut
            error, text, location = f"{type(failure).__name__} on {path}", "", ""
        self.recorder.add(kind, (time.perf_counter() - started) * 1000, error)
        if error:
            raise JourneyFailed(error)
        return location or text

    def static_once(self, page: str) -> None:
        if self.fetched_static:
            return
        self.fetched_static = True
        for path in sorted(set(STATIC.findall(page))):
            self.request("static", "GET", path)


class JourneyFailed(Exception):
    pass


@dataclass
class Family:
    email: str
    password: str
    children: int


def journey(
    browser: Browser,
    family: Family,
    *,
    slug: str,
    months: list[date],
    think: tuple[float, float],
    deadline: float,
    rng: random.Random,
) -> bool:
    """The whole journey of one family; False when it was cut by the deadline or failed."""

    def pause():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(rng.uniform(*think))

    try:
        page = browser.request("login_get", "GET", f"/{slug}/connexion/")
        browser.static_once(page)
        token = dict(form_with(page, "connexion").fields)["csrfmiddlewaretoken"]
        pause()
        browser.request(
            "login_post", "POST", f"/{slug}/connexion/",
            {"csrfmiddlewaretoken": token, "username": family.email, "password": family.password},
            expect=(302,),
        )  # fmt: skip
        browser.request("mon_espace", "GET", f"/{slug}/mon-espace/")
        grid_url = f"/{slug}/mon-espace/reservations/foyer/"
        for month in months:
            pause()
            page = browser.request("grid", "GET", f"{grid_url}?vue=mois&debut={month:%Y-%m-%d}")
            form = form_with(page, "/reservations/foyer/")
            if family.children < 3:
                # « Tout cocher »: every day that can change, ticked.
                data = [*form.fields, *[(n, v) for n, v, _c in form.boxes if n == "c"]]
            else:
                for value in [v for v in form.options.get("modele-pour", []) if v[:2] == "a:"]:
                    pause()
                    data = _with_pattern(form, value)
                    page = browser.request("pattern", "POST", grid_url, data)
                    form = form_with(page, "/reservations/foyer/")
                data = [*form.fields, *[(n, v) for n, v, checked in form.boxes if n == "c"
                                        and checked]]  # fmt: skip
            pause()
            page = browser.request("basket", "POST", grid_url, [*data, ("action", "panier")])
            basket = form_with(page, "/foyer/panier/")
            pause()
            browser.request("validate", "POST", basket.action, basket.fields, expect=(302,))
            browser.request("confirmation", "GET", f"{grid_url}confirmation/")
        return True
    except (JourneyFailed, TimeoutError, LookupError, KeyError):
        return False


def _with_pattern(form: Form, pour: str) -> list[tuple[str, str]]:
    """« Appliquer un modèle de semaine »: every weekday of the period shown, booked, for the
    child and activity `pour`; the grid's ticked days and the other fields as they are."""
    fields = [(n, v) for n, v in form.fields if n not in ("modele-pour",)]
    boxes = [(n, v) for n, v, checked in form.boxes if checked and n not in ("modele-choix",)]
    weekdays = [("modele-jours", v) for n, v, _c in form.boxes if n == "modele-jours"]
    boxes = [(n, v) for n, v in boxes if n != "modele-jours"]
    return [*fields, *boxes, *weekdays, ("modele-pour", pour), ("modele-choix", "reserver"),
            ("action", "modele")]  # fmt: skip


# --- CPU from /proc ---------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, in seconds (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def cpu_of(pids) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings; a process born in between counts whole, one that died
    counts what it had at the first reading (its last part is lost: said in the report)."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"
