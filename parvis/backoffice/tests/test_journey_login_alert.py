"""An agent whose account was attacked from elsewhere is told so at their next login, on a phone,
with axe on the page; the login form says how long a slowed-down name waits."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from parvis.accounts.models import Attempt
from parvis.communes.demo import DEMO_PASSWORD
from parvis.communes.models import Commune
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy/guichet/"


@pytest.fixture
def guichet_site(demo_site):
    from parvis.families import demo as families_demo

    families_demo.load()
    return demo_site


def attacked(username: str, *, last_failure_ago: timedelta, failures: int = 6) -> None:
    """Wrong passwords on the agent's name, each from another address, a second apart, the
    last one `last_failure_ago`."""
    commune = Commune.objects.get(slug="carrieres-sous-poissy")
    now = timezone.now()
    Attempt.objects.bulk_create(
        Attempt(
            commune=commune,
            kind=Attempt.Kind.AGENT_LOGIN,
            identifier=f"agent:{username}",
            ip=f"198.51.100.{n + 1}",
            at=now - last_failure_ago - timedelta(seconds=failures - 1 - n),
        )
        for n in range(failures)
    )


def submit(page, username, password=DEMO_PASSWORD):
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Connexion").click()


def test_an_attacked_agent_is_told_at_the_next_login(guichet_site, phone_page):
    page = phone_page
    attacked("csp-enfance", last_failure_ago=timedelta(minutes=10))
    page.goto(f"{CSP}connexion/")
    submit(page, "csp-enfance")
    expect(page).to_have_url(re.compile(rf"{re.escape(CSP)}$"))
    notice = page.get_by_role("status")
    expect(notice).to_contain_text(
        "Des tentatives de connexion ont échoué sur votre compte depuis votre dernière "
        "connexion : 6 essais d'une autre adresse que celle de cette connexion"
    )
    expect(notice).to_contain_text("prévenez l'administrateur de la commune")
    assert_accessible(page)
    # Once: the next page no longer says it.
    page.reload()
    expect(page.get_by_text("Des tentatives de connexion ont échoué")).to_have_count(0)


def test_a_slowed_down_name_is_told_how_long_to_wait(guichet_site, browser_page):
    page = browser_page
    # A wait of 32 s after the 9th failure, which was just now: ample to read it here.
    attacked("csp-scolaire", last_failure_ago=timedelta(0), failures=9)
    page.goto(f"{CSP}connexion/")
    submit(page, "csp-scolaire")
    expect(
        page.get_by_text(re.compile(r"Par sécurité, réessayez dans \d+ secondes\."))
    ).to_be_visible()
    expect(page.get_by_label("Identifiant")).to_have_value("csp-scolaire")
    assert_accessible(page)
