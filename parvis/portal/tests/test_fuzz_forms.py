"""No 500 on anything a user can send: every form of both sides, sent malformed values.

For each role (an anonymous visitor of each commune, a family of each commune, a family at its
first login, each agent of Carrières-sous-Poissy at the guichet) the commune's pages are crawled
from the role's entry pages by following same-commune links (GET only, a bounded number of
pages, at most two addresses per URL pattern, no downloads, no logout, not the payment provider's
pages); each procedure is
started once so that its first step is crawled too. Every form found (its action, fields, hidden
values, select options, buttons, file inputs) is then sent by hypothesis: first each malformed
value of EVERY_FIELD in all its fields at once, all fields missing, all sent twice, all another
commune's id (explicit examples), then drawn mixes — one field spoiled and the others as the
page has them, or each field kept, malformed (NUL bytes, huge and negative numbers, other
scripts' digits, long text, impossible dates), repeated, another commune's id or left out, and
garbage files. Every answer must be below 500; a server error fails with the form, the values
sent and the traceback (all forms are tried before the test fails).

A form already tried (same URL pattern with ids blurred, same fields) by an earlier role is not
tried again, so the agents' shared pages cost once. The demo (`load_demo`'s loaders) is loaded
once for the module in a transaction rolled back at its end; each test runs in a savepoint of it,
as pytest-django's `db` does. Run it on PostgreSQL too: it refuses what SQLite lets through."""

from __future__ import annotations

import re
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.html
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from parvis.accounts.models import User
from parvis.communes.models import CommuneOwned
from parvis.families import demo as families_demo
from parvis.portal.management.commands.load_demo import LOADERS

CSP = "carrieres-sous-poissy"
CSS = "carrieres-sur-seine"

# Crawl bounds: pages per role, addresses per URL pattern (a family file and a second one are
# enough to meet every form of that page).
MAX_PAGES = 110
PER_PATTERN = 2
# Forms sent once with the page's values before the fuzzing, to reach the page they open.
START_FORMS = {"demarches:demarche"}
# Drawn examples per form, after the explicit ones (the module stays under ~90 s on 2 cores).
EXAMPLES_POST = 10
EXAMPLES_GET = 4

# Never fetched nor sent: logging out, downloads (PDF, CSV, ICS, JSON, files), the payment
# provider's pages (the simulator stands for the bank's site) and its server-to-server notice.
# The régie's « export » is a page with a form (its CSV answers only that form): it is walked.
SKIPPED_NAMES = {
    "deconnexion",
    "suivi_quitter",
    "telecharger_donnees",
    "document_telecharger",
    "document_apercu",
    "facture_pdf",
    "recu_pdf",
    "registre_csv",
    "demandes_export",
    "agenda_ics",
    "piece_jointe",
    "simulateur",
    "notification",
    "theme_css",
}


@dataclass(frozen=True)
class Role:
    name: str
    commune: str
    entries: tuple[str, ...]
    prefix: str = ""  # the part of the commune's site the role walks ("" = all of it)
    username: str | None = None
    email: str | None = None
    family_code: str | None = None
    # Forms (URL names of their actions) the walk must meet: a walk that went nowhere (a login
    # lost, a link renamed) fails instead of passing on nothing.
    reaches: tuple[str, ...] = ()
    # What the demo lacks for this role's forms to be shown, made in the test's savepoint (so
    # the other roles do not see it).
    setup: Callable[[], None] | None = None

    @property
    def backend(self) -> str:
        if self.username:
            return "django.contrib.auth.backends.ModelBackend"
        return "parvis.accounts.backends.CommuneBackend"

    def user(self):
        if self.username:
            return User.objects.get(username=self.username)
        lookup = {"email": self.email} if self.email else {"family_code": self.family_code}
        return User.objects.get(commune__slug=self.commune, **lookup)


def visitor(commune):
    return Role(
        f"anonyme-{commune}",
        commune,
        ("", "guichet/connexion/", "demarches/suivi/"),
        reaches=("accounts:connexion", "backoffice:connexion", "demarches:etape"),
    )


def agent(username, *reaches, setup=None):
    return Role(
        username, CSP, ("guichet/",), "guichet/", username=username, reaches=reaches, setup=setup
    )


