"""« S'identifier avec FranceConnect » in Chromium against the local provider (a real HTTP server),
with axe on every page of Parvis: a cancelled attempt, then a new space created with the
certified identity, the LEROY family linked with its demo key, the certified names shown as
such, and the logout through FranceConnect. On a 360 px phone too."""

import re

import pytest
from playwright.sync_api import expect

from parvis.accounts import demo as accounts_demo
from parvis.accounts.models import User
from parvis.families import demo as families_demo
from parvis.families.models import FamilyAccess
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

HOME = "/carrieres-sous-poissy/"
EMAIL = "angela.dubois@example.fr"


def heading(page):
    return page.get_by_role("heading", level=1)


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.fixture
def fc_site(demo_site, franceconnect_provider):
    families_demo.load()
    accounts_demo.load()
    return demo_site


def test_sign_up_with_franceconnect_link_the_family_and_log_out(fc_site, browser_page):
    page = browser_page
    page.goto(HOME + "connexion/")
    fc_button = page.get_by_role("link", name="S'identifier avec FranceConnect")
    expect(fc_button).to_be_visible()
    expect(
        page.get_by_role("link", name=re.compile(r"^Qu'est-ce que FranceConnect \?"))
    ).to_have_attribute("target", "_blank")
    assert_accessible(page)

    # At FranceConnect, « Annuler »: a French page that says so, with the usual login.
    fc_button.click()
    expect(
        page.get_by_role("heading", name="Choisissez une identité de démonstration")
    ).to_be_visible()
    page.get_by_role("button", name="Annuler").click()
    expect(heading(page)).to_have_text("Connexion avec FranceConnect annulée")
    expect(page.get_by_text("Vous avez annulé l'identification sur FranceConnect")).to_be_visible()
    expect(
        page.get_by_role("link", name="Me connecter avec mon identifiant et mon mot de passe")
    ).to_be_visible()
    assert_accessible(page)

    # Again, from the error page: Angela DUBOIS, a first login.
    page.get_by_role("link", name="S'identifier avec FranceConnect").click()
    page.get_by_label(re.compile("Angela Claire Louise DUBOIS")).check()
    page.get_by_role("button", name="Continuer").click()
    expect(heading(page)).to_have_text("Première connexion avec FranceConnect")
    expect(page.get_by_text("24/08/1962")).to_be_visible()
    expect(page.get_by_text("certifié par FranceConnect").first).to_be_visible()
    assert_accessible(page)

    # « Je n'ai pas d'espace »: sent incomplete, then complete.
    creation = page.get_by_role("region", name="Je n'ai pas d'espace")
    expect(creation.get_by_label("Courriel")).to_have_value("wossewodda-3728@yopmail.com")
    creation.get_by_role("button", name="Créer mon espace").click()
    expect(page).to_have_title(re.compile(r"^Erreur :"))
    creation = page.get_by_role("region", name="Je n'ai pas d'espace")
    expect(creation.get_by_label("Adresse", exact=True)).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    creation.get_by_label("Courriel").fill(EMAIL)
    creation.get_by_label("Adresse", exact=True).fill("5, allée des Tilleuls")
    creation.get_by_label("Code postal").fill("78955")
    creation.get_by_label("Ville").fill("Carrières-sous-Poissy")
    creation.get_by_label("J'ai lu et j'accepte les conditions générales d'utilisation.").check()
    creation.get_by_role("button", name="Créer mon espace").click()
    expect(heading(page)).to_have_text("Bonjour Madame DUBOIS")
    expect(
        page.get_by_text("Votre espace est créé avec votre identité FranceConnect")
    ).to_be_visible()
    assert_accessible(page)
    user = User.objects.get(commune__slug="carrieres-sous-poissy", email=EMAIL)
    assert user.franceconnect.family_name == "DUBOIS"

    # The LEROY family's demo key links the space to it.
    page.get_by_role("link", name="Saisir ma clé").click()
    page.get_by_label("Clé Espace Citoyens Enfance").fill(families_demo.UNUSED_KEY)
    page.get_by_role("button", name="Valider la clé").click()
    expect(page.get_by_text("LEROY").first).to_be_visible()
    assert_accessible(page)
    assert FamilyAccess.objects.filter(user=user, famille__name="LEROY").exists()

    # The certified names are shown as such, not as fields.
    page.goto(HOME + "mon-espace/mes-informations/?onglet=coordonnees")
    expect(page.get_by_text("certifié par FranceConnect").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Nom", exact=True)).to_have_count(0)
    assert_accessible(page)

    # Logging out goes through FranceConnect and comes back.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(
        page.get_by_text("Vous êtes déconnecté de votre espace et de FranceConnect")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/$"))
    assert_accessible(page)

    # The next time, FranceConnect opens the space at once.
    page.goto(HOME + "connexion/")
    page.get_by_role("link", name="S'identifier avec FranceConnect").click()
    page.get_by_role("button", name="Continuer").click()
    expect(heading(page)).to_have_text("Bonjour Madame DUBOIS")


def test_franceconnect_fits_a_phone(fc_site, phone_page):
    page = phone_page
    page.goto(HOME + "connexion/")
    expect(page.get_by_role("link", name="S'identifier avec FranceConnect")).to_be_visible()
    assert fits_the_phone(page)
    assert_accessible(page)
    page.goto(HOME + "creer-mon-espace/")
    page.get_by_role("link", name="S'identifier avec FranceConnect").click()
    page.get_by_role("button", name="Continuer").click()
    expect(heading(page)).to_have_text("Première connexion avec FranceConnect")
    assert fits_the_phone(page)
    assert_accessible(page)
