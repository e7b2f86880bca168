"""Files sent by the public (requests' attachments, the families' documents): typed from their
content (never their name or the browser's word), PDF, JPEG or PNG only, 10 MB at most, each
refusal said plainly. At the project level: every app that takes uploads uses this one check."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

MAX_UPLOAD_SIZE = 10 * 1024 * 1024
SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]
HEIC_BRANDS = (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1")


def private_storage():
    # Never under the static or media roots: files leave only through a view checking who asks.
    # Django's storage API, so object storage (django-storages) can replace the folder later.
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


def sniff(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def check_upload(uploaded) -> str:
    """The content type of an accepted upload; ValidationError with a French reason otherwise."""
    if uploaded.size > MAX_UPLOAD_SIZE:
        raise ValidationError(
            _("Le fichier « %(name)s » pèse %(size)s : 10 Mo au plus.")
            % {"name": uploaded.name, "size": filesizeformat(uploaded.size)},
            code="too_big",
        )
    if uploaded.size == 0:
        raise ValidationError(
            _("Le fichier « %(name)s » est vide.") % {"name": uploaded.name}, code="empty"
        )
    uploaded.seek(0)
    head = uploaded.read(16)
    uploaded.seek(0)
    content_type = sniff(head)
    if content_type is not None:
        return content_type
    if head[4:12] in HEIC_BRANDS:
        raise ValidationError(
            _(
                "« %(name)s » est une photo HEIC (iPhone), format que la mairie ne peut pas lire. "
                "Envoyez-la en JPEG : sur l'iPhone, Réglages › Appareil photo › Formats › "
                "« Le plus compatible », ou faites une capture d'écran de la photo."
            )
            % {"name": uploaded.name},
            code="heic",
        )
    raise ValidationError(
        _("« %(name)s » n'est ni un PDF, ni une image JPEG ou PNG : ce format n'est pas accepté.")
        % {"name": uploaded.name},
        code="type",
    )
