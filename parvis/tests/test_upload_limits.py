"""Uploads stopped as they arrive (issue 24 §1): parvis.upload_limits before Django's storing
handlers, and the form back with the French message next to the field and every other entry."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import (
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.http.multipartparser import MultiPartParser
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from parvis.families.models import Document, DocumentType
from parvis.families.tests.factories import (
    ChildFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)
from parvis.testing.files import pdf_bytes
from parvis.upload_limits import LimitedUploadHandler
from parvis.uploads import RefusedUpload

MB = 1024 * 1024
BACKEND = "parvis.accounts.backends.CommuneBackend"


def parse(data: dict):
    """POST and FILES as Django parses `data` sent as multipart, through the project's handlers;
    and the bytes the storing handlers (memory, temporary file) were given."""
    body = encode_multipart(BOUNDARY, data)
    stored = {"bytes": 0}

    class Counting(TemporaryFileUploadHandler):
        def receive_data_chunk(self, raw_data, start):
            stored["bytes"] += len(raw_data)
            return super().receive_data_chunk(raw_data, start)

    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    handlers = [LimitedUploadHandler(), MemoryFileUploadHandler(), Counting()]
    post, files = MultiPartParser(meta, io.BytesIO(body), handlers).parse()
    return post, files, stored["bytes"]


def upload(name: str, size: int):
    return SimpleUploadedFile(name, b"x" * size)


def test_a_file_past_the_limit_is_never_stored():
    post, files, stored = parse({"label": "Mon fichier", "fichier": upload("gros.pdf", 11 * MB)})
    refused = files["fichier"]
    assert isinstance(refused, RefusedUpload)
    assert refused.refusal == RefusedUpload.TOO_BIG and refused.size == 11 * MB
    assert refused.read() == b""
    # The storing handler saw no more than the limit (and one chunk), never the whole file.
    assert stored <= 10 * MB + 64 * 1024
    assert post["label"] == "Mon fichier"


def test_a_file_of_exactly_the_limit_goes_through():
    _post, files, _stored = parse({"fichier": upload("juste.pdf", 10 * MB)})
    assert not isinstance(files["fichier"], RefusedUpload)
    assert files["fichier"].size == 10 * MB


def test_the_second_file_of_a_field_is_refused():
    _post, files, _stored = parse({"fichier": [upload("a.pdf", 10), upload("b.pdf", 10)]})
    first, second = files.getlist("fichier")
    assert not isinstance(first, RefusedUpload)
    assert second.refusal == RefusedUpload.TOO_MANY_IN_FIELD


@override_settings(PARVIS_UPLOAD_MAX_FILES=2, PARVIS_UPLOAD_MAX_FILES_PER_FIELD=10)
def test_files_past_the_requests_count_are_refused():
    _post, files, _stored = parse({f"f{n}": upload(f"{n}.pdf", 10) for n in range(3)})
    assert [isinstance(files[f"f{n}"], RefusedUpload) for n in range(3)] == [False, False, True]
    assert files["f2"].refusal == RefusedUpload.TOO_MANY


@override_settings(PARVIS_UPLOAD_MAX_REQUEST_SIZE=3 * MB)
def test_files_past_the_requests_size_are_refused_and_the_fields_after_them_kept():
    data = {"a": upload("a.pdf", 2 * MB), "b": upload("b.pdf", 2 * MB), "after": "gardé"}
    post, files, stored = parse(data)
    assert not isinstance(files["a"], RefusedUpload)
    assert files["b"].refusal == RefusedUpload.REQUEST_TOO_BIG
    assert post["after"] == "gardé"
    assert stored <= 3 * MB + 64 * 1024


@override_settings(PARVIS_UPLOAD_MAX_REQUEST_SIZE=1 * MB)
def test_past_twice_the_request_limit_the_connection_is_cut():
    post, files, _stored = parse({"before": "vu", "a": upload("a.pdf", 3 * MB), "after": "perdu"})
    assert post["before"] == "vu"
    assert "after" not in post and "a" not in files


# --- On a real form -------------------------------------------------------------------------------


@pytest.fixture
def logged(client, db):
    famille = FamilleFactory(name="DURAND")
    PersonneFactory(famille=famille, first_names="Françoise")
    ChildFactory(famille=famille, first_names="Léa")
    access = FamilyAccessFactory(famille=famille)
    client.force_login(access.user, backend=BACKEND)
    client.famille = famille
    return client


def post_document(client, fichier):
    famille = client.famille
    return client.post(
        reverse("families:document_ajouter", kwargs={"commune": famille.commune.slug}),
        {
            "famille": famille.pk,
            "doc_type": DocumentType.AUTRE,
            "personne": "foyer",
            "label": "Attestation employeur 2026",
            "fichier": fichier,
            "document_date": "",
            "income_year": "",
        },
    )


def field_errors(response, field: str) -> str:
    return " ".join(str(e) for e in response.context["form"].errors.get(field, []))


def test_the_form_comes_back_with_the_message_and_the_other_entries(logged):
    big = SimpleUploadedFile("gros.pdf", pdf_bytes(size=10 * MB + 1))
    response = post_document(logged, big)
    assert response.status_code == 200
    assert isinstance(response.wsgi_request.FILES["fichier"], RefusedUpload)
    assert "« gros.pdf » pèse 10,0\xa0Mio : 10 Mo au plus." in field_errors(response, "fichier")
    assert 'value="Attestation employeur 2026"' in response.content.decode()
    assert not Document.objects.exists()


def test_two_files_in_one_field_on_the_form(logged):
    files = [
        SimpleUploadedFile("a.pdf", pdf_bytes(), content_type="application/pdf"),
        SimpleUploadedFile("b.pdf", pdf_bytes(), content_type="application/pdf"),
    ]
    response = post_document(logged, files)
    assert response.status_code == 200
    message = "Le fichier « b.pdf » n'a pas été reçu : 1 fichier dans ce champ au plus."
    assert message in field_errors(response, "fichier")
    assert re.search(r'value="Attestation employeur 2026"', response.content.decode())
    assert not Document.objects.exists()


@override_settings(PARVIS_UPLOAD_MAX_REQUEST_SIZE=512 * 1024)
def test_a_request_past_its_size_on_the_form(logged):
    response = post_document(logged, SimpleUploadedFile("scan.pdf", pdf_bytes(size=600 * 1024)))
    assert response.status_code == 200
    assert (
        "Le fichier « scan.pdf » n'a pas été reçu : les fichiers d'un même envoi pèsent 0,5 Mo au "
        "plus ensemble."
    ) in field_errors(response, "fichier")
    assert 'value="Attestation employeur 2026"' in response.content.decode()
