"""Issue 21 §7's « done when » in Chromium, with axe on every page (desktop and 360 px): the
csp-enfance agent opens « Activités » › « Règles de réservation », sees the rules in sentences,
gets a French error for a wrong entry (kept), previews « Réservation jusqu'au jeudi 10 h de la
semaine précédente », saves; the family's calendar follows: Monday 30 November, bookable before
(« la veille ouvrée à 9 h »: until Friday 27th 09:00), is locked with its reason now that the
deadline is Thursday 26th 10:00, the current minute; the week after stays bookable.

The clock: Thursday 26 November 2026, 10:00 in Paris."""

import re
from datetime import date, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.models import Activity
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.demarches.tests.test_journey_account_requests import CSP, log_in_francoise
from parvis.testing.browser import assert_accessible, log_in_agent, main_nav

pytestmark = pytest.mark.browser

GUICHET = f"{CSP}/guichet/"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)
MONDAY, NEXT_MONDAY = date(2026, 11, 30), date(2026, 12, 7)


@pytest.fixture
def regles_site(demo_site):
    from parvis.communes.models import Commune
    from parvis.families import demo as families_demo
    from parvis.families.models import Personne

    families_demo.load()
    commune = Commune.objects.get(slug="carrieres-sous-poissy")
    activity = make_activity(commune, slug="parcours-regles", name="Accueil du matin (règles)")
    lea = Personne.objects.get(famille__commune=commune, famille__name="DURAND", first_names="Léa")
    register(lea, activity)
    with time_machine.travel(NOW, tick=True):
        yield activity, lea, demo_site


def cell(page, activity, day):
    return page.locator(f'input[value="{activity.units.get().pk}:{day.isoformat()}"]')


@pytest.mark.parametrize("page_fixture", ["browser_page", "phone_page"])
def test_an_agent_changes_the_deadline_and_the_calendar_follows(regles_site, page_fixture, request):
    activity, lea, site = regles_site
    page = request.getfixturevalue(page_fixture)
    calendar = f"{CSP}/mon-espace/reservations/{activity.slug}/{lea.pk}/"
    log_in_francoise(page)
    page.goto(calendar)
    expect(cell(page, activity, MONDAY)).to_have_count(1)  # bookable until Friday 09:00
    expect(cell(page, activity, MONDAY)).to_be_enabled()

    context = page.context.browser.new_context(
        base_url=site, locale="fr-FR", timezone_id="Europe/Paris", viewport=page.viewport_size
    )
    agent = context.new_page()
    log_in_agent(agent, GUICHET, "csp-enfance")
    main_nav(agent).get_by_role("link", name="Activités").click()
    agent.get_by_role("region", name=activity.name).get_by_role(
        "link", name="Règles de réservation"
    ).click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Règles de réservation")
    expect(agent.get_by_text("Réservation jusqu'à la veille ouvrée à 9 h")).to_be_visible()
    assert_accessible(agent)

    booking = agent.get_by_role("group", name=re.compile("^Date limite pour réserver"))
    cancel = agent.get_by_role("group", name=re.compile("^Date limite pour annuler"))
    booking.get_by_label("Forme de la règle").select_option("weekly")
    booking.get_by_label("Jour de la semaine précédente").select_option(label="jeudi")
    booking.get_by_label("À l'heure (HH:MM)").fill("10:00")
    booking.get_by_label("À l'heure (HH:MM)").dispatch_event("change")
    # The inputs a kind does not use are hidden, and the preview follows the entries (JS).
    expect(booking.get_by_label("Nombre d'heures avant le début de l'accueil")).to_be_hidden()
    expect(booking.get_by_label("Jour de la semaine précédente")).to_be_visible()
    expect(agent.locator("#apercu")).to_contain_text(
        "Réservation jusqu'au jeudi 10 h de la semaine précédente."
    )
    assert Activity.objects.get(pk=activity.pk).booking_deadline["kind"] == "days_before"
    # A wrong entry first: its French error next to the rule, the entries kept.
    cancel.get_by_label("Forme de la règle").select_option("hours_before")
    cancel.get_by_label("Nombre d'heures avant le début de l'accueil").fill("5000")
    agent.get_by_role("button", name="Enregistrer les règles").click()
    expect(agent).to_have_title(re.compile("^Erreur"))
    expect(cancel.get_by_text("un nombre entier de 0 à 1440", exact=False).first).to_be_visible()
    expect(booking.get_by_label("Jour de la semaine précédente")).to_have_value("3")
    assert_accessible(agent)
    assert Activity.objects.get(pk=activity.pk).booking_deadline["kind"] == "days_before"

    cancel.get_by_label("Nombre d'heures avant le début de l'accueil").fill("72")
    agent.get_by_role("button", name="Prévisualiser").click()
    preview = agent.get_by_role("region", name="Aperçu des règles saisies (non enregistrées)")
    expect(preview).to_contain_text("Réservation jusqu'au jeudi 10 h de la semaine précédente.")
    expect(preview).to_contain_text("Annulation jusqu'à 72 heures avant le début de l'accueil.")
    assert_accessible(agent)
    agent.get_by_role("button", name="Enregistrer les règles").click()
    expect(agent.get_by_text("Les règles de réservation sont enregistrées.")).to_be_visible()
    expect(agent.get_by_role("region", name="Règles en vigueur")).to_contain_text(
        "Réservation jusqu'au jeudi 10 h de la semaine précédente."
    )
    assert_accessible(agent)
    context.close()

    # The family's calendar: Monday 30 November is locked since 10:00, with its reason.
    page.goto(calendar)
    expect(cell(page, activity, NEXT_MONDAY)).to_be_enabled()
    expect(cell(page, activity, MONDAY)).to_have_count(0)
    if not page.locator(f"#c-{activity.units.get().pk}-{MONDAY.isoformat()}").count():
        page.get_by_role("button", name="Semaines précédentes").click()
    locked = page.locator(f"#c-{activity.units.get().pk}-{MONDAY.isoformat()}")
    expect(locked).to_be_disabled()
    expect(
        page.get_by_text("date limite dépassée (jeudi 26 novembre 2026 à 10:00)").first
    ).to_be_visible()
    assert_accessible(page)
