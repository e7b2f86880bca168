"""Françoise DURAND uses her secure storage (« Mes documents ») in Chromium, with axe on every
page: from « Mon accueil » she opens « Mes documents », forgets the date an insurance certificate
needs (said next to the field), uploads it for Léa, sees it « Déposé », renames it, downloads it
and deletes it. Then the same list on a 360 px phone.

The login page belongs to another flow: the journey opens a session with Django's test client
and hands its cookie to the browser (as parvis/accounts/tests/test_journey_espace.py does)."""

import re
from datetime import date

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from parvis.accounts.models import User
from parvis.families import demo as families_demo
from parvis.families.models import Document, Famille
from parvis.families.tests.factories import make_document, pdf_upload
from parvis.testing.browser import assert_accessible
from parvis.testing.files import pdf_bytes

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy"
PDF = pdf_bytes()


def open_session(page, server_url: str) -> User:
    families_demo.load()
    user = User.objects.get(
        commune__slug="carrieres-sous-poissy", email=families_demo.CITIZEN_EMAIL
    )
    client = Client()
    client.force_login(user, backend="parvis.accounts.backends.CommuneBackend")
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server_url,
            }
        ]
    )
    return user


def test_francoise_keeps_a_document_in_her_secure_storage(demo_site, browser_page):
    page = browser_page
    open_session(page, demo_site)

    page.goto(f"{CSP}/mon-espace/")
    page.get_by_role("link", name="Mes documents").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes documents")
    expect(page.get_by_text("Votre espace de stockage sécurisé garde")).to_be_visible()
    assert_accessible(page)

    # The insurance certificate needs its date: said next to the field, the entries kept.
    form = page.get_by_role("region", name="Ajouter un document")
    form.get_by_label("Type de document").select_option(label="Attestation d'assurance")
    form.get_by_label("Personne concernée").select_option(label="Léa DURAND")
    form.get_by_label("Nom du document").fill("Assurance scolaire Léa")
    form.get_by_label("Fichier").set_input_files(
        files=[{"name": "assurance.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    form.get_by_role("button", name="Déposer le document").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter un document")
    document_date = page.get_by_label("Date du document")
    expect(document_date).to_have_attribute("aria-invalid", "true")
    expect(document_date).to_have_accessible_description(re.compile("Indiquez la date du document"))
    expect(page.get_by_label("Nom du document")).to_have_value("Assurance scolaire Léa")
    expect(page.get_by_label("Personne concernée")).to_have_value(
        str(Famille.objects.get(name="DURAND").members.get(first_names="Léa").pk)
    )
    assert_accessible(page)

    document_date.fill(f"{date.today():%Y-%m-%d}")
    page.get_by_label("Fichier").set_input_files(
        files=[{"name": "assurance.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Déposer le document").click()
    expect(
        page.get_by_text("« Assurance scolaire Léa » est déposé dans votre espace de stockage")
    ).to_be_visible()
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Assurance scolaire Léa", exact=True)
    )
    expect(card.get_by_text("Déposé", exact=True)).to_be_visible()
    expect(card.get_by_text("Léa DURAND")).to_be_visible()
    expect(card.get_by_text(re.compile(r"valable jusqu'au \d\d/\d\d/\d{4}"))).to_be_visible()
    assert_accessible(page)

    # Rename.
    card.get_by_role("link", name="Renommer Assurance scolaire Léa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Renommer un document")
    assert_accessible(page)
    page.get_by_label("Nouveau nom du document").fill("Assurance 2026-2027")
    page.get_by_role("button", name="Renommer").click()
    expect(
        page.get_by_text("s'appelle désormais « Assurance 2026-2027 »", exact=False)
    ).to_be_visible()
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Assurance 2026-2027", exact=True)
    )
    expect(card).to_be_visible()

    # Download: an attachment named after the document.
    with page.expect_download() as info:
        card.get_by_role("link", name="Télécharger Assurance 2026-2027").click()
    download = info.value
    assert download.suggested_filename == "Assurance 2026-2027.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == PDF

    # Delete, after the confirmation page.
    card.get_by_role("link", name="Supprimer Assurance 2026-2027").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supprimer un document")
    assert_accessible(page)
    page.get_by_role("button", name="Supprimer « Assurance 2026-2027 »").click()
    expect(page.get_by_text("« Assurance 2026-2027 » est supprimé")).to_be_visible()
    expect(page.get_by_role("heading", name="Assurance 2026-2027", exact=True)).to_have_count(0)
    assert not Document.objects.filter(label="Assurance 2026-2027").exists()
    assert_accessible(page)


def test_the_list_is_usable_on_a_phone(demo_site, phone_page):
    page = phone_page
    open_session(page, demo_site)
    durand = Famille.objects.get(commune__slug="carrieres-sous-poissy", name="DURAND")
    make_document(
        famille=durand,
        doc_type="carnet_vaccination",
        personne=durand.members.get(first_names="Hugo"),
        label="Carnet de vaccination de Hugo, pages 1 à 12 (scan du 3 septembre)",
        upload=pdf_upload(),
        status="valide",
    )
    page.goto(f"{CSP}/mon-espace/documents/")
    card = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile("Carnet de vaccination de Hugo"))
    )
    expect(card.get_by_text("Validé", exact=True)).to_be_visible()
    for action in ("Télécharger", "Renommer", "Supprimer"):
        link = card.get_by_role("link", name=re.compile(f"^{action} "))
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, action
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    for path in (f"{CSP}/mon-espace/documents/ajouter/?type=certificat_medical",
                 f"{CSP}/mon-espace/mes-informations/"):  # fmt: skip
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        assert_accessible(page)
