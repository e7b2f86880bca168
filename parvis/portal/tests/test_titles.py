"""Every page has its own title (RGAA 8.6, WCAG 2.4.2): a walk of the demo communes with the
Django test client, as the visitor of each commune, the two families (DURAND, MARTIN) and two
agents (the administrator of Carrières-sous-Poissy, who holds every role at its guichet, and
Carrières-sur-Seine's `css-sej`), collecting each page's <title>.

Two addresses may share a title only when they are the same page: the same path whose query
only paginates (`page`) or brings the reader back (`next`), or the same document (an address
that spells the page's default, « ?onglet=compte », « ?jour=<today> »: identical once the CSRF
token and hidden values, which repeat the address, are left out). A child's calendar names the
child, a family's page at the guichet names the family, and the guichet's pages name the side."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import lxml.html
import pytest
from django.urls import Resolver404, resolve, reverse

from parvis.accounts.models import User
from parvis.families import demo as families_demo
from parvis.families.models import Personne
from parvis.portal.management.commands.load_demo import LOADERS

pytestmark = pytest.mark.django_db

CSP = "carrieres-sous-poissy"
CSS = "carrieres-sur-seine"
AGENT_BACKEND = "django.contrib.auth.backends.ModelBackend"
CITIZEN_BACKEND = "parvis.accounts.backends.CommuneBackend"

# Pages per role, addresses per URL pattern (ids blurred): two families' files, two children's
# calendars.
MAX_PAGES = 160
PER_PATTERN = 2
# Query parameters that do not make another page.
SAME_PAGE_PARAMETERS = {"page", "next"}
# Not pages: logging out, downloads, the payment provider's pages, the theme's stylesheet.
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
    within: str = ""  # the part of the commune's site the role walks
    username: str | None = None
    email: str | None = None
    family_code: str | None = None

    def login(self, client) -> None:
        client.logout()
        if self.username:
            client.force_login(User.objects.get(username=self.username), backend=AGENT_BACKEND)
        elif self.email or self.family_code:
            lookup = {"email": self.email} if self.email else {"family_code": self.family_code}
            user = User.objects.get(commune__slug=self.commune, **lookup)
            client.force_login(user, backend=CITIZEN_BACKEND)


ROLES = [
    Role("anonyme-csp", CSP, ("", "guichet/connexion/", "demarches/suivi/")),
    Role("anonyme-css", CSS, ("", "guichet/connexion/", "demarches/suivi/")),
    Role("durand", CSP, ("mon-espace/", ""), email=families_demo.CITIZEN_EMAIL),
    Role("martin", CSS, ("mon-espace/", ""), family_code=families_demo.FAMILY_CODE_READY),
    Role("admin-csp", CSP, ("guichet/",), "guichet/", username="admin-carrieres-sous-poissy"),
    Role("css-sej", CSS, ("guichet/",), "guichet/", username="css-sej"),
]


@dataclass
class Page:
    url: str
    title: str
    document: str  # the HTML without what repeats the address or changes at each request


def url_name(path: str) -> str | None:
    try:
        return resolve(path).url_name
    except Resolver404:
        return None


def identity(url: str) -> str:
    """The page an address shows: its path and the query parameters that make another page."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in SAME_PAGE_PARAMETERS]
    return parts.path + (f"?{urlencode(sorted(query))}" if query else "")


HIDDEN_VALUE = re.compile(r'(<input[^>]*type="hidden"[^>]*?)\svalue="[^"]*"')
NEXT_VALUE = re.compile(r"([?&](?:amp;)?next=)[^\"&]*")


def document_of(html: str) -> str:
    """The page without what repeats its own address (hidden `next` values, links' « ?next= »)
    nor the CSRF token (a hidden value too)."""
    return NEXT_VALUE.sub(r"\1", HIDDEN_VALUE.sub(r"\1", html))


def title_of(html: str) -> str:
    return " ".join(lxml.html.fromstring(html).findtext(".//title").split())


