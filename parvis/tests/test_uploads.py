"""parvis.uploads judges a file by more than its first bytes: an image by its header (too many
pixels, truncated or damaged), a PDF parsed (JavaScript, a launch action, embedded files,
encrypted, unreadable), each refusal with its own French reason; and `safe_to_show` says the
same of a file already stored. The channels' views are tested in their apps
(test_upload_safety.py of families, demarches, activities; the guichet's preview in backoffice)."""

from __future__ import annotations

import re
import struct
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parvis.testing.files import (
    EMBEDDED_FILES,
    FILE_ATTACHMENT,
    NAMES_JS,
    OPEN_ACTION_JS,
    OPEN_ACTION_LAUNCH,
    XFA_FORM,
    XFA_SCRIPT,
    encrypted_pdf,
    jpeg_bytes,
    jpeg_claiming,
    pdf_bytes,
    png_bytes,
    png_claiming,
    xfa_packet,
)
from parvis.uploads import check_upload, safe_to_show

RESAVE = (
    "Enregistrez-le de nouveau en PDF simple (« Imprimer » › « Enregistrer au format PDF ») "
    "puis déposez-le."
)


def refusal(name: str, content: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        check_upload(SimpleUploadedFile(name, content))
    return refused.value


# --- PDF -----------------------------------------------------------------------------------------

PDF_REFUSALS = [
    (
        "opens-with-javascript.pdf",
        pdf_bytes(catalog=OPEN_ACTION_JS),
        "pdf_javascript",
        "Ce PDF (« opens-with-javascript.pdf ») contient du JavaScript : il est refusé pour la "
        "sécurité des agents.",
    ),
    ("names-javascript.pdf", pdf_bytes(catalog=NAMES_JS), "pdf_javascript", "du JavaScript"),
    (
        # The name written with an escape (/J#53 is /JS): judged parsed, not by its bytes.
        "escaped.pdf",
        pdf_bytes(catalog=b"/OpenAction << /S /JavaScript /J#53 (app.alert\\(1\\)) >>"),
        "pdf_javascript",
        "du JavaScript",
    ),
    (
        # An action nothing points to, in an object of its own: every object is looked at.
        "hidden.pdf",
        pdf_bytes(extra=(b"<< /Type /Action /S /JavaScript /JS (app.alert\\(1\\)) >>",)),
        "pdf_javascript",
        "du JavaScript",
    ),
    (
        "launch.pdf",
        pdf_bytes(catalog=OPEN_ACTION_LAUNCH),
        "pdf_launch",
        "Ce PDF (« launch.pdf ») contient une commande qui lance un programme : il est refusé "
        "pour la sécurité des agents.",
    ),
    (
        "embedded.pdf",
        pdf_bytes(catalog=EMBEDDED_FILES),
        "pdf_embedded",
        "Ce PDF (« embedded.pdf ») contient des fichiers joints : il est refusé pour la sécurité "
        "des agents.",
    ),
    ("paperclip.pdf", pdf_bytes(page=FILE_ATTACHMENT), "pdf_embedded", "des fichiers joints"),
    (
        # An XFA form's scripts are JavaScript too, written in its XML (no /JS anywhere).
        "xfa-script.pdf",
        pdf_bytes(catalog=XFA_FORM, extra=(xfa_packet(XFA_SCRIPT),)),
        "pdf_javascript",
        "du JavaScript",
    ),
    (
        "locked.pdf",
        encrypted_pdf("secret"),
        "pdf_encrypted",
        "Ce PDF (« locked.pdf ») est protégé (chiffré ou par un mot de passe) : la mairie ne peut "
        "pas le vérifier.",
    ),
    (
        "broken.pdf",
        b"%PDF-1.4\n1 0 obj<<>>endobj\n",
        "pdf_unreadable",
        "Ce PDF (« broken.pdf ») est abîmé ou illisible : la mairie ne peut pas l'ouvrir.",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "code", "reason"),
    PDF_REFUSALS,
    ids=[case[0] for case in PDF_REFUSALS],
)
def test_a_dangerous_or_unreadable_pdf_is_refused_with_its_own_reason(name, content, code, reason):
    error = refusal(name, content)
    assert error.code == code
    (message,) = error.messages
    assert reason in message
    assert message.endswith(RESAVE)


def test_the_gravest_reason_is_said_first():
    content = pdf_bytes(catalog=OPEN_ACTION_LAUNCH + b" " + EMBEDDED_FILES, page=FILE_ATTACHMENT)
    assert refusal("tout.pdf", content).code == "pdf_launch"
    content = pdf_bytes(catalog=OPEN_ACTION_JS + b" " + EMBEDDED_FILES)
    assert refusal("tout.pdf", content).code == "pdf_javascript"


@pytest.mark.parametrize(
    "content",
    [
        pdf_bytes(),
        # A link to a web page is an action too, and a harmless one.
        pdf_bytes(
            page=b"/Annots [<< /Subtype /Link /Rect [0 0 9 9] /A << /S /URI "
            b"/URI (https://example.fr) >> >>]"
        ),
        # Printing restrictions only (an empty user password): it opens, and is checked.
        encrypted_pdf(""),
        # An XFA form without a script: fields to fill, nothing that runs.
        pdf_bytes(catalog=XFA_FORM, extra=(xfa_packet(b"<field name='nom'/>"),)),
    ],
    ids=["plain", "with-a-link", "restricted-without-password", "xfa-without-script"],
)
def test_a_plain_pdf_passes_and_the_stream_is_rewound(content):
    upload = SimpleUploadedFile("ok.pdf", content)
    assert check_upload(upload) == "application/pdf"
    assert upload.tell() == 0 and upload.read() == content


def test_the_demo_documents_pdf_passes():
    from parvis.families.demo_documents import pdf_bytes as demo_pdf

    assert check_upload(SimpleUploadedFile("demo.pdf", demo_pdf("Avis", "2025"))) == (
        "application/pdf"
    )


# --- Images --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [("bombe.png", png_claiming(60_000, 60_000)), ("bombe.jpg", jpeg_claiming(60_000, 60_000))],
)
def test_an_image_over_the_pixel_limit_is_refused_from_its_header_alone(name, content):
    assert len(content) < 1000  # small on disk: 3.6 billion pixels decoded
    started = time.monotonic()
    error = refusal(name, content)
    assert time.monotonic() - started < 1  # nothing decoded
    assert error.code == "too_many_pixels"
    (message,) = error.messages
    assert re.fullmatch(
        rf"L'image « {re.escape(name)} » mesure 60\s000 × 60\s000 pixels : la mairie accepte 40 "
        r"millions de pixels au plus, pour que les agents puissent l'ouvrir\. Réduisez-la \(ou "
        r"faites-en une capture d'écran\) puis déposez-la\.",
        message,
    )


