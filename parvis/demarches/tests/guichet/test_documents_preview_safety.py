"""The guichet's preview of a family's document shows a file inline (an <img>, an <iframe>) only
when it passes today's upload check again: a file stored before the check existed, or one that
fails it now (a PNG claiming 60,000 × 60,000 px, a PDF with JavaScript, a launch action, embedded
files, an unreadable PDF), gets a warning and a download link, and its « aperçu » address answers
it as an attachment, never inline."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from parvis.families.models import Document
from parvis.families.tests.factories import make_document
from parvis.testing.files import (
    EMBEDDED_FILES,
    OPEN_ACTION_JS,
    OPEN_ACTION_LAUNCH,
    jpeg_bytes,
    pdf_bytes,
    png_claiming,
)

pytestmark = pytest.mark.django_db

QUEUE = "/villebois/guichet/documents/"
WARNING = "Attention : ce fichier n'a pas passé les vérifications de sécurité"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def url(document, action: str = "") -> str:
    return f"{QUEUE}{document.pk}/" + (f"{action}/" if action else "")


def stored_before_the_check(famille, service, content: bytes, content_type: str) -> Document:
    """A document whose file was stored unchecked (as before this check existed): a good file
    stored through the service, its bytes then replaced on disk."""
    upload = pdf_bytes() if content_type == "application/pdf" else jpeg_bytes()
    document = make_document(
        famille=famille,
        service=service,
        label="Ancien dépôt",
        upload=SimpleUploadedFile("f", upload),
    )
    with open(document.file.path, "wb") as handle:
        handle.write(content)
    Document.objects.filter(pk=document.pk).update(content_type=content_type, size=len(content))
    document.refresh_from_db()
    return document


UNSAFE = [
    ("png-60000x60000", png_claiming(60_000, 60_000), "image/png"),
    ("pdf-javascript", pdf_bytes(catalog=OPEN_ACTION_JS), "application/pdf"),
    ("pdf-launch", pdf_bytes(catalog=OPEN_ACTION_LAUNCH), "application/pdf"),
    ("pdf-embedded", pdf_bytes(catalog=EMBEDDED_FILES), "application/pdf"),
    ("pdf-unreadable", b"%PDF-1.4\n% stored in 2025\n", "application/pdf"),
]


@pytest.mark.parametrize(
    ("content", "content_type"), [u[1:] for u in UNSAFE], ids=[u[0] for u in UNSAFE]
)
def test_an_unsafe_stored_file_is_never_shown_inline(
    agent_client, famille, enfance_service, content, content_type
):
    document = stored_before_the_check(famille, enfance_service, content, content_type)
    response = agent_client.get(url(document))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<img" not in html.split('id="apercu"')[1].split("</section>")[0]
    assert "<iframe" not in html
    assert WARNING in text_of(html)
    assert f'href="{url(document, "telecharger")}" download' in html
    assert url(document, "apercu") not in html  # not even as a link « in a new tab »
    # Its preview address, called directly, downloads it: a browser never renders it.
    preview = agent_client.get(url(document, "apercu"))
    assert preview.status_code == 200
    assert preview["Content-Disposition"].startswith("attachment")
    assert b"".join(preview.streaming_content) == content


def test_a_safe_stored_file_is_still_shown_inline(agent_client, famille, enfance_service):
    document = stored_before_the_check(famille, enfance_service, jpeg_bytes(), "image/jpeg")
    html = agent_client.get(url(document)).content.decode()
    assert re.search(rf'<img[^>]+src="{url(document, "apercu")}"', html)
    assert WARNING not in text_of(html)
    assert agent_client.get(url(document, "apercu"))["Content-Disposition"].startswith("inline")


def test_a_stored_file_that_is_missing_is_neither_shown_nor_a_500(
    agent_client, famille, enfance_service
):
    document = stored_before_the_check(famille, enfance_service, pdf_bytes(), "application/pdf")
    document.file.storage.delete(document.file.name)
    response = agent_client.get(url(document))
    assert response.status_code == 200
    assert "<iframe" not in response.content.decode()
    assert agent_client.get(url(document, "apercu")).status_code == 404
