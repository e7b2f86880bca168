"""« Paramètres d'affichage » in Chromium (issue 15 §5).

1. Without JavaScript: a visitor opens the footer's link, chooses a very large text and wider
   letters and lines, saves, and is back on the page they came from, drawn with the new settings
   from its first paint (the classes come in the served HTML, the stylesheet is in the head); then
   « Réinitialiser ».
2. The pages of the two guides (seed 000: Françoise DURAND at Carrières-sous-Poissy; seed 003: the
   MARTIN family at Carrières-sur-Seine), in every display mode (each setting's value alone, then
   all together): axe on each, and no horizontal scroll at 640 px nor at 360 px (reflow, WCAG
   1.4.10). One login per family: the mode is swapped by its cookie (``set_display``).
"""

import re
from datetime import datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.models import Inscription, Unit
from parvis.activities.rules import PARIS
from parvis.billing.models import Invoice
from parvis.communes.demo import DEMO_PASSWORD
from parvis.families import demo as families_demo
from parvis.portal import display
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import (
    DESKTOP_VIEWPORT,
    _watched_page,
    assert_accessible,
    set_display,
)

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
CSS = "/carrieres-sur-seine"
# Monday 23 November 2026, 10:00 in Paris: the demo's bookings and invoices as the guides show them.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)

ALL_TOGETHER = {
    "taille": "tres-grande",
    "contraste": "renforce",
    "police": "dyslexie",
    "lettres": "augmente",
    "lignes": "augmente",
    "animations": "reduites",
}
# Each value of each setting alone, then all together.
MODES = [
    *(
        {setting.name: value}
        for setting in display.SETTINGS
        for value, _label in setting.choices[1:]
    ),
    ALL_TOGETHER,
]
REFLOW_WIDTHS = (640, 360)
HIGH_CONTRAST_THEME = "rgb(0, 32, 91)"  # affichage.css's --theme, whatever the commune's colour

STYLE = """(element) => {
  const style = getComputedStyle(element);
  return {
    fontSize: style.fontSize,
    lineHeight: style.lineHeight,
    letterSpacing: style.letterSpacing,
    wordSpacing: style.wordSpacing,
    marginBottom: style.marginBottom,
    fontFamily: style.fontFamily,
  };
}"""


# The elements that stick out past the right edge of a `width` wide window (the first ten).
WIDER_THAN = """(width) => [...document.querySelectorAll("body *")]
  .filter((element) => element.getBoundingClientRect().right > width + 0.5)
  .slice(0, 10)
  .map((element) => `${element.tagName.toLowerCase()}.${element.className}`
    + ` (${Math.round(element.getBoundingClientRect().width)} px wide)`)"""


@pytest.fixture
def guides_site(demo_site):
    with time_machine.travel(NOW, tick=True):
        for loader in LOADERS[1:]:  # demo_site loaded the communes
            loader()
        yield


@pytest.fixture
def page_without_javascript(request, chromium, live_server):
    context, page = _watched_page(
        request, chromium, live_server.url, viewport=DESKTOP_VIEWPORT, java_script_enabled=False
    )
    yield page
    context.close()


# --- 1. Chosen without JavaScript, applied from the first paint -------------------------------


