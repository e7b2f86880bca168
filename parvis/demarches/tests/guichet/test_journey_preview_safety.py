"""In Chromium, on a phone's width, with axe: an agent opens a document whose stored file fails
today's upload check (a PNG claiming 60,000 × 60,000 px, stored before the check existed). The
page says why it is not shown and offers the download; the browser never asks for the file."""

import pytest
from playwright.sync_api import expect

from parvis.testing.browser import assert_accessible, log_in_agent
from parvis.testing.files import jpeg_bytes, png_claiming

pytestmark = pytest.mark.browser

CSP = "/carrieres-sous-poissy/guichet/"


def test_an_unsafe_file_is_said_and_never_fetched(demo_site, phone_page):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from parvis.communes.models import Service
    from parvis.families import demo as families_demo
    from parvis.families.models import Document, Famille
    from parvis.families.tests.factories import make_document

    families_demo.load()
    durand = Famille.objects.get(commune__slug="carrieres-sous-poissy", number=1)
    scolaire = Service.objects.get(commune=durand.commune, kind="scolaire")
    document = make_document(
        famille=durand, service=scolaire, label="Plan immense",
        upload=SimpleUploadedFile("plan.jpg", jpeg_bytes()),
    )  # fmt: skip
    bomb = png_claiming(60_000, 60_000)
    with open(document.file.path, "wb") as handle:
        handle.write(bomb)
    Document.objects.filter(pk=document.pk).update(content_type="image/png", size=len(bomb))

    page = phone_page
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    log_in_agent(page, CSP, "csp-scolaire")
    page.goto(f"{CSP}documents/{document.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Plan immense")
    preview = page.locator("section", has=page.get_by_role("heading", name="Aperçu"))
    expect(preview).to_contain_text(
        "Attention : ce fichier n'a pas passé les vérifications de sécurité"
    )
    expect(preview.locator("img, iframe")).to_have_count(0)
    expect(preview.get_by_role("link", name="Télécharger « plan.jpg » (45 octets)")).to_be_visible()
    assert not [url for url in fetched if "/apercu/" in url]
    # The page fits the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