@pytest.mark.parametrize("make", [png_bytes, jpeg_bytes], ids=["png", "jpeg"])
def test_the_pixel_limit_is_a_setting_taken_at_its_edge(settings, make):
    content = make(4, 3)  # 12 pixels
    settings.UPLOAD_MAX_IMAGE_PIXELS = 12
    assert check_upload(SimpleUploadedFile("juste", content)).startswith("image/")
    settings.UPLOAD_MAX_IMAGE_PIXELS = 11
    error = refusal("trop", content)
    assert error.code == "too_many_pixels"
    assert "mesure 4 × 3 pixels" in error.messages[0]


def _png_with_a_bad_checksum() -> bytes:
    data = bytearray(png_bytes())
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    data[idat + 4 + length] ^= 0xFF  # the first byte of the chunk's CRC
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("coupee.png", png_bytes(300, 200)[:-20]),
        ("crc.png", _png_with_a_bad_checksum()),
        ("coupee.jpg", jpeg_bytes(300, 300)[:400]),
        ("entete.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20),
        ("entete.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
    ],
)
def test_a_truncated_or_damaged_image_is_refused(name, content):
    error = refusal(name, content)
    assert error.code == "image_damaged"
    assert error.messages == [
        f"L'image « {name} » est incomplète ou abîmée : la mairie ne peut pas l'ouvrir. "
        "Déposez-la de nouveau, ou prenez une nouvelle photo."
    ]


