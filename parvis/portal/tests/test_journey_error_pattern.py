"""Every form of the two guides (seeds 000 and 003) sent empty once, in Chromium: the site's one
error pattern each time (issue 15, §3). The page's title starts with « Erreur : », the summary of
the errors has the focus, each of its links goes to a field of the page that is marked
aria-invalid="true" and described by its error, and axe finds nothing.

Signing in (from the home page's card and with a « Code famille »), the forgotten password,
« Créer mon espace », the first login with a code famille, a démarche without an account and the
follow-up of one; then, logged in, « Modification de votre espace » (password, e-mail, service key),
« Gérer mes informations » (contact details, a person allowed to pick the children up), a démarche
of the account (« Adhésion à la facture en ligne », a group of radio buttons), the document
locker, an absence, and the payment page of an invoice."""

import re
from datetime import datetime

import pytest
import time_machine
from playwright.sync_api import expect

from parvis.activities.rules import PARIS
from parvis.communes.demo import DEMO_PASSWORD
from parvis.demarches import demo as demarches_demo
from parvis.families import demo as families_demo
from parvis.portal.management.commands.load_demo import LOADERS
from parvis.testing.browser import assert_accessible

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
CSS = "/carrieres-sur-seine"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=PARIS)

# Empties what the visitor can fill in, in the form of the button given (prefilled pages too).
EMPTY_FORM = """(button) => {
  for (const field of button.form.elements) {
    const type = (field.type || "").toLowerCase();
    if (["hidden", "submit", "button", "reset"].includes(type) || field.tagName === "BUTTON") {
      continue;
    }
    if (type === "checkbox" || type === "radio") field.checked = false;
    else if (field.tagName === "SELECT") field.selectedIndex = field.options[0]?.value ? -1 : 0;
    else if (type !== "file") field.value = "";
  }
}"""

# Each link of the summary: where it goes, whether that is a field in error described by it.
SUMMARY_LINKS = """(summary) => [...summary.querySelectorAll("a[href^='#']")].map((link) => {
  const field = document.getElementById(link.getAttribute("href").slice(1));
  const described = (field?.getAttribute("aria-describedby") || "").split(/\\s+/);
  return {
    target: link.getAttribute("href"),
    control: field ? ["INPUT", "SELECT", "TEXTAREA"].includes(field.tagName) : false,
    invalid: field?.getAttribute("aria-invalid"),
    error: described.some((id) => document.getElementById(id)?.classList.contains("form__errors")),
  };
})"""


def send_empty(page, button) -> None:
    button.evaluate(EMPTY_FORM)
    button.click()


def assert_error_pattern(page, *, links: int | None = None) -> None:
    expect(page).to_have_title(re.compile(r"^Erreur : "))
    summary = page.locator(".form-summary")
    expect(summary).to_have_count(1)
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    found = summary.evaluate(SUMMARY_LINKS)
    if links is not None:
        assert len(found) == links, found
    for link in found:
        assert link["control"], link
        assert link["invalid"] == "true", link
        assert link["error"], link
    assert_accessible(page)


