"""An agent validates families' documents at the guichet, in Chromium, with axe on every page: the
demo's scolaire agent of Carrières-sous-Poissy opens « Documents à valider », previews a PDF
(the framed preview answers, inline and framable by the guichet only), refuses a document with a
reason (an empty reason is refused first), validates another, then validates the rest of the
queue at once."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from parvis.demarches.tests.suivi_support import PDF_BYTES
from parvis.testing.browser import assert_accessible, log_in_agent

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy/guichet/"


@pytest.fixture
def guichet_site(demo_site):
    from parvis.families import demo as families_demo

    families_demo.load()
    return demo_site


def deposit_documents():
    """Four documents of the DURAND family, deposited for the scolaire service, oldest first."""
    from datetime import timedelta

    from django.utils import timezone

    from parvis.communes.models import Service
    from parvis.families.models import Document, Famille
    from parvis.families.tests.factories import make_document, pdf_upload

    durand = Famille.objects.get(commune__slug="carrieres-sous-poissy", number=1)
    scolaire = Service.objects.get(commune=durand.commune, kind="scolaire")
    specs = [
        ("avis_imposition", "Avis d'imposition 2025"),
        ("justificatif_domicile", "Facture d'électricité"),
        ("attestation_assurance", "Assurance scolaire"),
        ("piece_identite", "Carte d'identité"),
    ]
    documents = []
    for age, (doc_type, label) in enumerate(specs):
        document = make_document(
            famille=durand,
            doc_type=doc_type,
            service=scolaire,
            label=label,
            upload=pdf_upload(f"{doc_type}.pdf", PDF_BYTES),
        )
        Document.objects.filter(pk=document.pk).update(
            uploaded_at=timezone.now() - timedelta(days=10 - age)
        )
        documents.append(document)
    return documents


def test_an_agent_previews_refuses_validates_and_bulk_validates(guichet_site, browser_page):
    from parvis.accounts.models import AuditEntry
    from parvis.families.models import Document

    notice, bill, insurance, identity = deposit_documents()
    mail.outbox.clear()
    page = browser_page
    log_in_agent(page, CSP, "csp-scolaire")

    # The queue, oldest first.
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Documents à valider"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents à valider")
    expect(page.get_by_role("heading", name="4 documents à valider")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Avis d'imposition 2025")
    expect(rows.nth(0)).to_contain_text("DURAND (F000001)")
    expect(rows.nth(3)).to_contain_text("Carte d'identité")
    assert_accessible(page)

    # The PDF preview: the iframe's own response is the file, inline, framable by the guichet.
    with page.expect_response(re.compile(rf"/documents/{notice.pk}/apercu/$")) as framed:
        page.get_by_role("link", name="Avis d'imposition 2025").click()
    preview = framed.value
    assert preview.status == 200
    headers = preview.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("inline")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    # (Chromium's PDF viewer takes the frame's stream over: fetch the file again to compare.)
    assert page.request.get(preview.url).body() == PDF_BYTES
    expect(page.get_by_role("heading", level=1)).to_contain_text("Avis d'imposition 2025")
    frame = page.locator("iframe.document-preview")
    expect(frame).to_have_attribute("title", re.compile("Aperçu du document"))
    assert_accessible(page)

    # Refuse the bill: without a reason first, then with one.
    page.get_by_role("link", name="Retour aux documents à valider").click()
    page.get_by_role("link", name="Facture d'électricité").click()
    page.get_by_text("Refuser le document", exact=True).click()  # its <details> opens
    page.get_by_role("button", name="Refuser").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Indiquez le motif du refus : il est envoyé à la famille."
    )
    assert_accessible(page)
    page.get_by_label("Motif du refus").fill("La facture date de plus de 3 mois.")
    page.get_by_role("button", name="Refuser").click()
    expect(
        page.get_by_text(
            "Le document « Facture d'électricité » est refusé : la famille est prévenue par "
            "courriel."
        )
    ).to_be_visible()
    expect(page.get_by_role("heading", name="3 documents à valider")).to_be_visible()
    assert_accessible(page)

    # Validate the insurance certificate from its page.
    page.get_by_role("link", name="Assurance scolaire").click()
    page.get_by_role("button", name="Valider", exact=True).click()
    expect(page.get_by_text("Le document « Assurance scolaire » est validé.")).to_be_visible()
    assert_accessible(page)

    # The rest, at once.
    page.get_by_label("Sélectionner « Avis d'imposition 2025 » de la famille DURAND").check()
    page.get_by_label("Sélectionner « Carte d'identité » de la famille DURAND").check()
    page.get_by_role("button", name="Valider la sélection").click()
    # A background job (issue 17 §4): its page says what it did, then back to the queue.
    expect(page.get_by_text("2 documents validés.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Retour à la liste").click()
    expect(page.get_by_text("Aucun document n'attend de validation.")).to_be_visible()
    assert_accessible(page)

    statuses = dict(
        Document.objects.filter(pk__in=[notice.pk, bill.pk, insurance.pk, identity.pk]).values_list(
            "label", "status"
        )
    )
    assert statuses == {
        "Avis d'imposition 2025": "valide",
        "Facture d'électricité": "refuse",
        "Assurance scolaire": "valide",
        "Carte d'identité": "valide",
    }
    assert AuditEntry.objects.filter(action="document.review").count() == 4
    assert len(mail.outbox) == 1 and "plus de 3 mois" in mail.outbox[0].body


def test_the_queue_and_a_document_on_a_phone(guichet_site, phone_page):
    notice, *_others = deposit_documents()
    page = phone_page
    log_in_agent(page, CSP, "csp-scolaire")
    page.goto(f"{CSP}documents/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents à valider")
    assert_accessible(page)
    page.goto(f"{CSP}documents/{notice.pk}/")
    expect(page.get_by_role("button", name="Valider", exact=True)).to_be_visible()
    # The page itself never scrolls sideways: the preview fits the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = page.locator("iframe.document-preview").bounding_box()
    assert box is not None and box["width"] <= 360
    assert_accessible(page)


def test_an_agent_computes_and_records_the_durand_familys_qf(guichet_site, browser_page):
    from parvis.families.models import QuotientFamilial

    page = browser_page
    log_in_agent(page, CSP, "csp-scolaire")
    page.goto(f"{CSP}familles/1/")
    assert_accessible(page)
    page.get_by_role("link", name="Calculer ou saisir le quotient familial").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Quotient familial")
    assert_accessible(page)

    page.get_by_label("Revenu fiscal de référence (€ par an)").fill("30 000")
    page.get_by_label("Prestations familiales mensuelles (€)").fill("150")
    page.get_by_label("En couple").check()
    page.get_by_label("Nombre d'enfants à charge").fill("2")
    page.get_by_role("button", name="Calculer").click()
    result = page.get_by_role("status")
    expect(result).to_contain_text("Nombre de parts")
    expect(result).to_contain_text("883,33 €")
    assert_accessible(page)

    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(
        page.get_by_text(re.compile(r"Quotient familial de 883,33 € enregistré"))
    ).to_be_visible()
    expect(page.locator("section[aria-labelledby=quotient]")).to_contain_text("883,33 €")
    assert_accessible(page)
    assert QuotientFamilial.objects.filter(famille__number=1, value="883.33").exists()
