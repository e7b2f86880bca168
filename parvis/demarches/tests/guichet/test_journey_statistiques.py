"""Issue 21 §8 in Chromium, with axe (desktop and 360 px): csp-etat-civil opens « Demandes » ›
« Statistiques par démarche », reads its procedures' counts and median times, chooses one
procedure and reads its months (the table behind the chart)."""

import itertools
from datetime import datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.demarches.tests.test_journey_account_requests import CSP
from parvis.testing.browser import assert_accessible, log_in_agent, main_nav

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 16, 10, 0)


@pytest.fixture
def stats_site(demo_site):
    from zoneinfo import ZoneInfo

    from parvis.demarches import demo as demarches_demo
    from parvis.demarches.models import Demande, Procedure, Status
    from parvis.families import demo as families_demo

    paris = ZoneInfo("Europe/Paris")
    families_demo.load()
    demarches_demo.load()
    procedure = (
        Procedure.objects.filter(commune__slug="carrieres-sous-poissy", service__kind="etat_civil")
        .order_by("title")
        .first()
    )
    numbers = itertools.count(900001)

    def at(*args):
        return datetime(*args, tzinfo=paris)

    rows = [
        (Status.ACCEPTEE, at(2026, 10, 5, 9), at(2026, 10, 7, 9)),
        (Status.REFUSEE, at(2026, 11, 2, 9), at(2026, 11, 2, 15)),
        (Status.EN_ATTENTE, at(2026, 11, 10, 9), None),
    ]
    for status, submitted, closed in rows:
        Demande.objects.create(
            commune=procedure.commune, procedure=procedure, number=f"DEM-2026-{next(numbers)}",
            status=status, submitted_at=submitted, closed_at=closed,
        )  # fmt: skip
    with time_machine.travel(NOW.replace(tzinfo=paris), tick=True):
        yield procedure


@pytest.mark.parametrize("page_fixture", ["browser_page", "phone_page"])
def test_an_agent_reads_the_statistics_of_a_procedure(stats_site, page_fixture, request):
    procedure = stats_site
    page = request.getfixturevalue(page_fixture)
    log_in_agent(page, f"{CSP}/guichet/", "csp-etat-civil")
    if page_fixture == "phone_page":
        page.goto(f"{CSP}/guichet/demandes/")
    else:
        main_nav(page).get_by_role("link", name="Demandes").click()
    page.get_by_role("link", name="Statistiques par démarche").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistiques des démarches")
    row = page.get_by_role("row", name=procedure.title).first
    expect(row).to_contain_text("1 jour 3 h")  # 2 days and 6 h: their median
    assert_accessible(page)
    page.get_by_label("Démarche", exact=True).select_option(label=procedure.title)
    page.get_by_role("button", name="Afficher").click()
    expect(
        page.get_by_role("heading", level=2, name=f"Demandes déposées par mois — {procedure.title}")
    ).to_be_visible()
    expect(page.get_by_role("row", name="novembre 2026")).to_contain_text("2")
    expect(page.get_by_role("row", name="octobre 2026")).to_contain_text("1")
    assert_accessible(page)
