"""An agent's journey at the guichet, in Chromium, with axe on every page: log in, find the
DURAND family, open its file, hand over a « Clé Espace Citoyens Enfance » by e-mail, see the key
once and the journal row; on a phone; and the printable code famille letter."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from parvis.testing.browser import assert_accessible, log_in_agent

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy/guichet/"
FAMILY_EMAIL = "francoise.durand@example.fr"


@pytest.fixture
def guichet_site(demo_site):
    from parvis.families import demo as families_demo

    families_demo.load()
    return demo_site


def test_an_agent_hands_a_key_to_the_durand_family(guichet_site, browser_page):
    page = browser_page
    log_in_agent(page, CSP, "csp-enfance")
    expect(page.get_by_role("heading", level=1)).to_have_text("Familles")
    assert_accessible(page)

    page.get_by_role("searchbox").fill("durand")
    page.get_by_role("button", name="Rechercher").click()
    expect(
        page.get_by_role("heading", level=2, name="1 famille trouvée pour « durand »")
    ).to_be_visible()
    expect(page.get_by_text("Enfants : Hugo DURAND , Léa DURAND")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Famille DURAND").click()
    expect(page).to_have_url(re.compile(r"/guichet/familles/1/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Famille DURAND")
    assert_accessible(page)

    page.get_by_role("combobox", name=re.compile(r"^Clé")).select_option(
        label="Clé Espace Citoyens Enfance"
    )
    email = page.get_by_label("Envoyer la clé par courriel à")
    expect(email).to_have_value(FAMILY_EMAIL)
    page.get_by_role("button", name="Générer la clé").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Clé générée")
    expect(page.get_by_text("Notez-la : elle ne sera plus affichée.")).to_be_visible()
    key = page.locator(".guichet-key code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", key)
    assert key not in page.url
    assert_accessible(page)
    assert len(mail.outbox) == 1 and key in mail.outbox[0].body
    assert mail.outbox[0].to == [FAMILY_EMAIL]

    page.get_by_role("link", name="Retour au dossier de la famille").click()
    journal = page.get_by_role("region", name="Journal des modifications")
    first_row = journal.get_by_role("listitem").first
    expect(first_row).to_contain_text("Clé de service générée")
    expect(first_row).to_contain_text(f"envoyée à : — → {FAMILY_EMAIL}")
    expect(first_row).to_contain_text("Enfance / périscolaire AGENT")
    assert key not in page.content()
    assert_accessible(page)


def test_the_family_file_on_a_phone(guichet_site, phone_page):
    page = phone_page
    log_in_agent(page, CSP, "csp-scolaire")
    page.goto(f"{CSP}?q=l%C3%A9a")
    expect(page.get_by_role("link", name="Famille DURAND")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    page.goto(f"{CSP}familles/1/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Famille DURAND")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)


def test_the_code_famille_letter_prints_alone(guichet_site, browser_page):
    # The demo's SEJ agent of Carrières-sur-Seine, as the README documents it.
    page = browser_page
    base = "/carrieres-sur-seine/guichet/"
    log_in_agent(page, base, "css-sej")
    page.goto(f"{base}familles/2/")
    assert_accessible(page)
    page.get_by_role("button", name="Remettre un nouveau mot de passe temporaire").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Espace Citoyens Premium — vos identifiants"
    )
    expect(page.get_by_text("F000002", exact=True)).to_be_visible()
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_text("Utilisez la commande Imprimer de votre navigateur")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
