"""The seed's « RÉSERVER OU ANNULER LES ACTIVITÉS » in Chromium, with axe on every page:
Françoise DURAND opens « Activités », « Modifier les réservations », chooses « Accueil
Périscolaire Maternelle », « Commencer », ticks two days, sees them in the basket, « Valider »,
and reads the confirmation (also e-mailed). And the same flow on a 360 px phone, with « Tout
cocher » for a week. On both, the calendar screen carries the seed's « Durée approximative »,
« 1 - MA DEMANDE », « ANNULER LA DÉMARCHE » and « ALLER À L'ÉTAPE 2 », and opens on the first
week that can still change, in the first screen, with the basket's count and « ALLER À L'ÉTAPE
2 » in sight (the weeks before it folded)."""

import re
from datetime import date, datetime

import pytest
import time_machine
from django.core import mail
from playwright.sync_api import expect

from parvis.activities.models import Reservation
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.demarches.tests.test_journey_account_requests import CSP, log_in_francoise
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

# Friday 20 November 2026, 10:00 in Paris: the days from Tuesday 24 on can be booked.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)


@pytest.fixture
def reservations_site(demo_site):
    from parvis.communes.models import Commune
    from parvis.families import demo as families_demo
    from parvis.families.models import Personne

    families_demo.load()
    commune = Commune.objects.get(slug="carrieres-sous-poissy")
    activity = make_activity(commune, slug="parcours-peri-maternelle")
    lea = Personne.objects.get(famille__commune=commune, famille__name="DURAND", first_names="Léa")
    register(lea, activity)
    with time_machine.travel(NOW, tick=True):
        yield activity


def cell(page, activity, day):
    return page.locator(f'input[value="{activity.units.get().pk}:{day.isoformat()}"]')


def in_first_screen(page, locator) -> None:
    """`locator` wholly in the viewport as the page opens (it may open on an anchor), and not
    under the basket's bar (fixed at the bottom on a phone, sticky at the top on a desktop)."""
    box = locator.bounding_box()
    size = page.viewport_size
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (box, size)
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (box, size)
    bar = page.locator(".resa-bar").bounding_box()
    if bar is not None and not locator.evaluate("(e) => !!e.closest('.resa-bar')"):
        below, above = box["y"] >= bar["y"] + bar["height"], box["y"] + box["height"] <= bar["y"]
        assert below or above, (box, bar)


def the_calendar_screen_opens_on_the_first_changeable_week(page) -> None:
    """The seed's words (their capitals are the stylesheet's, as the browser shows them), the
    week of Monday 23 November (Tuesday 24 can still be booked) first of the weeks shown, and
    the basket's count and « ALLER À L'ÉTAPE 2 » in sight, all without scrolling: « Commencer »
    opens the page on the agenda."""
    expect(page).to_have_url(re.compile(r"/#agenda$"))
    expect(page.get_by_role("button", name="Aller à l'étape 2")).to_be_visible()
    page.wait_for_load_state()
    main = page.locator("main")
    # Retried until the stylesheet has put the capitals (a single read could come before it).
    for words in ("Accueil Périscolaire Maternelle", "Durée approximative de cette démarche : 5 mn",
                  "1 - MA DEMANDE", "ANNULER LA DÉMARCHE", "ALLER À L'ÉTAPE 2"):  # fmt: skip
        expect(main).to_contain_text(words, use_inner_text=True)
    # Six weeks from that one; the weeks before it, and the whole period, a button away.
    expect(page.get_by_role("button", name="Semaines précédentes")).to_be_visible()
    expect(page.locator("#semaine-2026-11-16")).to_have_count(0)
    expect(page.locator("#semaine-2026-12-28")).to_have_count(1)
    expect(page.locator("#semaine-2027-01-04")).to_have_count(0)
    in_first_screen(page, page.locator("#semaine-2026-11-23 .resa-week"))
    in_first_screen(page, page.locator(".resa-bar__basket"))
    in_first_screen(page, page.get_by_role("button", name="Aller à l'étape 2"))