@pytest.mark.parametrize(
    ("make", "content_type"), [(png_bytes, "image/png"), (jpeg_bytes, "image/jpeg")]
)
def test_a_small_good_image_passes(make, content_type):
    upload = SimpleUploadedFile("photo", make(640, 480))
    assert check_upload(upload) == content_type
    assert upload.tell() == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 2**31 - 1), height=st.integers(1, 2**31 - 1))
def test_the_pixel_refusal_follows_the_header_exactly(width, height):
    """Whatever a PNG header claims: refused for its pixels exactly when over 40 million (a header
    without pixels under the limit is then refused as damaged, never accepted)."""
    with pytest.raises(ValidationError) as refused:
        check_upload(SimpleUploadedFile("x.png", png_claiming(width, height)))
    over = width * height > 40_000_000
    assert (refused.value.code == "too_many_pixels") is over
    if not over:
        assert refused.value.code == "image_damaged"


@settings(max_examples=150, deadline=None)
@given(
    signature=st.sampled_from([b"%PDF-", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]),
    rest=st.binary(max_size=600),
)
def test_any_bytes_after_a_signature_are_judged_never_crash(signature, rest):
    """A refusal is always a ValidationError with a French reason (never a 500), and what
    passes has been rewound for the caller to save whole."""
    upload = SimpleUploadedFile("x", signature + rest)
    try:
        check_upload(upload)
    except ValidationError as error:
        assert error.code in {
            "pdf_unreadable",
            "pdf_javascript",
            "pdf_launch",
            "pdf_embedded",
            "pdf_encrypted",
            "image_damaged",
            "too_many_pixels",
        }
    assert upload.tell() == 0


@settings(max_examples=40, deadline=None)
@given(text=st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="()\\")))
def test_any_plain_pdf_passes(text):
    assert check_upload(SimpleUploadedFile("x.pdf", pdf_bytes(text))) == "application/pdf"


# --- A file already stored -----------------------------------------------------------------------


@pytest.fixture
def storage(tmp_path):
    return FileSystemStorage(location=tmp_path)


def stored(storage, content: bytes):
    from django.db.models.fields.files import FieldFile

    name = storage.save("f", ContentFile(content))

    class Field:  # what FieldFile needs of its field
        def __init__(self):
            self.storage = storage

    return FieldFile(None, Field(), name)


@pytest.mark.parametrize(
    ("content", "content_type", "shown"),
    [
        (pdf_bytes(), "application/pdf", True),
        (png_bytes(), "image/png", True),
        (jpeg_bytes(), "image/jpeg", True),
        (pdf_bytes(catalog=OPEN_ACTION_JS), "application/pdf", False),
        (pdf_bytes(catalog=OPEN_ACTION_LAUNCH), "application/pdf", False),
        (pdf_bytes(catalog=EMBEDDED_FILES), "application/pdf", False),
        (png_claiming(60_000, 60_000), "image/png", False),
        (b"%PDF-1.4\n% stored before the parse existed\n", "application/pdf", False),
        # Stored as a PNG but a PDF: never shown as what it is not.
        (pdf_bytes(), "image/png", False),
    ],
)
def test_a_stored_file_is_shown_only_when_it_passes_todays_check(
    storage, content, content_type, shown
):
    assert safe_to_show(stored(storage, content), content_type) is shown


def test_a_missing_stored_file_is_not_shown(storage):
    file = stored(storage, pdf_bytes())
    storage.delete(file.name)
    assert safe_to_show(file, "application/pdf") is False