def overpaid() -> None:
    """A trop-perçu at the régie (a stay invoice of DURAND's, « Payer » twice, both paid at the
    bank): the demo has none, so « Rembourser » (means, date, reference) would never be met.
    Last month's invoice stays due, for the counter's forms."""
    from parvis.billing import services_runs
    from parvis.billing.demo import REGIE_CODE
    from parvis.billing.models import Regie
    from parvis.payments import services as payments
    from parvis.payments.providers import simulateur

    user = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    famille = user.family_accesses.get().famille
    today = timezone.localdate()
    invoice = services_runs.create_stay_invoice(
        regie=Regie.objects.get(commune=famille.commune, code=REGIE_CODE),
        famille=famille,
        category="SÉJOURS",
        label="Séjour payé deux fois",
        child=None,
        period_start=today,
        period_end=today,
        quantity=1,
        unit_price=Decimal("20.00"),
        actor=None,
    )
    started = [
        payments.start_payment(
            famille=famille, user=user, commune=famille.commune, invoice_ids=[str(invoice.pk)]
        )
        for _click in range(2)
    ]
    for transaction_, _redirect in started:
        payments.simulate_notification(
            transaction=transaction_, result=simulateur.PAID, remote_addr=None
        )


ROLES = [
    visitor(CSP),
    visitor(CSS),
    Role(
        "durand",
        CSP,
        ("mon-espace/", ""),
        email=families_demo.CITIZEN_EMAIL,
        reaches=(
            "payments:payer",
            "families:document_ajouter",
            "activities:calendrier",
            "activities:foyer",
            "demarches:ma_demande",
            "demarches:etape",
        ),
    ),
    Role(
        "martin",
        CSS,
        ("mon-espace/", ""),
        family_code=families_demo.FAMILY_CODE_READY,
        reaches=("payments:payer", "activities:calendrier"),
    ),
    # A family given its code famille at the desk: its first login asks for its own password.
    Role(
        "moreau",
        CSS,
        ("mon-espace/",),
        family_code=families_demo.FAMILY_CODE_FIRST_LOGIN,
        reaches=("accounts:premiere_connexion",),
    ),
    agent(
        "csp-enfance",
        "backoffice:documents_lot",
        "backoffice:membre_modifier",
        "guichet_activites:valider_reservations",
    ),
    agent(
        "csp-regie",
        "guichet_regie:encaisser",
        "guichet_regie:encaisser_famille",
        "guichet_regie:rembourser",
        "guichet_regie:export",
        setup=overpaid,
    ),
    agent("csp-etat-civil", "backoffice:demande_complement", "backoffice:demande_accepter"),
    agent("csp-scolaire", "backoffice:famille_modifier", "backoffice:qf_calculer"),
    agent("admin-carrieres-sous-poissy", "backoffice:documents_lot", "guichet_regie:encaisser"),
]

# --- What hypothesis sends -----------------------------------------------------------------------

MALFORMED = [
    "",
    " ",
    "\x00",
    "1\x00",
    "a\x00b",
    "9" * 30,
    "-99999999999999999999",
    "99999999999999999999",
    "9223372036854775808",
    "-1",
    "0",
    "²",
    "١٢٣",
    "４２",
    "1.5",
    "1e309",
    "NaN",
    "-inf",
    "12,345,678.90",
    "x" * 3000,
    "é" * 300,
    "31/02/2026",
    "2026-13-45",
    "00/00/0000",
    "2026-02-31",
    "9999-12-31",
    "0001-01-01",
    "25:61",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "\ud7ff\U0010ffff",
]


@dataclass
class Form:
    role: str
    page: str
    method: str
    action: str
    key: tuple
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> values seen on the page
    files: list[str] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.method} {self.action} (form of {self.page}, as {self.role})"