def test_settings_chosen_without_javascript_apply_from_the_next_page_on(
    demo_site, page_without_javascript
):
    page = page_without_javascript
    page.goto(f"{CSP}/contacts/")
    paragraph = page.locator("main p.address")
    assert paragraph.evaluate(STYLE) | {"fontFamily": None} == {
        "fontSize": "16px",
        "lineHeight": "24px",  # parvis.css's 1.5
        "letterSpacing": "normal",
        "wordSpacing": "0px",
        "marginBottom": "4px",  # .address
        "fontFamily": None,
    }

    page.get_by_role("contentinfo").get_by_role("link", name="Paramètres d'affichage").click()
    expect(page).to_have_url(re.compile(rf"{CSP}/affichage/\?next=.*contacts"))
    # (axe runs as a promise, which never settles where scripts are off: it checks this page in
    # every display mode below.)
    expect(page.get_by_role("heading", level=1)).to_have_text("Paramètres d'affichage")
    page.get_by_role("group", name="Taille du texte").get_by_label("Très grande").check()
    page.get_by_role("group", name="Espacement des lettres et des mots").get_by_label(
        "Augmenté"
    ).check()
    page.get_by_role("group", name="Espacement des lignes et des paragraphes").get_by_label(
        "Augmenté"
    ).check()
    page.get_by_role("group", name="Police de caractères").get_by_label(
        "Adaptée à la dyslexie (OpenDyslexic)"
    ).check()
    page.get_by_role("button", name="Enregistrer").click()

    # Back where the visitor was, told, and drawn with the settings.
    expect(page).to_have_url(f"{demo_site}{CSP}/contacts/")
    expect(page.get_by_role("status")).to_contain_text(
        "Vos paramètres d'affichage sont enregistrés pour ce navigateur."
    )
    style = paragraph.evaluate(STYLE)
    assert style["fontSize"] == "24px"  # 150 %
    assert style["lineHeight"] == "43.2px"  # 1.8 × 24
    assert style["letterSpacing"] == "2.88px"  # 0.12 em
    assert style["wordSpacing"] == "3.84px"  # 0.16 em
    assert style["marginBottom"] == "48px"  # 2 em between paragraphs
    assert style["fontFamily"].startswith("OpenDyslexic")
    # Loaded once the page's fonts are (a loaded machine may still be fetching it here).
    assert page.evaluate(
        "document.fonts.ready.then(() => document.fonts.check('16px OpenDyslexic'))"
    )
    # From the first paint: the classes come in the HTML the server sends, and the stylesheet
    # that draws them is in the head (render-blocking); no script is needed (none runs here).
    served = page.goto(f"{CSP}/contacts/").text()
    assert re.search(
        r'<html lang="fr" class="affichage-taille-tres-grande affichage-police-dyslexie '
        r'affichage-lettres-augmente affichage-lignes-augmente">',
        served,
    )
    assert "/static/parvis/affichage.css" in served.split("</head>")[0]

    # « Réinitialiser »: the defaults again.
    page.get_by_role("contentinfo").get_by_role("link", name="Paramètres d'affichage").click()
    expect(
        page.get_by_role("group", name="Taille du texte").get_by_label("Très grande")
    ).to_be_checked()
    page.get_by_role("button", name="Réinitialiser").click()
    expect(page).to_have_url(f"{demo_site}{CSP}/contacts/")
    expect(page.get_by_role("status")).to_contain_text(
        "Les paramètres d'affichage par défaut sont rétablis."
    )
    assert "affichage-" not in page.evaluate("document.documentElement.className")
    assert paragraph.evaluate(STYLE)["fontSize"] == "16px"
    assert not [c for c in page.context.cookies() if c["name"] == display.COOKIE_NAME]


# --- 2. Every page of the two guides in every mode ----------------------------------------------


def _check_every_mode(page, name: str, open_page) -> None:
    """`open_page(page)` opens one page of a guide; it is opened again in each display mode, and
    checked there: the classes, axe, then no horizontal scroll at each reflow width."""
    for settings in MODES:
        set_display(page, **settings)
        page.set_viewport_size(DESKTOP_VIEWPORT)
        open_page(page)
        classes = page.evaluate("[...document.documentElement.classList]")
        classes = [name for name in classes if name.startswith("affichage-")]  # not menu.js's
        expected = display.html_classes({**display.DEFAULTS, **settings}).split()
        assert classes == expected, f"{name}: {classes} instead of {expected}"
        if settings.get("contraste") == "renforce":
            header = page.locator(".site-header").evaluate(
                "(element) => getComputedStyle(element).backgroundColor"
            )
            assert header == HIGH_CONTRAST_THEME, f"{name}: the commune's colour won ({header})"
        try:
            assert_accessible(page)
            for width in REFLOW_WIDTHS:
                page.set_viewport_size({"width": width, "height": 740})
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                if overflow > 0:
                    wider = page.evaluate(WIDER_THAN, width)
                    pytest.fail(f"scrolls {overflow} px sideways at {width} px: {wider}")
        except (AssertionError, pytest.fail.Exception) as error:
            error.add_note(f"page « {name} » in display mode {settings}")
            raise
    set_display(page)
    page.set_viewport_size(DESKTOP_VIEWPORT)


def _visit(url: str):
    return lambda page: page.goto(url)


def _log_in(page, slug: str, login: str) -> None:
    page.goto(f"/{slug}/connexion/")
    form = page.locator("main form").filter(has=page.get_by_role("button", name="Connexion"))
    form.get_by_label(re.compile("Identifiant|Code famille")).first.fill(login)
    form.get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
    form.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")