def test_the_forms_of_a_visitor_sent_empty(demo_site, browser_page):
    families_demo.load()
    demarches_demo.load()
    page = browser_page

    # Seed 000 « MON ESPACE PERSO » on the home page: the login page comes back with the errors.
    page.goto(f"{CSP}/")
    card = page.locator(".card").filter(has=page.get_by_role("heading", name="Mon espace perso"))
    send_empty(page, card.get_by_role("button", name="Connexion"))
    expect(page).to_have_url(re.compile(r"/carrieres-sous-poissy/connexion/$"))
    assert_error_pattern(page, links=2)
    # The summary's link takes the focus to the field.
    page.locator(".form-summary").get_by_role("link", name=re.compile("^Identifiant")).click()
    expect(page.get_by_label("Identifiant", exact=True)).to_be_focused()

    page.goto(f"{CSP}/mot-de-passe-oublie/")
    send_empty(page, page.get_by_role("button", name="Recevoir le lien"))
    assert_error_pattern(page, links=1)

    # « Créer mon espace »: step 1, with the civility's radio buttons.
    page.goto(f"{CSP}/creer-mon-espace/")
    send_empty(page, page.get_by_role("button", name="Aller à l'étape 2"))
    assert_error_pattern(page)
    civility = page.get_by_label("Madame")
    expect(civility).to_have_attribute("aria-invalid", "true")
    expect(civility).to_have_accessible_description(re.compile("Indiquez votre civilité."))

    # « Effectuer des démarches sans créer de compte », and following one up.
    page.goto(f"{CSP}/demarches/")
    page.get_by_role("link", name="Demande d'acte de naissance").click()
    page.get_by_role("button", name="Commencer").click()
    send_empty(page, page.get_by_role("button", name="Aller à l'étape 2"))
    assert_error_pattern(page)
    page.goto(f"{CSP}/demarches/suivi/")
    send_empty(page, page.get_by_role("button", name="Suivre ma demande"))
    assert_error_pattern(page, links=2)

    # Seed 003: the « Code famille », the forgotten password, the first login.
    page.goto(f"{CSS}/connexion/")
    send_empty(page, page.get_by_role("button", name="Connexion"))
    assert_error_pattern(page, links=2)
    expect(page.locator(".form-summary")).to_contain_text("Code famille")
    page.goto(f"{CSS}/mot-de-passe-oublie/")
    send_empty(page, page.get_by_role("button", name="Recevoir le lien"))
    assert_error_pattern(page, links=1)
    page.goto(f"{CSS}/connexion/")
    page.get_by_label("Code famille", exact=True).fill(families_demo.FAMILY_CODE_FIRST_LOGIN)
    page.get_by_label("Mot de passe", exact=True).fill(families_demo.FIRST_LOGIN_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/premiere-connexion/$"))
    send_empty(page, page.get_by_role("button", name="Enregistrer"))
    assert_error_pattern(page)


@pytest.fixture
def demo_everything(demo_site):
    with time_machine.travel(NOW, tick=True):
        for loader in LOADERS[1:]:  # demo_site loaded the communes
            loader()
        yield


def test_the_forms_of_francoise_sent_empty(demo_everything, browser_page):
    page = browser_page
    page.goto(f"{CSP}/connexion/")
    page.get_by_label("Identifiant").fill(families_demo.CITIZEN_EMAIL)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Madame DURAND")

    # « Modification de votre espace »: three forms on one page, each sent back alone.
    for button in ("Changer mon mot de passe", "Changer de courriel", "Valider la clé"):
        page.goto(f"{CSP}/mon-espace/modifier/")
        send_empty(page, page.get_by_role("button", name=button))
        assert_error_pattern(page)

    # « Gérer mes informations »: the contact details, a person allowed to pick the children up.
    page.goto(f"{CSP}/mon-espace/mes-informations/?onglet=coordonnees")
    send_empty(page, page.get_by_role("button", name="Enregistrer mes coordonnées"))
    assert_error_pattern(page)
    page.goto(f"{CSP}/mon-espace/mes-informations/")
    page.get_by_role("link", name=re.compile("Ajouter une personne autorisée")).first.click()
    send_empty(page, page.get_by_role("button", name="Ajouter cette personne"))
    assert_error_pattern(page)

    # « Adhésion à la facture en ligne »: « souhaitez-vous adhérer ? » Oui / Non.
    page.goto(f"{CSP}/demarches/")
    page.get_by_role("link", name="Adhésion à la facture en ligne").first.click()
    page.get_by_role("button", name="Commencer").click()
    send_empty(page, page.get_by_role("button", name="Aller à l'étape 2"))
    assert_error_pattern(page)
    first = page.get_by_role("radio").first
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(first).to_have_accessible_description(re.compile(".+"))

    # The document locker, an absence.
    page.goto(f"{CSP}/mon-espace/documents/ajouter/")
    send_empty(page, page.get_by_role("button", name="Déposer le document"))
    assert_error_pattern(page)
    page.goto(f"{CSP}/mon-espace/absences/")
    send_empty(page, page.get_by_role("button", name="Signaler l'absence"))
    assert_error_pattern(page)

    # « GÉRER ET PAYER SES FACTURES »: the secure payment module's card form.
    page.goto(f"{CSP}/mon-espace/factures/")
    page.get_by_role("link", name="7917 - Facture d'octobre 2026").click()
    page.get_by_role("link", name="Paiements").click()
    page.get_by_role("button", name="Payer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiement par carte bancaire")
    send_empty(page, page.get_by_role("button", name="Payer", exact=True))
    assert_error_pattern(page, links=3)
