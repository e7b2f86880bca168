"""Files sent by the public (requests' attachments, the families' documents, absence
certificates): typed from their content (never their name or the browser's word), PDF, JPEG or PNG
only, 10 MB at most, then judged by more than their first bytes: an image by its header (too many
pixels, or truncated), a PDF parsed (JavaScript, a launch action, embedded files, encrypted or
unreadable). Each refusal is said plainly, in French, as a ValidationError with its own code. At
the project level: every app that takes uploads uses this one check, and the guichet shows a
stored file inline only when it passes the same check again (`safe_to_show`)."""

from __future__ import annotations

import io
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from PIL import JpegImagePlugin, PngImagePlugin
from pypdf import PasswordType, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from parvis.storage import private_files

logger = logging.getLogger(__name__)

MAX_UPLOAD_SIZE = 10 * 1024 * 1024  # the default of PARVIS_UPLOAD_MAX_FILE_SIZE
SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]
HEIC_BRANDS = (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1")
# Pillow's own classes, called directly: they parse the header only (no pixel is decoded) and,
# unlike Image.open, do not refuse a big image before we can say its size.
IMAGE_PARSERS = {
    "image/jpeg": JpegImagePlugin.JpegImageFile,
    "image/png": PngImagePlugin.PngImageFile,
}
# A PDF of more objects than this is refused unread: its walk would hold the request too long.
MAX_PDF_OBJECTS = 100_000
RESAVE = gettext_noop(
    "Enregistrez-le de nouveau en PDF simple (« Imprimer » › « Enregistrer au format PDF ») "
    "puis déposez-le."
)


def private_storage():
    # STORAGES["private"] (a folder outside the static and media roots, or a private bucket):
    # files leave only through a view checking who asks. The FileFields name this function.
    return private_files


def sniff(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def max_image_pixels() -> int:
    return settings.UPLOAD_MAX_IMAGE_PIXELS


class RefusedUpload(UploadedFile):
    """What parvis.upload_limits gives a form for a file it stopped while it arrived: no content,
    the size seen, and why (check_upload says it next to the field)."""

    TOO_BIG = "too_big"
    REQUEST_TOO_BIG = "request_too_big"
    TOO_MANY_IN_FIELD = "too_many_in_field"
    TOO_MANY = "too_many_files"

    def __init__(self, *, name, content_type, size, charset, refusal):
        super().__init__(io.BytesIO(), name, content_type, size, charset)
        self.refusal = refusal


def check_upload(uploaded) -> str:
    """The content type of an accepted upload; ValidationError with a French reason otherwise."""
    refusal = getattr(uploaded, "refusal", None)
    if refusal is not None:
        _refuse_stopped(uploaded, refusal)
    return _check(uploaded, size=uploaded.size, name=uploaded.name)


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return number_format(megabytes, decimal_pos=0 if megabytes.is_integer() else 1)


def _refuse_stopped(uploaded, refusal: str):
    name = uploaded.name
    if refusal == RefusedUpload.TOO_BIG:
        _refuse_too_big(name, uploaded.size)
    if refusal == RefusedUpload.REQUEST_TOO_BIG:
        raise ValidationError(
            _(
                "Le fichier « %(name)s » n'a pas été reçu : les fichiers d'un même envoi pèsent "
                "%(limit)s Mo au plus ensemble. Envoyez-le à part, ou réduisez les autres."
            )
            % {"name": name, "limit": _megabytes(settings.PARVIS_UPLOAD_MAX_REQUEST_SIZE)},
            code=refusal,
        )
    limit = (
        settings.PARVIS_UPLOAD_MAX_FILES_PER_FIELD
        if refusal == RefusedUpload.TOO_MANY_IN_FIELD
        else settings.PARVIS_UPLOAD_MAX_FILES
    )
    where = _("dans ce champ") if refusal == RefusedUpload.TOO_MANY_IN_FIELD else _("par envoi")
    raise ValidationError(
        ngettext(
            "Le fichier « %(name)s » n'a pas été reçu : %(limit)d fichier %(where)s au plus.",
            "Le fichier « %(name)s » n'a pas été reçu : %(limit)d fichiers %(where)s au plus.",
            limit,
        )
        % {"name": name, "limit": limit, "where": where},
        code=refusal,
    )


def _refuse_too_big(name: str, size: int):
    raise ValidationError(
        _("Le fichier « %(name)s » pèse %(size)s : %(limit)s Mo au plus.")
        % {
            "name": name,
            "size": filesizeformat(size),
            "limit": _megabytes(settings.PARVIS_UPLOAD_MAX_FILE_SIZE),
        },
        code="too_big",
    )


def safe_to_show(stored, content_type: str) -> bool:
    """Whether a stored file (a FieldFile) may be shown inline at the guichet: it passes today's
    check_upload again, and is of the type it was stored as. Files stored before a check existed
    are judged by it too; a missing or unreadable file is never shown."""
    try:
        with stored.open("rb") as handle:
            return _check(handle, size=stored.size, name=stored.name) == content_type
    except ValidationError:
        return False
    except OSError:
        logger.warning("stored file %s could not be read", stored.name)
        return False


def _check(stream, *, size: int, name: str) -> str:
    if size > settings.PARVIS_UPLOAD_MAX_FILE_SIZE:
        _refuse_too_big(name, size)
    if size == 0:
        raise ValidationError(_("Le fichier « %(name)s » est vide.") % {"name": name}, code="empty")
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    content_type = sniff(head)
    if content_type is None:
        _refuse_unknown(head, name)
    try:
        if content_type == "application/pdf":
            _check_pdf(stream, name)
        else:
            _check_image(stream, content_type, name)
    finally:
        stream.seek(0)  # the caller saves the file from its start
    return content_type


def _refuse_unknown(head: bytes, name: str):
    if head[4:12] in HEIC_BRANDS:
        raise ValidationError(
            _(
                "« %(name)s » est une photo HEIC (iPhone), format que la mairie ne peut pas lire. "
                "Envoyez-la en JPEG : sur l'iPhone, Réglages › Appareil photo › Formats › "
                "« Le plus compatible », ou faites une capture d'écran de la photo."
            )
            % {"name": name},
            code="heic",
        )
    raise ValidationError(
        _("« %(name)s » n'est ni un PDF, ni une image JPEG ou PNG : ce format n'est pas accepté.")
        % {"name": name},
        code="type",
    )


# --- Images --------------------------------------------------------------------------------------


def _check_image(stream, content_type: str, name: str) -> None:
    """The size from the header alone, then the file read through without a full decode: a PNG's
    chunks to IEND with their checksums, a JPEG's data decoded at 1/8 scale (at most 1/64 of the
    pixels, so a few MB of memory under the pixel limit)."""
    try:
        image = IMAGE_PARSERS[content_type](stream)
    except Exception:  # Pillow says « unreadable » with many exception types
        _refuse_damaged_image(name)
    width, height = image.size
    limit = max_image_pixels()
    if width * height > limit:
        raise ValidationError(
            _(
                "L'image « %(name)s » mesure %(width)s × %(height)s pixels : la mairie accepte "
                "%(limit)s millions de pixels au plus, pour que les agents puissent l'ouvrir. "
                "Réduisez-la (ou faites-en une capture d'écran) puis déposez-la."
            )
            % {
                "name": name,
                "width": number_format(width, force_grouping=True),
                "height": number_format(height, force_grouping=True),
                "limit": number_format(limit / 1_000_000, decimal_pos=0),
            },
            code="too_many_pixels",
        )
    try:
        if content_type == "image/png":
            image.verify()
        else:
            image.draft("RGB", (1, 1))
            image.load()
    except Exception:
        _refuse_damaged_image(name)


def _refuse_damaged_image(name: str):
    raise ValidationError(
        _(
            "L'image « %(name)s » est incomplète ou abîmée : la mairie ne peut pas l'ouvrir. "
            "Déposez-la de nouveau, ou prenez une nouvelle photo."
        )
        % {"name": name},
        code="image_damaged",
    )


# --- PDF -----------------------------------------------------------------------------------------

# What a PDF may hold that runs or carries something other than pages, by refusal code.
_PDF_PRIORITY = ("pdf_javascript", "pdf_launch", "pdf_embedded")


def _check_pdf(stream, name: str) -> None:
    encrypted = False
    try:
        reader = PdfReader(stream, strict=False)
        encrypted = reader.is_encrypted
        # Only an empty user password is tried (a PDF with printing restrictions opens with
        # it); AES needs a crypto library that is not installed, so such a PDF is refused.
        if encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise ValueError("a password is needed")
    except Exception:  # pypdf says « unreadable » with many exception types
        _refuse_pdf(name, "pdf_encrypted" if encrypted else "pdf_unreadable")
    try:
        found = _pdf_dangers(reader)
    except Exception:
        _refuse_pdf(name, "pdf_unreadable")
    for code in _PDF_PRIORITY:
        if code in found:
            _refuse_pdf(name, code)


def _pdf_dangers(reader: PdfReader) -> set[str]:
    """Every object of the file, reachable from the trailer or listed in its cross-reference
    tables (so a hidden one is seen too), looked at for what runs or carries files."""
    found: set[str] = set()
    pending: list = [reader.trailer]
    for generation, numbers in reader.xref.items():
        pending += [IndirectObject(number, generation, reader) for number in numbers]
    pending += [IndirectObject(number, 0, reader) for number in reader.xref_objStm]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            visited += 1
            if visited > MAX_PDF_OBJECTS:
                raise ValueError("too many objects")
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            found |= _dangers_of(item)
            pending += item.values()
        elif isinstance(item, ArrayObject):
            pending += item
    return found


def _dangers_of(entry: DictionaryObject) -> set[str]:
    found = set()
    if "/JS" in entry or "/JavaScript" in entry or entry.get("/S") == "/JavaScript":
        found.add("pdf_javascript")
    if "/XFA" in entry and _xfa_has_script(entry["/XFA"]):
        found.add("pdf_javascript")
    if entry.get("/S") == "/Launch":
        found.add("pdf_launch")
    if (
        "/EmbeddedFiles" in entry
        or "/EF" in entry
        or entry.get("/Type") == "/EmbeddedFile"
        or entry.get("/Subtype") == "/FileAttachment"
    ):
        found.add("pdf_embedded")
    return found


def _xfa_has_script(xfa) -> bool:
    """An XFA form's scripts live in its XML (one stream, or an array of names and streams),
    not in /JS entries."""
    xfa = xfa.get_object()
    packets = xfa if isinstance(xfa, ArrayObject) else [xfa]
    for packet in packets:
        packet = packet.get_object()
        if isinstance(packet, StreamObject) and b"<script" in packet.get_data().lower():
            return True
    return False


def _refuse_pdf(name: str, code: str):
    reasons = {
        "pdf_javascript": _(
            "Ce PDF (« %(name)s ») contient du JavaScript : il est refusé pour la sécurité des "
            "agents."
        ),
        "pdf_launch": _(
            "Ce PDF (« %(name)s ») contient une commande qui lance un programme : il est refusé "
            "pour la sécurité des agents."
        ),
        "pdf_embedded": _(
            "Ce PDF (« %(name)s ») contient des fichiers joints : il est refusé pour la sécurité "
            "des agents."
        ),
        "pdf_encrypted": _(
            "Ce PDF (« %(name)s ») est protégé (chiffré ou par un mot de passe) : la mairie ne "
            "peut pas le vérifier."
        ),
        "pdf_unreadable": _(
            "Ce PDF (« %(name)s ») est abîmé ou illisible : la mairie ne peut pas l'ouvrir."
        ),
    }
    raise ValidationError(f"{reasons[code] % {'name': name}} {_(RESAVE)}", code=code)
