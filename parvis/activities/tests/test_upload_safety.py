"""An absence certificate judged by more than its first bytes, through « Signaler une absence »
and « Ajouter un certificat »: a PNG claiming 60,000 × 60,000 px and PDFs with JavaScript, a
launch action or embedded files are refused with their own French reason next to the field, the
other entries kept, nothing created; a plain PDF and a small photo still pass. (The check itself:
parvis/tests/test_uploads.py.)"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parvis.activities import services_absences
from parvis.activities.models import Absence
from parvis.activities.rules import PARIS
from parvis.activities.tests.factories import make_activity, register
from parvis.families.models import Document
from parvis.families.tests.factories import ChildFactory, FamilleFactory, FamilyAccessFactory
from parvis.testing.files import (
    EMBEDDED_FILES,
    OPEN_ACTION_JS,
    OPEN_ACTION_LAUNCH,
    jpeg_bytes,
    pdf_bytes,
    png_claiming,
)

pytestmark = pytest.mark.django_db

BACKEND = "parvis.accounts.backends.CommuneBackend"
NOW = datetime(2026, 11, 19, 8, 0, tzinfo=PARIS)  # a Thursday
MALICIOUS = [
    ("photo.png", png_claiming(60_000, 60_000), "mesure 60\xa0000 × 60\xa0000 pixels"),
    ("cert.pdf", pdf_bytes(catalog=OPEN_ACTION_JS), "Ce PDF (« cert.pdf ») contient du JavaScript"),
    ("lance.pdf", pdf_bytes(catalog=OPEN_ACTION_LAUNCH), "lance un programme"),
    ("joint.pdf", pdf_bytes(catalog=EMBEDDED_FILES), "contient des fichiers joints"),
]
IDS = [m[0] for m in MALICIOUS]


def stored_files() -> set[Path]:
    return {p for p in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if p.is_file()}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family(client):
    famille = FamilleFactory(name="DURAND")
    child = ChildFactory(famille=famille, first_names="Léa")
    access = FamilyAccessFactory(famille=famille)
    register(child, make_activity(famille.commune))
    client.force_login(access.user, backend=BACKEND)
    return {"famille": famille, "child": child, "user": access.user}


def url(family, pk=None) -> str:
    slug = family["famille"].commune.slug
    if pk is None:
        return reverse("activities:absences", kwargs={"commune": slug})
    return reverse("activities:absence", kwargs={"commune": slug, "pk": pk})


@pytest.mark.parametrize(("name", "content", "reason"), MALICIOUS, ids=IDS)
def test_a_malicious_certificate_is_refused_with_the_declaration(
    client, family, name, content, reason
):
    before = stored_files()
    response = client.post(
        url(family),
        {
            "child": family["child"].pk,
            "quand": "plusieurs",
            "du": "2026-11-23",
            "au": "2026-11-24",
            "reason": "maladie",
            "comment": "angine",
            "certificat": SimpleUploadedFile(name, content),
        },
    )
    assert response.status_code == 200
    (error,) = response.context["form"].errors["certificat"]
    assert reason in error
    html = response.content.decode()
    assert 'id="id_certificat_error"' in html
    assert "angine" in html and 'value="2026-11-23"' in html
    assert re.search(r'value="plusieurs"[^>]*checked', html)
    assert not Absence.objects.exists() and not Document.objects.exists()
    assert stored_files() == before


@pytest.mark.parametrize(("name", "content", "reason"), MALICIOUS, ids=IDS)
def test_a_malicious_certificate_sent_later_is_refused(client, family, name, content, reason):
    absence = services_absences.declare_absence(
        famille=family["famille"], child=family["child"], first_day=date(2026, 11, 19),
        last_day=date(2026, 11, 19), reason="maladie", comment="", actor=family["user"],
    )  # fmt: skip
    before = stored_files()
    response = client.post(
        url(family, absence.pk), {"certificat": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    (error,) = response.context["form"].errors["certificat"]
    assert reason in error
    assert 'id="id_certificat_error"' in response.content.decode()
    absence.refresh_from_db()
    assert absence.certificate is None and not Document.objects.exists()
    assert stored_files() == before


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("cert.pdf", pdf_bytes("certificat"), "application/pdf"),
        ("cert.jpg", jpeg_bytes(), "image/jpeg"),
    ],
)
def test_a_plain_pdf_or_a_photo_is_kept(client, family, name, content, content_type):
    response = client.post(
        url(family),
        {
            "child": family["child"].pk,
            "quand": "aujourdhui",
            "reason": "maladie",
            "certificat": SimpleUploadedFile(name, content),
        },
    )
    assert response.status_code == 302
    document = Absence.objects.get().certificate
    assert document.content_type == content_type
    with document.file.open("rb") as handle:
        assert handle.read() == content