def test_a_parent_books_two_days_from_activites_to_the_confirmation(
    reservations_site, browser_page
):
    activity = reservations_site
    page = browser_page
    log_in_francoise(page)

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Activités"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activités")
    expect(page.get_by_role("heading", name="Vérification des inscriptions")).to_be_visible()
    expect(page.get_by_text("✓ Acceptée").first).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Modifier les réservations", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier les réservations")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"Accueil Périscolaire Maternelle — Léa")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Accueil Périscolaire Maternelle")
    expect(page.get_by_text("Durée approximative de cette démarche : 5 mn")).to_be_visible()
    expect(page.get_by_text("Réservations du 01/09/2026 au 03/07/2027")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Commencer").click()

    the_calendar_screen_opens_on_the_first_changeable_week(page)
    expect(page.get_by_text("Modifications apportées ici")).to_be_visible()
    expect(page.get_by_text("Réservations antérieures en attente d'instruction")).to_be_visible()
    expect(cell(page, activity, date(2026, 11, 23))).to_have_count(0)  # deadline passed
    locked = page.locator(f"#c-{activity.units.get().pk}-2026-11-23")
    expect(locked).to_be_disabled()
    expect(
        page.get_by_text("date limite dépassée (vendredi 20 novembre 2026 à 09:00)").first
    ).to_be_visible()
    assert_accessible(page)
    cell(page, activity, date(2026, 12, 3)).check()
    cell(page, activity, date(2026, 12, 4)).check()
    expect(page.get_by_text("✎ ajout demandé")).to_have_count(2)  # marked at once (JS)
    expect(page.locator('[data-resa-count="ajout"]')).to_have_text("2")  # counted at once (JS)
    # « Aller au mois : » shows the weeks from January's, the two days ticked kept (hidden, still
    # counted); the bar stays in sight.
    page.get_by_role("button", name="Janvier 2027").click()
    expect(page.locator("#mois-2027-01")).to_be_in_viewport()
    unit = activity.units.get().pk
    expect(page.locator(f"#c-{unit}-2026-12-03")).to_have_count(0)  # its week is not shown
    expect(
        page.locator(f'input[type="hidden"][name="ajout"][value="{unit}:2026-12-03"]')
    ).to_have_count(1)
    expect(page.locator('[data-resa-count="ajout"]')).to_have_text("2")
    expect(page.get_by_role("button", name="Aller à l'étape 2")).to_be_in_viewport()
    assert_accessible(page)
    page.get_by_role("button", name="Aller à l'étape 2").click()

    expect(page.get_by_role("heading", name="Panier")).to_be_visible()
    expect(page.locator("main")).to_contain_text("2 - PANIER", use_inner_text=True)
    in_first_screen(page, page.get_by_role("button", name="Valider"))
    expect(page.get_by_text("jeudi 03/12/2026 — Acc Matin (PERI_AM_M)")).to_be_visible()
    expect(page.get_by_text("vendredi 04/12/2026 — Acc Matin (PERI_AM_M)")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Valider").click()

    expect(
        page.get_by_role("status").filter(has_text="Vos demandes sont enregistrées")
    ).to_be_visible()
    expect(page.get_by_text("jeudi 03/12/2026 — Acc Matin (PERI_AM_M)")).to_be_visible()
    assert_accessible(page)
    assert sorted(
        Reservation.objects.filter(unit__activity=activity).values_list("day", flat=True)
    ) == [
        date(2026, 12, 3),
        date(2026, 12, 4),
    ]
    (message,) = [m for m in mail.outbox if "réservations" in m.subject]
    assert "jeudi 03/12/2026, Acc Matin (PERI_AM_M)" in message.body

    page.get_by_role("link", name="Retour à l'agenda").click()
    expect(cell(page, activity, date(2026, 12, 3))).to_be_checked()


def test_the_same_flow_on_a_phone_with_tout_cocher_for_a_week(reservations_site, phone_page):
    activity = reservations_site
    page = phone_page
    log_in_francoise(page)
    page.goto(f"{CSP}/mon-espace/activites/")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Modifier les réservations — Accueil")).click()
    assert_accessible(page)
    page.get_by_role("link", name="Commencer").click()
    the_calendar_screen_opens_on_the_first_changeable_week(page)
    assert_accessible(page)
    # The weeks before, and back, with a tap each.
    page.get_by_role("button", name="Semaines précédentes").click()
    expect(page.get_by_text("Semaine du 16/11/2026")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Semaines suivantes").click()
    expect(page.get_by_text("Semaine du 23/11/2026", exact=True)).to_be_visible()

    page.get_by_role("button", name="Tout cocher — semaine du 30/11/2026").click()
    for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 3), date(2026, 12, 4)):
        expect(cell(page, activity, day)).to_be_checked()
    expect(cell(page, activity, date(2026, 12, 7))).not_to_be_checked()
    expect(page.locator('[data-resa-count="ajout"]')).to_have_text("4")
    # The whole period on one page keeps the ticks; far down the year, the bar is in sight.
    page.get_by_role("button", name="Afficher toute la période sur une page").click()
    expect(cell(page, activity, date(2026, 12, 1))).to_be_checked()
    expect(page.locator('[data-resa-count="ajout"]')).to_have_text("4")
    cell(page, activity, date(2027, 6, 3)).scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Aller à l'étape 2")).to_be_in_viewport()
    assert_accessible(page)
    page.get_by_role("button", name="Aller à l'étape 2").click()
    in_first_screen(page, page.get_by_role("button", name="Valider"))
    assert_accessible(page)
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Vos demandes sont enregistrées.", exact=False)).to_be_visible()
    assert_accessible(page)
    assert Reservation.objects.filter(unit__activity=activity).count() == 4
