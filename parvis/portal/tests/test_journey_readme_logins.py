"""Every login of the README's table works in a real browser, with axe on each page: the
operator and both commune administrators at /admin/, the families in both login modes, every
agent at their guichet. The table's rows come from the same data `load_demo` prints."""

import re

import pytest
from playwright.sync_api import expect

from parvis.communes import demo as communes_demo
from parvis.communes.demo import DEMO_PASSWORD
from parvis.families import demo as families_demo
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def readme_site(demo_site):
    families_demo.load()
    return demo_site


def test_the_operator_and_each_commune_administrator_log_in_at_the_admin(readme_site, browser_page):
    page = browser_page
    for username, slug, *_rest in communes_demo.DEMO_USERS:
        page.context.clear_cookies()
        page.goto("/admin/")
        expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
        assert_accessible(page)
        page.get_by_label("Nom d’utilisateur").fill(username)
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Connexion").click()
        expect(page).to_have_url(re.compile(r"/admin/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
        communes = page.locator("#communes-commune").get_by_role("link", name="Communes")
        expect(communes).to_be_visible()
        assert_accessible(page)
        # The operator sees every commune; an administrator only their own.
        communes.click()
        rows = page.locator("#result_list tbody tr")
        if slug is None:
            expect(rows).to_have_count(len(communes_demo.COMMUNES))
        else:
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text(
                next(c["fields"]["name"] for c in communes_demo.COMMUNES if c["slug"] == slug)
            )


def test_a_wrong_password_at_the_admin_says_so_and_keeps_the_username(readme_site, browser_page):
    page = browser_page
    page.goto("/admin/login/")
    page.get_by_label("Nom d’utilisateur").fill("operateur")
    page.get_by_label("Mot de passe").fill("pas-le-bon")
    page.get_by_role("button", name="Connexion").click()
    expect(page.locator(".errornote")).to_contain_text("Veuillez compléter correctement")
    expect(page.get_by_label("Nom d’utilisateur")).to_have_value("operateur")
    assert_accessible(page)


def _citizen_logs_in(page, slug, login, password):
    page.context.clear_cookies()
    page.goto(f"/{slug}/connexion/")
    assert_accessible(page)
    form = page.locator("main form").filter(has=page.get_by_role("button", name="Connexion"))
    form.get_by_label(re.compile("Identifiant|Code famille|Adresse")).first.fill(login)
    form.get_by_label("Mot de passe", exact=True).fill(password)
    form.get_by_role("button", name="Connexion").click()


def test_each_family_of_the_readme_logs_in(readme_site, browser_page):
    page = browser_page
    citizens = [row for row in families_demo.DEMO_LOGINS if row[1] == "connexion"]
    # DURAND, MOREAU's first login, and Nina's separated parents (PETIT and ROBERT).
    assert len(citizens) == 5
    for slug, _where, login, password, _who in citizens:
        _citizen_logs_in(page, slug, login, password)
        if login == families_demo.FAMILY_CODE_FIRST_LOGIN:
            expect(page).to_have_url(re.compile(rf"/{slug}/premiere-connexion/$"))
        else:
            expect(page).to_have_url(re.compile(rf"/{slug}/mon-espace/$"))
            expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
        assert_accessible(page)


def test_each_agent_of_the_readme_logs_in_at_their_guichet(readme_site, browser_page):
    page = browser_page
    agents = [row for row in families_demo.DEMO_LOGINS if row[1] == "guichet/connexion"]
    # The commune administrator is « administrateur » at the guichet too.
    agents.append(("carrieres-sous-poissy", "guichet/connexion", "admin-carrieres-sous-poissy"))
    for slug, where, username, *_rest in agents:
        page.context.clear_cookies()
        page.goto(f"/{slug}/{where}/")
        assert_accessible(page)
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Connexion").click()
        expect(page).to_have_url(re.compile(rf"/{slug}/guichet/$"))
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        assert_accessible(page)