def url_name(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return f"{match.namespace}:{match.url_name}"


def parse_forms(role: str, page: str, html: str) -> list[Form]:
    tree = lxml.html.fromstring(html)
    forms = []
    for element in tree.forms:
        method = (element.get("method") or "get").upper()
        action = urljoin(page, element.get("action") or page)
        fields: dict[str, list[str]] = {}
        files, buttons = [], []
        for control in element.inputs:
            name = control.get("name")
            if not name:
                continue
            tag = control.tag
            kind = (control.get("type") or "text").lower() if tag == "input" else tag
            if kind == "file":
                files.append(name)
                continue
            if kind in {"submit", "button", "image", "reset"} or tag == "button":
                buttons.append((name, control.get("value") or ""))
                continue
            values = fields.setdefault(name, [])
            if tag == "select":
                values.extend(o.get("value", o.text_content()) for o in control.iter("option"))
            elif tag == "textarea":
                values.append(control.text or "")
            else:
                values.append(control.get("value") or ("on" if kind == "checkbox" else ""))
        name = url_name(action)
        key = (method, name, tuple(sorted(fields)), tuple(sorted(files)), tuple(sorted(buttons)))
        forms.append(Form(role, page, method, action, key, fields, files, buttons))
    return forms


def query_form(role: str, link: str) -> Form:
    """The query of a link followed, as a GET form of its fields."""
    target = urlsplit(link)
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(target.query, keep_blank_values=True):
        fields.setdefault(name, []).append(value)
    key = ("GET", url_name(target.path), tuple(sorted(fields)), (), ())
    return Form(role, link, "GET", target.path, key, fields)


def blurred(path: str) -> str:
    """A path with its ids blurred: the family file of two families is one page, one form."""
    return re.sub(r"\d+", "N", path)


class Crawl:
    """The pages `role` reaches from its entries by links (GET only), and their forms."""

    def __init__(self, client, role: Role):
        self.client, self.role = client, role
        self.within = f"/{role.commune}/{role.prefix}"
        self.queue = [f"/{role.commune}/{entry}" for entry in role.entries]
        self.seen, self.per_pattern = set(self.queue), {}
        self.pages: list[str] = []
        self.forms: list[Form] = []

    def run(self) -> None:
        while self.queue and len(self.pages) < MAX_PAGES:
            path = self.queue.pop(0)
            try:
                response = self.client.get(path)
            except Exception:
                raise AssertionError(f"500 on GET {path}\n{traceback.format_exc()}") from None
            assert response.status_code < 500, path
            if response.status_code in {301, 302}:
                self.follow(path, [response["Location"]])
            elif response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                self.pages.append(path)
                html = response.content.decode()
                self.forms.extend(parse_forms(self.role.name, path, html))
                if "?" in path:  # a link's query (?jour=, ?annee=, ?foyer=) is a form too
                    self.forms.append(query_form(self.role.name, path))
                self.follow(path, lxml.html.fromstring(html).xpath("//a/@href"))

    def follow(self, page: str, hrefs) -> None:
        for href in hrefs:
            target = urlsplit(urljoin(page, href))
            if target.netloc and target.netloc != "testserver":
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            name = url_name(target.path)
            if (
                link in self.seen
                or not target.path.startswith(self.within)
                or name is None
                or name.split(":")[-1] in SKIPPED_NAMES
            ):
                continue
            self.seen.add(link)
            pattern = blurred(target.path)
            if self.per_pattern.get(pattern, 0) < PER_PATTERN:
                self.per_pattern[pattern] = self.per_pattern.get(pattern, 0) + 1
                self.queue.append(link)

    def start_procedures(self) -> None:
        """« Commencer » each procedure found, and walk the first step it opens (its form:
        dates, addresses, files)."""
        for form in [f for f in self.forms if f.key[1] in START_FORMS]:
            data = {name: values[0] for name, values in form.fields.items() if values}
            response = self.client.post(form.action, data)
            if response.status_code == 302:
                self.follow(form.action, [response["Location"]])
        self.run()


def crawl(client, role: Role) -> tuple[list[Form], list[str]]:
    walk = Crawl(client, role)
    walk.run()
    walk.start_procedures()
    return walk.forms, walk.pages


# --- The demo, once for the module ---------------------------------------------------------------


def file_requests() -> None:
    """Requests in the queues of Carrières-sous-Poissy, so that the guichet shows a request's
    forms (take, complement, accept, refuse, message) and the family its own (answer a
    complement): the demo files none."""
    from parvis.demarches import services as demarches
    from parvis.demarches.models import Procedure

    durand = User.objects.get(commune__slug=CSP, email=families_demo.CITIZEN_EMAIL)
    agent = User.objects.get(username="csp-etat-civil")
    # The family's request waiting for its answer last: the newest is listed (and walked) first.
    for slug, user in (
        ("pre-inscription-creche", durand),
        ("contestation-facturation", durand),
        ("inscription-listes-electorales", durand),
        ("livret-de-famille", None),
        ("acte-de-naissance", durand),
    ):
        procedure = Procedure.objects.get(commune__slug=CSP, slug=slug)
        demande = demarches.start_draft(procedure=procedure, user=user, draft_key="fuzz")
        demarches.submit(demande=demande, contact_name="Jean DEMANDEUR")
    demarches.ask_complement(demande=demande, agent=agent, message="Précisez la date.")


def other_commune_ids() -> dict[str, list[str]]:
    """For each commune, ids and numbers of the other commune's rows (one of each model)."""
    models = [m for m in apps.get_models() if issubclass(m, CommuneOwned)]
    found: dict[str, set[str]] = {CSP: set(), CSS: set()}
    for slug, other in ((CSP, CSS), (CSS, CSP)):
        for model in models:
            row = model.objects.filter(commune__slug=other).order_by("-pk").first()
            if row is not None:
                found[slug].add(str(row.pk))
                if isinstance(getattr(row, "number", None), int | str) and row.number:
                    found[slug].add(str(row.number))
    return {slug: sorted(ids, key=lambda v: (len(v), v)) for slug, ids in found.items()}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The whole demo (every loader of `load_demo`) and a few requests, in a transaction rolled
    back after the module (so nothing of it is committed: no e-mail leaves): each test's `db`
    savepoint sits inside it. Returns the other commune's ids for each commune."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            for loader in LOADERS:
                loader()
            file_requests()
            yield other_commune_ids()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- Sending -------------------------------------------------------------------------------------

GARBAGE_FILES = [
    ("garbage.pdf", b"\x00\xff garbage \x00" * 20),
    ("vide.pdf", b""),
    ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
    ("faux.pdf", b"%PDF-1.4\n%%EOF garbage"),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 30),
    ("é" * 200 + ".pdf", b"%PDF-1.4\n"),
    ("../../x.png", b"GIF89a"),
]


