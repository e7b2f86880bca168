"""The household grid in Chromium, with axe on every page: Françoise DURAND (the demo household)
opens « Modifier les réservations » → « Toutes les réservations du foyer », applies a weekly
pattern — the canteen (« Restauration scolaire ») on Mondays, Tuesdays, Thursdays and Fridays
over a range that crosses the Christmas holidays — sees what was changed and what was left,
goes to the basket, « Valider », reads the confirmation; the database then holds exactly the
expected bookings. On a desktop for Léa, and on a 360 px phone for Hugo."""

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from playwright.sync_api import expect

from parvis.activities.models import Reservation
from parvis.activities.rules import PARIS
from parvis.demarches.tests.test_journey_account_requests import CSP, log_in_francoise
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

# Friday 20 November 2026, 10:00 in Paris. The demo books the canteen of Léa and Hugo for the
# three weeks from 21 November; the pattern runs from Monday 14 December to Friday 8 January,
# across the Christmas holidays (19 December to 3 January) and two public holidays.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
FIRST, LAST = date(2026, 12, 14), date(2027, 1, 8)
EXPECTED = [
    date(2026, 12, 14), date(2026, 12, 15), date(2026, 12, 17), date(2026, 12, 18),
    date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 7), date(2027, 1, 8),
]  # fmt: skip


@pytest.fixture
def foyer_site(demo_site):
    from parvis.activities import demo as activities_demo
    from parvis.families import demo as families_demo

    with time_machine.travel(NOW, tick=True):
        families_demo.load()
        activities_demo.load(today=NOW.date())
        yield


def canteen_days(first_names):
    return sorted(
        Reservation.objects.filter(
            child__famille__name="DURAND", child__first_names=first_names, unit__code="REPAS"
        ).values_list("day", flat=True)
    )


def apply_the_pattern(page, first_names):
    log_in_francoise(page)
    page.goto(f"{CSP}/mon-espace/activites/")
    page.get_by_role("link", name="Modifier les réservations", exact=True).click()
    assert_accessible(page)
    page.get_by_role("link", name="Toutes les réservations du foyer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Toutes les réservations du foyer")
    expect(page.get_by_role("heading", name="Novembre 2026")).to_be_visible()
    expect(page.get_by_text("Modifications apportées ici")).to_be_visible()
    expect(page.get_by_text("Réservations antérieures en attente d'instruction")).to_be_visible()
    expect(
        page.get_by_text("date limite dépassée (vendredi 20 novembre 2026 à 09:00)").first
    ).to_be_visible()
    assert_accessible(page)

    tool = page.get_by_role("group", name="Appliquer un modèle de semaine")
    tool.get_by_label("Pour").select_option(
        label=f"{first_names} — Restauration scolaire : Repas (REPAS)"
    )
    days = tool.get_by_role("group", name="Les jours")
    for weekday in ("lundi", "mardi", "jeudi", "vendredi"):
        days.get_by_label(weekday, exact=True).check()
    tool.get_by_label("Du", exact=True).fill(FIRST.isoformat())
    tool.get_by_label("Au (inclus)").fill(LAST.isoformat())
    tool.get_by_label("réserver", exact=True).check()
    tool.get_by_role("button", name="Appliquer le modèle").click()

    # The tool's own result: 300 ms after the page settles, the page-wide live region
    # (#resa-annonce, checked below) says the same words, so the page holds two such statuses.
    result = tool.get_by_role("status").filter(has_text="Modèle de semaine appliqué.")
    expect(result).to_contain_text("8 jours modifiés")
    expect(result).to_contain_text("8 jours laissés tels quels, car non modifiables")
    expect(result).to_contain_text("pas d'accueil : Vacances de Noël (6)")
    # The page comes back on the tool, the focus on its button, the result read out (issue 15).
    expect(page).to_have_url(re.compile(r"#modele$"))
    expect(tool.get_by_role("button", name="Appliquer le modèle")).to_be_focused()
    expect(tool.get_by_role("status")).to_contain_text("Modèle de semaine appliqué.")
    expect(page.locator("#resa-annonce")).to_contain_text(
        "Modèle de semaine appliqué. 8 jours modifiés, 0 jours déjà ainsi. 8 jours laissés tels "
        "quels, car non modifiables : pas d'accueil : Vacances de Noël (6) ; pas d'accueil"
    )
    expect(
        page.get_by_text("8 modifications hors de cette période sont conservées dans le panier.")
    ).to_be_visible()
    assert_accessible(page)

    # December is shown with the pattern's days ticked and marked as changes made here.
    page.get_by_role("button", name="Mois suivant").click()
    expect(page.get_by_role("heading", name="Décembre 2026")).to_be_visible()
    expect(page.get_by_label(f"Repas REPAS, {first_names}, lundi 14/12/2026")).to_be_checked()
    expect(page.get_by_text("✎ ajout demandé")).to_have_count(4)
    # calendrier.js marks a change at once, here as in the one-child calendar.
    monday = page.get_by_label(f"Repas REPAS, {first_names}, lundi 14/12/2026")
    monday.uncheck()
    expect(page.get_by_text("✎ ajout demandé")).to_have_count(3)
    monday.check()
    expect(page.get_by_text("✎ ajout demandé")).to_have_count(4)
    assert_accessible(page)

    page.get_by_role("button", name="Voir le panier").first.click()
    expect(page.get_by_role("heading", name="Panier")).to_be_visible()
    expect(
        page.get_by_role("heading", name=f"{first_names} DURAND — Restauration scolaire")
    ).to_be_visible()
    expect(page.get_by_text("lundi 14/12/2026 — Repas (REPAS)")).to_be_visible()
    expect(page.get_by_text("vendredi 08/01/2027 — Repas (REPAS)")).to_be_visible()
    expect(page.locator('input[name="ajout"]')).to_have_count(len(EXPECTED))
    assert_accessible(page)
    before = canteen_days(first_names)
    page.get_by_role("button", name="Valider").click()

    expect(
        page.get_by_role("status").filter(has_text="Vos demandes sont enregistrées")
    ).to_be_visible()
    expect(page.get_by_text("jeudi 07/01/2027 — Repas (REPAS)")).to_be_visible()
    assert_accessible(page)
    return before


def check_the_bookings(first_names, before):
    after = canteen_days(first_names)
    assert [d for d in after if d not in before] == EXPECTED
    assert [d for d in before if d not in after] == []
    # Nothing else of the household changed.
    assert (
        not Reservation.objects.filter(child__famille__name="DURAND", day__gte=FIRST, day__lte=LAST)
        .exclude(child__first_names=first_names, unit__code="REPAS")
        .exists()
    )
    (message,) = [m for m in mail.outbox if "réservations" in m.subject]
    assert f"pour {first_names} (Restauration scolaire)" in message.body
    assert "lundi 14/12/2026, Repas (REPAS)" in message.body


def test_a_parent_applies_a_weekly_canteen_pattern_for_lea(foyer_site, browser_page):
    before = apply_the_pattern(browser_page, "Léa")
    check_the_bookings("Léa", before)
    assert before and max(before) < FIRST - timedelta(days=1)  # the demo's own weeks
    browser_page.get_by_role("link", name="Retour aux réservations du foyer").click()
    expect(browser_page.get_by_role("heading", name="Décembre 2026")).to_be_visible()


def test_the_same_on_a_phone_for_hugo(foyer_site, phone_page):
    before = apply_the_pattern(phone_page, "Hugo")
    check_the_bookings("Hugo", before)
