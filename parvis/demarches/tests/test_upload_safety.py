"""A démarche's attachment judged by more than its first bytes, through the wizard's file step:
a PNG claiming 60,000 × 60,000 px and PDFs with JavaScript, a launch action or embedded files are
refused with their own French reason next to the field, the other answers kept, nothing joined;
a plain PDF and a small image still pass. (The check itself: parvis/tests/test_uploads.py.)"""

from __future__ import annotations

import pytest

from parvis.communes.tests.factories import CommuneFactory
from parvis.demarches.models import DemandeAttachment
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.demarches.tests.test_wizard import (
    ALL_TYPES,
    STEP1,
    STEP2,
    error_of,
    file_upload,
    send,
    start,
    step_url,
    summary_url,
    value_of,
)
from parvis.testing.files import (
    EMBEDDED_FILES,
    OPEN_ACTION_JS,
    OPEN_ACTION_LAUNCH,
    jpeg_bytes,
    pdf_bytes,
    png_claiming,
)

pytestmark = pytest.mark.django_db

MALICIOUS = [
    ("plan.png", png_claiming(60_000, 60_000), "mesure 60 000 × 60 000 pixels"),
    ("avis.pdf", pdf_bytes(catalog=OPEN_ACTION_JS), "Ce PDF (« avis.pdf ») contient du JavaScript"),
    ("lance.pdf", pdf_bytes(catalog=OPEN_ACTION_LAUNCH), "lance un programme"),
    ("joint.pdf", pdf_bytes(catalog=EMBEDDED_FILES), "contient des fichiers joints"),
]


@pytest.fixture
def demande(client):
    procedure = ProcedureFactory(commune=CommuneFactory(), definition=ALL_TYPES)
    demande = start(client, procedure)
    send(client, demande, 1, STEP1)
    send(client, demande, 2, STEP2)
    return demande


@pytest.mark.parametrize(("name", "content", "reason"), MALICIOUS, ids=[m[0] for m in MALICIOUS])
def test_a_malicious_file_is_refused_next_to_the_field(client, demande, name, content, reason):
    response = client.post(
        step_url(demande, 3), {"commentaire": "Voici ma pièce", "piece": file_upload(name, content)}
    )
    assert response.status_code == 200
    assert reason in error_of(response, "id_piece")
    assert value_of(response, "commentaire") == "Voici ma pièce"
    assert not DemandeAttachment.objects.exists()
    demande.refresh_from_db()
    assert demande.current_step == 3


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [("avis.pdf", pdf_bytes(), "application/pdf"), ("photo.jpg", jpeg_bytes(), "image/jpeg")],
)
def test_a_plain_pdf_or_a_small_image_is_joined(client, demande, name, content, content_type):
    response = client.post(
        step_url(demande, 3), {"commentaire": "RAS", "piece": file_upload(name, content)}
    )
    assert response["Location"] == summary_url(demande)
    attachment = DemandeAttachment.objects.get()
    assert attachment.content_type == content_type
    assert attachment.file.read() == content
