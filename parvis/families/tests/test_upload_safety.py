"""A family's document judged by more than its first bytes, through « Ajouter un document »: a
PNG claiming 60,000 × 60,000 px and PDFs with JavaScript, a launch action or embedded files are
refused with their own French reason next to the file, the other entries kept, nothing stored; a
plain PDF and a small image still pass. (The check itself: parvis/tests/test_uploads.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parvis.accounts.models import AuditEntry
from parvis.families.models import Document, DocumentType
from parvis.families.tests.factories import FamilleFactory, FamilyAccessFactory
from parvis.testing.files import (
    EMBEDDED_FILES,
    OPEN_ACTION_JS,
    OPEN_ACTION_LAUNCH,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    png_claiming,
)

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
MALICIOUS = [
    ("plan.png", png_claiming(60_000, 60_000), "mesure 60\xa0000 × 60\xa0000 pixels"),
    ("avis.pdf", pdf_bytes(catalog=OPEN_ACTION_JS), "Ce PDF (« avis.pdf ») contient du JavaScript"),
    ("lance.pdf", pdf_bytes(catalog=OPEN_ACTION_LAUNCH), "lance un programme"),
    ("joint.pdf", pdf_bytes(catalog=EMBEDDED_FILES), "contient des fichiers joints"),
]


def stored_files() -> set[Path]:
    return {p for p in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if p.is_file()}


@pytest.fixture
def family(client):
    famille = FamilleFactory(name="DURAND")
    access = FamilyAccessFactory(famille=famille)
    client.force_login(access.user, backend=BACKEND)
    return famille


def post(client, famille, name: str, content: bytes):
    return client.post(
        reverse("families:document_ajouter", kwargs={"commune": famille.commune.slug}),
        {
            "famille": famille.pk,
            "doc_type": DocumentType.AUTRE,
            "personne": "foyer",
            "label": "Mon justificatif",
            "fichier": SimpleUploadedFile(name, content),
            "document_date": "",
            "income_year": "",
        },
    )


@pytest.mark.parametrize(("name", "content", "reason"), MALICIOUS, ids=[m[0] for m in MALICIOUS])
def test_a_malicious_file_is_refused_next_to_the_field(client, family, name, content, reason):
    before = stored_files()
    response = post(client, family, name, content)
    assert response.status_code == 200
    (error,) = response.context["form"].errors["fichier"]
    assert reason in error
    html = response.content.decode()
    assert 'id="id_fichier_error"' in html  # said next to the field
    assert 'value="Mon justificatif"' in html  # the other entries kept
    assert not Document.objects.exists() and stored_files() == before
    assert not AuditEntry.objects.filter(action="document.create").exists()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("avis.pdf", pdf_bytes(), "application/pdf"),
        ("photo.jpg", jpeg_bytes(1200, 1600), "image/jpeg"),
        ("scan.png", png_bytes(800, 600), "image/png"),
    ],
)
def test_a_plain_pdf_or_a_small_image_is_stored(client, family, name, content, content_type):
    response = post(client, family, name, content)
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.content_type == content_type
    with document.file.open("rb") as handle:
        assert handle.read() == content