def walk(client, role: Role) -> list[Page]:
    """The role's pages reached by links (GET only) from its entries, within its part."""
    role.login(client)
    within = f"/{role.commune}/{role.within}"
    queue = [f"/{role.commune}/{entry}" for entry in role.entries]
    seen, per_pattern, pages = set(queue), defaultdict(int), []
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        response = client.get(url)
        if response.status_code in {301, 302}:
            hrefs = [response["Location"]]
        elif response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            pages.append(Page(url, title_of(html), document_of(html)))
            hrefs = lxml.html.fromstring(html).xpath("//a/@href")
        else:
            continue
        for href in hrefs:
            target = urlsplit(urljoin(url, href))
            if target.netloc and target.netloc != "testserver":
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            name = url_name(target.path)
            if link in seen or not target.path.startswith(within) or name in SKIPPED_NAMES:
                continue
            seen.add(link)
            pattern = re.sub(r"\d+", "N", target.path)
            if name is not None and per_pattern[pattern] < PER_PATTERN:
                per_pattern[pattern] += 1
                queue.append(link)
    return pages


@pytest.fixture
def demo():
    for loader in LOADERS:
        loader()


def test_no_two_pages_share_a_title(demo, client):
    by_title: dict[str, dict[str, Page]] = defaultdict(dict)
    walked = {}
    for role in ROLES:
        pages = walk(client, role)
        walked[role.name] = len(pages)
        for page in pages:
            by_title[page.title].setdefault(identity(page.url), page)
    # A walk that lost its login or its links would pass on nothing.
    assert all(count >= 20 for count in walked.values()), walked
    shared = []
    for title, pages in sorted(by_title.items()):
        documents = {page.document for page in pages.values()}
        if len(pages) > 1 and len(documents) > 1:
            shared.append(f"« {title} »:\n" + "\n".join(f"    {url}" for url in sorted(pages)))
    assert not shared, "Pages sharing a title:\n" + "\n".join(shared)


def get_title(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return title_of(response.content.decode())


def test_the_calendars_of_two_children_name_them(demo, client):
    Role("durand", CSP, (), email=families_demo.CITIZEN_EMAIL).login(client)
    lea = Personne.objects.get(commune__slug=CSP, first_names="Léa", famille__name="DURAND")
    hugo = Personne.objects.get(commune__slug=CSP, first_names="Hugo", famille__name="DURAND")
    titles = {}
    for child in (lea, hugo):
        kwargs = {"commune": CSP, "activity": "restauration", "child": child.pk}
        titles[child.first_names] = (
            get_title(client, reverse("activities:calendrier", kwargs=kwargs)),
            get_title(client, reverse("activities:debut", kwargs=kwargs)),
        )
    assert titles["Léa"][0].startswith("Calendrier pour Léa — Restauration scolaire")
    assert titles["Hugo"][0].startswith("Calendrier pour Hugo — Restauration scolaire")
    assert titles["Léa"][1].startswith("Restauration scolaire pour Léa")
    assert titles["Hugo"][1].startswith("Restauration scolaire pour Hugo")


def test_the_guichet_names_its_side_and_the_family(demo, client):
    Role("durand", CSP, (), email=families_demo.CITIZEN_EMAIL).login(client)
    family_side = get_title(client, reverse("activities:index", kwargs={"commune": CSP}))
    Role("admin", CSP, (), username="admin-carrieres-sous-poissy").login(client)
    guichet = get_title(client, reverse("guichet_activites:activites", kwargs={"commune": CSP}))
    assert family_side == "Activités — Démarches numériques — Carrières-sous-Poissy"
    assert guichet == "Activités — Guichet des agents — Carrières-sous-Poissy"
    enfant = {"commune": CSP, "number": 1, "kind": "enfant"}
    assert get_title(client, reverse("backoffice:membre_ajouter", kwargs=enfant)).startswith(
        "Ajouter un enfant — famille DURAND — Guichet des agents"
    )
