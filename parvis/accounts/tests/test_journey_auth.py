"""Logging in, first login with a code famille and forgotten password, in Chromium, with axe on
every page: as a family does it, from the commune's home page."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from parvis.communes.demo import DEMO_PASSWORD
from parvis.families import demo as families_demo
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
CSS = "/carrieres-sur-seine"
NEW_PASSWORD = "Mon-nouveau-secret-2026"


def assert_fits_a_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_francoise_logs_in_from_the_home_page(demo_site, browser_page):
    families_demo.load()
    page = browser_page
    page.goto(f"{CSP}/")
    assert_accessible(page)
    card = page.locator(".card").filter(has=page.get_by_role("heading", name="Mon espace perso"))
    card.get_by_label("Identifiant").fill(families_demo.CITIZEN_EMAIL)
    card.get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
    card.get_by_role("button", name="Connexion").click()

    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/mon-espace/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Madame DURAND")
    expect(
        page.get_by_text(re.compile(r"Dernière connexion le \d\d/\d\d/\d{4} à \d\d:\d\d"))
    ).to_be_visible()
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("link", name="Mon accueil")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Famille DURAND")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("banner").get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/$"))
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté de votre espace.")
    expect(page.get_by_role("banner").get_by_role("link", name="Connexion")).to_be_visible()
    assert_accessible(page)


def test_first_login_with_a_code_famille_on_a_phone(demo_site, phone_page):
    families_demo.load()
    page = phone_page
    page.goto(f"{CSS}/connexion/")
    assert_fits_a_phone(page)
    assert_accessible(page)
    # A wrong password first: one message, the code stays, the password is emptied.
    page.get_by_label("Code famille", exact=True).fill(families_demo.FAMILY_CODE_FIRST_LOGIN)
    page.get_by_label("Mot de passe", exact=True).fill("pas-le-bon")
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("alert")).to_have_text("Code famille ou mot de passe incorrect.")
    expect(page.get_by_label("Code famille", exact=True)).to_have_value(
        families_demo.FAMILY_CODE_FIRST_LOGIN
    )
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_value("")
    assert_accessible(page)

    page.get_by_label("Mot de passe", exact=True).fill(families_demo.FIRST_LOGIN_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/carrieres-sur-seine/premiere-connexion/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Première connexion : choisissez votre mot de passe"
    )
    assert_fits_a_phone(page)
    assert_accessible(page)

    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmez le nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_label("Adresse électronique").fill("karim.moreau@example.fr")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page).to_have_url(re.compile(r"/carrieres-sur-seine/mon-espace/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Monsieur MOREAU")
    expect(page.get_by_text("Première connexion", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("karim.moreau@example.fr")
    expect(page.get_by_role("heading", name="Famille MOREAU")).to_be_visible()
    assert_fits_a_phone(page)
    assert_accessible(page)
    assert [m.to for m in mail.outbox] == [["karim.moreau@example.fr"]]


def test_forgotten_password_then_log_in_with_the_new_one(demo_site, browser_page):
    families_demo.load()
    page = browser_page
    page.goto(f"{CSP}/connexion/")
    page.get_by_role("link", name="J'ai oublié mon mot de passe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mot de passe oublié")
    assert_accessible(page)
    page.get_by_label("Adresse électronique").fill(families_demo.CITIZEN_EMAIL)
    page.get_by_role("button", name="Recevoir le lien").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre messagerie")
    assert_accessible(page)

    assert [m.to for m in mail.outbox] == [[families_demo.CITIZEN_EMAIL]]
    link = re.search(r"https?://[^/\s]+(/\S+/mot-de-passe-oublie/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(link.group(1))
    expect(page).to_have_url(re.compile(r"/mot-de-passe-oublie/[^/]+/choisir/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisissez un nouveau mot de passe")
    assert_accessible(page)

    # Mismatch first: said next to the field.
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmez le nouveau mot de passe").fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    confirm = page.get_by_label("Confirmez le nouveau mot de passe")
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(confirm).to_have_accessible_description(
        re.compile("Les deux mots de passe ne sont pas identiques.")
    )
    assert_accessible(page)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    confirm.fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()

    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/connexion/$"))
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe est changé.")
    assert_accessible(page)
    page.get_by_label("Identifiant").fill(families_demo.CITIZEN_EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Madame DURAND")

    # The link of the e-mail is spent.
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien n'est plus valable")
    assert_accessible(page)
