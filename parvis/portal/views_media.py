"""The public media (communes' logos, news images) at MEDIA_URL, in production too: streamed from
the public store (a folder or a bucket, parvis/storage.py) by Parvis itself, so that every
application server answers alike, no bucket is readable by the world and the pages keep their
`img-src 'self'` policy. A reverse proxy may cache them (Cache-Control)."""

import mimetypes

from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

# A logo replaced keeps its address only if given the same name, which Django's storages avoid
# (a new name each time): a day's cache costs little and spares the store most reads.
MEDIA_MAX_AGE = 24 * 60 * 60


@require_safe
def public_media(request, name: str):
    storage = default_storage
    try:
        modified = storage.get_modified_time(name)
    except (
        FileNotFoundError,
        SuspiciousOperation,
        NotImplementedError,
        OSError,
        ValueError,  # a NUL byte in the address
    ) as missing:
        raise Http404 from missing
    last_modified = int(modified.timestamp())
    if not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), last_modified):
        response = HttpResponseNotModified()
    else:
        try:
            handle = storage.open(name, "rb")
        except (FileNotFoundError, SuspiciousOperation, OSError, ValueError) as missing:
            raise Http404 from missing
        content_type, _encoding = mimetypes.guess_type(name)
        response = FileResponse(handle, content_type=content_type or "application/octet-stream")
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}"
    response["X-Content-Type-Options"] = "nosniff"
    # An image only: nothing in it may run, were it opened on its own.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
