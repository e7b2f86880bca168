"""What the follow-up tests share: the two procedures with an effect (same field names as the
shipped catalogue), filing a request through the services, an agent, real file bytes."""

from __future__ import annotations

import io
import re
from html import unescape

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from parvis.accounts.models import AgentRole
from parvis.demarches import services
from parvis.demarches.models import Audience, Effect
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.families.tests.factories import AgentFactory
from parvis.testing.files import pdf_bytes

COORDINATES_DEFINITION = {
    "steps": [
        {
            "title": "Mes nouvelles coordonnées",
            "fields": [
                {"name": "adresse", "label": "Nouvelle adresse", "type": "address"},
                {"name": "telephone", "label": "Téléphone", "type": "phone", "required": False},
                {"name": "tout_le_foyer", "label": "Tout le foyer déménage", "type": "yesno"},
            ],
        }
    ]
}
PAPERLESS_DEFINITION = {
    "steps": [
        {
            "title": "Ma demande",
            "fields": [
                {
                    "name": "adhesion",
                    "label": "Souhaitez-vous adhérer à la facture/compte en ligne ?",
                    "type": "yesno",
                    "required": True,
                }
            ],
        }
    ]
}


def coordinates_procedure(commune, **kwargs):
    return ProcedureFactory(
        commune=commune,
        slug="signalement-changement-coordonnees",
        title="Signalement d'un changement de coordonnées",
        category="Vie quotidienne",
        audience=Audience.ACCOUNT,
        effect=Effect.COORDINATES,
        definition=COORDINATES_DEFINITION,
        **kwargs,
    )


def paperless_procedure(commune, **kwargs):
    return ProcedureFactory(
        commune=commune,
        slug="adhesion-facture-en-ligne",
        title="Adhésion à la facture en ligne",
        category="Facturation unique",
        audience=Audience.FAMILY,
        effect=Effect.PAPERLESS_INVOICE,
        duration_minutes=2,
        definition=PAPERLESS_DEFINITION,
        **kwargs,
    )


def file_request(procedure, *, user=None, answers=None, files=None, ip="192.0.2.10", **contact):
    """A request filed through the services as the wizard does: draft, answers, « Valider ».
    Returns (demande, tracking code or None)."""
    demande = services.start_draft(procedure=procedure, user=user, draft_key="cle-de-brouillon")
    services.save_step(demande=demande, step=1, answers=answers or {}, files=files)
    if user is None:
        contact.setdefault("contact_name", "Camille PETIT")
        contact.setdefault("contact_email", "camille.petit@example.fr")
    code = services.submit(demande=demande, ip=ip, **contact)
    demande.refresh_from_db()
    return demande, code


def agent_of(commune, role=AgentRole.Role.ETAT_CIVIL):
    return AgentFactory(commune=commune, roles=[role])


def png_upload(name="justificatif.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


PDF_BYTES = pdf_bytes()  # a real PDF: parvis.uploads parses what it accepts


def pdf_upload(name="attestation.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


BACKEND = "parvis.accounts.backends.CommuneBackend"


def log_in(client, user):
    client.force_login(user, backend=BACKEND)
    return client


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed, entities of quotes decoded."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