def _start_procedure(page, base: str, slug: str) -> str:
    """A procedure's first step (a draft is made by « Commencer »): its address."""
    page.goto(f"{base}/demarches/{slug}/")
    page.get_by_role("button", name="Commencer").click()
    expect(page).to_have_url(re.compile(r"/etape-1/$"))
    return page.url


def _calendar(famille_name: str, first_names: str) -> str:
    inscription = (
        Inscription.objects.filter(
            child__famille__name=famille_name, child__first_names=first_names
        )
        .select_related("activity", "child__famille__commune")
        .order_by("pk")
        .first()
    )
    commune = inscription.child.famille.commune.slug
    return f"/{commune}/mon-espace/reservations/{inscription.activity.slug}/{inscription.child.pk}/"


def _invoice(famille_name: str) -> Invoice:
    return Invoice.objects.filter(famille__name=famille_name).order_by("-pk").first()


def test_guide_000_in_every_display_mode(guides_site, browser_page):
    """Françoise DURAND's pages (seed 000), at Carrières-sous-Poissy."""
    page = browser_page
    pages = [
        ("Accueil", _visit(f"{CSP}/")),
        ("Connexion", _visit(f"{CSP}/connexion/")),
        ("Créer mon espace", _visit(f"{CSP}/creer-mon-espace/")),
        ("Déclaration d'accessibilité", _visit(f"{CSP}/accessibilite/")),
        ("Paramètres d'affichage", _visit(f"{CSP}/affichage/?next={CSP}/")),
    ]
    for name, open_page in pages:
        _check_every_mode(page, name, open_page)

    _log_in(page, CSP.strip("/"), families_demo.CITIZEN_EMAIL)
    step = _start_procedure(page, CSP, "changement-de-coordonnees")
    invoice = _invoice("DURAND")
    pages = [
        ("Mon accueil", _visit(f"{CSP}/mon-espace/")),
        ("Mes informations", _visit(f"{CSP}/mon-espace/mes-informations/")),
        ("Modification de votre espace", _visit(f"{CSP}/mon-espace/modifier/")),
        ("Nouvelle démarche", _visit(f"{CSP}/demarches/")),
        ("Une étape de démarche", _visit(step)),
        ("Activités", _visit(f"{CSP}/mon-espace/activites/")),
        ("Calendrier de Léa", _visit(_calendar("DURAND", "Léa"))),
        ("Réservations du foyer", _visit(f"{CSP}/mon-espace/reservations/foyer/")),
        ("Mon compte", _visit(f"{CSP}/mon-espace/factures/")),
        ("Édition de documents", _visit(f"{CSP}/mon-espace/factures/documents/")),
    ]
    if invoice is not None:
        pages.append(("Une facture", _visit(f"{CSP}/mon-espace/factures/{invoice.pk}/")))
    for name, open_page in pages:
        _check_every_mode(page, name, open_page)


def test_guide_003_in_every_display_mode(guides_site, browser_page):
    """The MARTIN family's pages (seed 003), at Carrières-sur-Seine."""
    page = browser_page
    _check_every_mode(page, "Accueil (connexion par code famille)", _visit(f"{CSS}/"))

    _log_in(page, CSS.strip("/"), families_demo.FAMILY_CODE_READY)
    invoice = _invoice("MARTIN")
    calendar = _calendar("MARTIN", "Jules")
    soir = Unit.objects.get(commune__slug="carrieres-sur-seine", code="GARD_PM")

    def basket(page):
        page.goto(calendar)
        page.locator(f'input[value="{soir.pk}:2026-11-26"]').check()
        page.get_by_role("button", name="Aller à l'étape 2").click()
        expect(page.get_by_text("jeudi 26/11/2026 — Garderie du soir (GARD_PM)")).to_be_visible()

    # The pages whose template guide 000's walk already met (Mon accueil, Activités, Mon compte,
    # a procedure's step) are not walked again: the browser time goes to what 003 adds.
    pages = [
        ("Calendrier de Jules", _visit(calendar)),
        ("Panier", basket),
        ("Facture", _visit(f"{CSS}/mon-espace/factures/{invoice.pk}/")),
        ("Paiements", _visit(f"{CSS}/mon-espace/factures/{invoice.pk}/paiements/")),
        ("Coordonnées", _visit(f"{CSS}/mon-espace/mes-informations/?onglet=coordonnees")),
    ]
    for name, open_page in pages:
        _check_every_mode(page, name, open_page)
