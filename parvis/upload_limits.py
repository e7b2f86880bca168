"""Uploads stopped as they arrive (issue 24 §1), first of FILE_UPLOAD_HANDLERS.

Django's own handlers store a whole file (in memory, then a temporary file) before any form
looks at its size: 100 files of 1 GB each would be written to disk, anonymously. Here a file is
stopped as soon as it passes PARVIS_UPLOAD_MAX_FILE_SIZE, a request's files once they pass
PARVIS_UPLOAD_MAX_REQUEST_SIZE together, and a field's files past PARVIS_UPLOAD_MAX_FILES_PER_FIELD
(a request's past PARVIS_UPLOAD_MAX_FILES): their bytes are read and dropped, never stored.

The form still gets its field: a `RefusedUpload` (empty, with the size seen and why) that
`parvis.uploads.check_upload`, which every form calls, refuses in French next to the field. The
rest of the request is parsed as usual, so every other entry comes back in the form. Past twice
the request limit (only a forged request: the reverse proxy refuses bodies over its
client_max_body_size before) the connection is cut.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from parvis.uploads import RefusedUpload


class LimitedUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.total = 0
        self.files = 0
        self.per_field: Counter[str] = Counter()
        self.size = 0
        self.refusal: str | None = None

    def new_file(self, field_name, file_name, content_type, content_length, *args, **kwargs):
        super().new_file(field_name, file_name, content_type, content_length, *args, **kwargs)
        self.files += 1
        self.per_field[field_name] += 1
        self.size = 0
        self.refusal = None
        if self.per_field[field_name] > settings.PARVIS_UPLOAD_MAX_FILES_PER_FIELD:
            self.refusal = RefusedUpload.TOO_MANY_IN_FIELD
        elif self.files > settings.PARVIS_UPLOAD_MAX_FILES:
            self.refusal = RefusedUpload.TOO_MANY
        elif self.total >= settings.PARVIS_UPLOAD_MAX_REQUEST_SIZE:
            self.refusal = RefusedUpload.REQUEST_TOO_BIG

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        self.total += len(raw_data)
        if self.total > 2 * settings.PARVIS_UPLOAD_MAX_REQUEST_SIZE:
            raise StopUpload(connection_reset=True)
        if self.refusal is None:
            if self.size > settings.PARVIS_UPLOAD_MAX_FILE_SIZE:
                self.refusal = RefusedUpload.TOO_BIG
            elif self.total > settings.PARVIS_UPLOAD_MAX_REQUEST_SIZE:
                self.refusal = RefusedUpload.REQUEST_TOO_BIG
        # None: the handlers after this one (which store) never see a refused file's bytes.
        return None if self.refusal else raw_data

    def file_complete(self, file_size):
        if self.refusal is None:
            return None  # the next handler (memory or temporary file) gives the file
        return RefusedUpload(
            name=self.file_name,
            content_type=self.content_type,
            size=self.size,
            charset=self.charset,
            refusal=self.refusal,
        )