# Sent to every field of a form at once (hypothesis's explicit examples, before its own draws):
# what broke a view once, or could — the number `int` reads and the database cannot hold, the
# digit `str.isdigit` accepts and `int` refuses, other scripts' digits, impossible dates, NUL.
EVERY_FIELD = [
    "\x00",
    "9" * 30,
    "-99999999999999999999",
    "²",
    "١٢٣",
    "４２",
    "31/02/2026",
    "2026-13-45",
    "00/00/0000",
    "x" * 3000,
]


def explicit_examples(form: Form, other_ids: list[str]) -> list[dict]:
    """Every field the same malformed value; every field left out; every field sent twice (its
    page value, then « ² »); every field another commune's id. The first button, garbage files."""

    def with_extras(data: dict) -> dict:
        if form.buttons:
            data[form.buttons[0][0]] = form.buttons[0][1]
        for name in form.files:
            data[name] = SimpleUploadedFile(*GARBAGE_FILES[0])
        return data

    def page(name):
        return (form.fields[name] or [""])[0]

    other = other_ids[-1] if other_ids else "1"
    return [
        *(with_extras(dict.fromkeys(form.fields, value)) for value in EVERY_FIELD),
        with_extras({}),
        with_extras({name: [page(name), "²"] for name in form.fields}),
        with_extras(dict.fromkeys(form.fields, other)),
    ]


@st.composite
def submissions(draw, form: Form, other_ids: list[str]) -> dict:
    """One submission of `form`: either one field spoiled and the others as the page has them
    (to get past the first check), or each field kept, malformed, sent several times, another
    commune's id or left out; one of its buttons or none; garbage in its file inputs."""
    names = list(form.fields)
    target = draw(st.sampled_from([None, *names])) if names else None
    data = {}
    for name, page_values in form.fields.items():
        page_value = st.sampled_from(page_values or [""])
        anything = st.one_of(
            page_value, st.sampled_from(MALFORMED), st.sampled_from(other_ids or ["1"])
        )
        if target is not None and name != target:
            data[name] = draw(page_value)
            continue
        modes = (
            ["bad", "list", "missing", "other"] if target else ["page", "bad", "missing", "list"]
        )
        mode = draw(st.sampled_from(modes))
        if mode == "page":
            data[name] = draw(page_value)
        elif mode == "bad":
            data[name] = draw(st.one_of(st.sampled_from(MALFORMED), st.text(max_size=12)))
        elif mode == "list":
            data[name] = draw(st.lists(anything, min_size=2, max_size=3))
        elif mode == "other":
            data[name] = draw(st.sampled_from(other_ids or ["1"]))
    if form.buttons:
        button = draw(st.sampled_from([None, *form.buttons]))
        if button is not None:
            data[button[0]] = button[1]
    for name in form.files:
        garbage = draw(st.sampled_from([None, *GARBAGE_FILES]))
        if garbage is not None:
            data[name] = SimpleUploadedFile(garbage[0], garbage[1])
    return data


