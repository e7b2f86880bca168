"""The seed's path for the administrative documents, in Chromium with axe on every page: a parent
clicks « Créer une inscription », then « Dossier administratif », inserts the tax notice and
clicks « Valider »; the enfance agent validates it at the guichet; the file reads « complet » and
the request is accepted."""

import re

import pytest
from playwright.sync_api import expect

from parvis.demarches.tests.suivi_support import PDF_BYTES
from parvis.testing.browser import assert_accessible, log_in_agent

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy/"


@pytest.fixture
def leroy_parent(demo_site):
    """Nadia LEROY's account, linked to her family; the commune's file asks for the tax notice
    only (the demo's other lines removed), so one document completes it."""
    from parvis.demarches import demo as demarches_demo
    from parvis.families import demo as families_demo
    from parvis.families import demo_documents
    from parvis.families.models import DocumentType, Famille, RequiredDocument
    from parvis.families.tests.factories import CitizenFactory, FamilyAccessFactory

    families_demo.load()
    demarches_demo.load()
    demo_documents.load()
    RequiredDocument.objects.exclude(doc_type=DocumentType.AVIS_IMPOSITION).delete()
    leroy = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="LEROY")
    parent = CitizenFactory(
        commune=leroy.commune, email="nadia.leroy@example.fr", first_name="Nadia",
        last_name="LEROY",
    )  # fmt: skip
    FamilyAccessFactory(famille=leroy, user=parent)
    return parent


def citizen_log_in(page, email):
    from parvis.families.tests.factories import PASSWORD

    page.goto(f"{CSP}connexion/")
    page.get_by_label("Identifiant").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/mon-espace/$"))


def test_insert_the_tax_notice_then_the_agent_validates_it(leroy_parent, browser_page):
    from parvis.demarches.models import Demande, Status
    from parvis.families.models import Document, DocumentStatus

    page = browser_page
    citizen_log_in(page, leroy_parent.email)
    page.get_by_role("link", name="Créer une inscription").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer une inscription")
    assert_accessible(page)

    page.get_by_role("link", name="Dossier administratif").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dossier administratif")
    expect(page.get_by_role("heading", name=re.compile("État du dossier"))).to_contain_text(
        "incomplet"
    )
    expect(page.get_by_text("ne pas utiliser l'onglet « Pièces justificatives »")).to_be_visible()
    assert_accessible(page)

    # « Insérez les documents »: the tax notice, straight into the secure storage.
    page.locator("input[type=file]").first.set_input_files(
        files=[{"name": "avis-2026.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.get_by_role("button", name=re.compile("Insérer ce document")).first.click()
    expect(page.get_by_role("heading", name=re.compile("État du dossier"))).to_contain_text(
        "à valider"
    )
    assert_accessible(page)
    notice = Document.objects.get(famille__name="LEROY")
    assert notice.status == DocumentStatus.DEPOSE and notice.service.kind == "enfance"

    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Votre dossier administratif est transmis"
    )
    demande = Demande.objects.get(famille__name="LEROY", procedure__slug="dossier-administratif")
    expect(page.get_by_text(demande.number)).to_be_visible()
    assert demande.status == Status.EN_ATTENTE
    assert_accessible(page)

    # The enfance agent validates the notice from the queue.
    page.context.clear_cookies()
    log_in_agent(page, f"{CSP}guichet/", "csp-enfance")
    page.get_by_role("link", name="Documents à valider").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents à valider")
    assert_accessible(page)
    page.get_by_role("row").filter(has_text="LEROY").get_by_role("link").first.click()
    expect(page.locator("iframe")).to_have_count(1)
    assert_accessible(page)
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents à valider")

    notice.refresh_from_db()
    demande.refresh_from_db()
    assert notice.status == DocumentStatus.VALIDE
    assert demande.status == Status.ACCEPTEE
    assert demande.events.last().comment == "Dossier complet : tous les documents sont validés."

    # Back in her space, the file is complete.
    page.context.clear_cookies()
    citizen_log_in(page, leroy_parent.email)
    page.goto(f"{CSP}mon-espace/inscriptions/dossier-administratif/")
    expect(page.get_by_role("heading", name=re.compile("État du dossier"))).to_contain_text(
        "complet"
    )
    expect(page.get_by_text("Votre dossier est complet")).to_be_visible()
    assert_accessible(page)
