"""A document of the family's secure storage joined to a démarche, through the real pages in
Chromium with axe on every page: Françoise DURAND, whose household keeps its tax notice in
« votre espace de stockage sécurisé », reports her new address and, instead of sending the file
again, picks the notice « ou choisissez un document de votre espace de stockage sécurisé »; both
ways at once are refused next to the field; the summary and the agent's page show the joined copy.
The step also holds at 360 px."""

import pytest
from playwright.sync_api import expect

from parvis.communes.demo import DEMO_PASSWORD
from parvis.demarches import demo as demarches_demo
from parvis.demarches.forms import stored_document_text
from parvis.demarches.models import Demande, Status
from parvis.families import demo as families_demo
from parvis.families.models import Famille
from parvis.families.tests.factories import make_document, pdf_upload
from parvis.testing.browser import assert_accessible
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
TITLE = "Signalement d'un changement de coordonnées"
CHOICE = "ou choisissez un document de votre espace de stockage sécurisé"
NOTICE = pdf_bytes("avis d'imposition DURAND, parcours")


def test_a_parent_joins_her_stored_tax_notice_to_a_demarche(demo_site, browser_page):
    families_demo.load()
    demarches_demo.load()
    famille = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND")
    notice = make_document(
        famille=famille,
        doc_type="avis_imposition",
        status="valide",
        label="Avis d'imposition DURAND (parcours)",
        upload=pdf_upload("scan.pdf", NOTICE),
    )
    page = browser_page
    page.goto(f"{CSP}/connexion/")
    page.get_by_label("Identifiant").fill(families_demo.CITIZEN_EMAIL)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour Madame DURAND")

    page.goto(f"{CSP}/demarches/")
    page.get_by_role("link", name=TITLE).first.click()
    page.get_by_role("button", name="Commencer").click()
    group = page.get_by_role("group", name="Justificatif de domicile")
    expect(group).to_be_visible()
    expect(group.get_by_label("Joindre un fichier de votre appareil")).to_be_visible()
    choice = group.get_by_label(CHOICE)
    expect(choice).to_be_visible()
    assert_accessible(page)

    # Both ways at once: refused, next to the field.
    page.get_by_label("Non", exact=True).check()
    group.get_by_label("Joindre un fichier de votre appareil").set_input_files(
        files=[{"name": "facture.pdf", "mimeType": "application/pdf", "buffer": NOTICE}]
    )
    choice.select_option(label=stored_document_text(notice))
    page.get_by_role("button", name="Aller à l'étape 2").click()
    expect(page.get_by_role("alert")).to_contain_text("pas les deux")
    expect(page.locator("#id_justificatif_domicile_error")).to_contain_text("pas les deux")
    assert_accessible(page)

    # The stored notice alone.
    choice = page.get_by_role("group", name="Justificatif de domicile").get_by_label(CHOICE)
    choice.select_option(label=stored_document_text(notice))
    page.get_by_role("button", name="Aller à l'étape 2").click()
    expect(page.get_by_text("Avis d'imposition DURAND (parcours).pdf")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre demande est envoyée")
    number = page.locator(".demarche-number").inner_text()
    demande = Demande.objects.get(number=number)
    assert demande.status == Status.EN_ATTENTE
    attachment = demande.attachments.get()
    assert attachment.original_name == "Avis d'imposition DURAND (parcours).pdf"
    assert attachment.file.name != notice.file.name
    with attachment.file.open("rb") as stored:
        assert stored.read() == NOTICE

    # The agent's page lists the joined copy.
    agent_context = page.context.browser.new_context(base_url=demo_site, locale="fr-FR")
    agent = agent_context.new_page()
    agent.goto(f"{CSP}/guichet/connexion/")
    agent.get_by_label("Identifiant").fill("csp-enfance")
    agent.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Connexion").click()
    agent.goto(f"{CSP}/guichet/demandes/{number}/")
    expect(
        agent.get_by_role("link", name="Avis d'imposition DURAND (parcours).pdf")
    ).to_be_visible()
    assert_accessible(agent)
    agent_context.close()

    # The step on a 360 px phone: the long option does not widen the page.
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{CSP}/demarches/")
    page.get_by_role("link", name=TITLE).first.click()
    page.get_by_role("button", name="Commencer").click()
    expect(page.get_by_label(CHOICE)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