def shown(data: dict) -> dict:
    """The values sent, readable in a failure (files by name and size, long text shortened)."""

    def one(value):
        if isinstance(value, SimpleUploadedFile):
            return f"<file {value.name[:40]!r}, {value.size} bytes>"
        if isinstance(value, list):
            return [one(v) for v in value]
        return value if len(value) <= 60 else f"{value[:30]!r}…({len(value)} chars)"

    return {name: one(value) for name, value in data.items()}


def send(client, form: Form, data: dict):
    for value in data.values():
        if isinstance(value, SimpleUploadedFile):
            value.seek(0)
    try:
        # In a savepoint: a database error (PostgreSQL) must not abort the requests after it.
        with transaction.atomic():
            if form.method == "POST":
                response = client.post(form.action, data)
            else:
                response = client.get(form.action, data)
    except Exception:  # the test client re-raises what the view raised: a 500
        raise AssertionError(
            f"500 on {form.describe()}\nsent: {shown(data)!r}\n{traceback.format_exc()}"
        ) from None
    assert response.status_code < 500, (
        f"{response.status_code} on {form.describe()}\nsent: {shown(data)!r}"
    )
    return response


def fuzz(client, role: Role, form: Form, other_ids: list[str]) -> str | None:
    """Hypothesis over `form`; the failure's report, or None."""
    examples = EXAMPLES_POST if form.method == "POST" else EXAMPLES_GET

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @seed(zlib.crc32(repr(form_key(form)).encode()))  # reproducible, and each form its own draws
    @given(data=submissions(form, other_ids))
    def run(data):
        send(client, form, data)

    for data in explicit_examples(form, other_ids):
        run = example(data=data)(run)

    login(client, role)
    try:
        run()
    except AssertionError as failure:
        return str(failure)
    return None


def login(client, role: Role) -> None:
    if role.username or role.email or role.family_code:
        client.force_login(role.user(), backend=role.backend)


# --- Addresses -----------------------------------------------------------------------------------

# Put in an address's text parts (a request's number, a register's unit and day, a news item's
# reference): `<str:…>` takes anything but « / ».
IN_ADDRESSES = ["²", "9" * 30, "-1", "2026-13-45", "31-02-2026", "x" * 300, "é"]


def spoiled_addresses(client, role: Role, pages: list[str]) -> list[str]:
    """Each page whose address has text parts, fetched again with each part spoiled; the
    failures' reports."""
    failures, done = [], set()
    for page in pages:
        path = urlsplit(page).path
        match = resolve(path)
        texts = [
            name
            for name, value in match.kwargs.items()
            if name != "commune" and isinstance(value, str) and f"<str:{name}>" in match.route
        ]
        if not texts or blurred(path) in done:
            continue
        done.add(blurred(path))
        for name, value in ((n, v) for n in texts for v in IN_ADDRESSES):
            url = reverse(match.view_name, kwargs={**match.kwargs, name: value})
            try:
                with transaction.atomic():
                    response = client.get(url)
            except Exception:
                failures.append(f"500 on GET {url} (as {role.name})\n{traceback.format_exc()}")
                continue
            if response.status_code >= 500:
                failures.append(f"{response.status_code} on GET {url} (as {role.name})")
    return failures


# --- The walk -------------------------------------------------------------------------------------

TRIED: set[tuple] = set()  # forms already tried by an earlier role of this process


def form_key(form: Form) -> tuple:
    """A form's identity across pages: its URL with ids blurred (the family file of two
    families is one form, each procedure's step its own), its method and fields."""
    return (form.method, blurred(urlsplit(form.action).path), *form.key[2:])


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.name)
def test_no_form_answers_500_to_malformed_values(demo, db, client, role):
    if role.setup is not None:
        role.setup()
    login(client, role)
    started = time.perf_counter()
    forms, pages = crawl(client, role)
    crawled = time.perf_counter() - started
    assert set(role.reaches) <= {form.key[1] for form in forms}, pages
    failures, tried = [], 0
    for form in forms:
        key = form_key(form)
        if key in TRIED or (form.key[1] or ":").split(":")[-1] in SKIPPED_NAMES:
            continue
        TRIED.add(key)
        tried += 1
        failure = fuzz(client, role, form, demo[role.commune])
        if failure:
            failures.append(failure)
    failures.extend(spoiled_addresses(client, role, pages))
    print(
        f"{role.name}: {len(pages)} pages ({crawled:.1f} s), {tried} forms tried "
        f"({time.perf_counter() - started - crawled:.1f} s)"
    )
    assert not failures, "\n\n".join(failures)
