"""Logs an operator can follow: a request id on every request (and on every log line written
while it is served), one JSON object per line when PARVIS_LOG_FORMAT=json, and the ERROR lines of
parvis.* e-mailed to ADMINS (ErrorEmailHandler: throttled, without personal data)."""

import contextvars
import json
import logging
import re
import socket
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path

REQUEST_ID_HEADER = "X-Request-ID"

# What a proxy may hand over (nginx's $request_id is 32 hex digits, others send a UUID): anything
# else, or nothing, gets a fresh id, so a client cannot inject text into the logs.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

# Outside a request (a worker, a command) there is no id: « - ».
_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "parvis_request_id", default="-"
)


def current_request_id() -> str:
    return _current_request_id.get()


class RequestIdMiddleware:
    """Sets `request.id` (the proxy's X-Request-ID when well formed, else a new uuid4), returns
    it in the response's X-Request-ID and gives it to the log lines of the request. First in
    MIDDLEWARE, so that every other middleware's log lines carry it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request.id = given if _VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = _current_request_id.set(request.id)
        try:
            response = self.get_response(request)
        finally:
            _current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request.id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` (« - » outside a request) for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


# The attributes every LogRecord has: the rest was given through `extra=` and is kept.
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the
    values given with `extra=` (when JSON can hold them), and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", current_request_id()),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRIBUTES or key.startswith("_") or key in entry:
                continue
            if isinstance(value, str | int | float | bool) or value is None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class ErrorEmailHandler(logging.Handler):
    """The ERROR lines of Parvis's own loggers (parvis.*) e-mailed to ADMINS, so that the
    operator hears of a failed e-mail, a stopped run or a periodic job's failure without reading
    the logs. Throttled: one e-mail per logger and line per PARVIS_ERROR_EMAIL_INTERVAL seconds
    (in each process), the others counted in the next one. Without personal data: the line's
    template (`logger.error("Run %s stopped", pk)` gives « Run %s stopped », never its values),
    the exception's class and where it went through (file, line, function, the code's line),
    never the exception's message, the frames' variables nor any request or e-mail body.

    It sends straight to the relay (django.core.mail.mail_admins, fail_silently), not through
    parvis.mail's queue: the database the queue needs may be what failed. Server errors of
    requests keep Django's own report (django.request), which hides the credentials."""

    def __init__(self, level=logging.ERROR):
        super().__init__(level=level)
        self._lock = threading.Lock()
        self._last_sent: dict[tuple, float] = {}
        self._muted: dict[tuple, int] = {}

    def _key(self, record: logging.LogRecord) -> tuple:
        exception = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        return (record.name, str(record.msg)[:200], exception)

    def _due(self, key: tuple) -> int | None:
        """The number of lines muted since the last e-mail of `key` when one is due now, else
        None (and this line is counted)."""
        from django.conf import settings

        interval = getattr(settings, "PARVIS_ERROR_EMAIL_INTERVAL", 900)
        now = time.monotonic()
        with self._lock:
            last = self._last_sent.get(key)
            if last is not None and now - last < interval:
                self._muted[key] = self._muted.get(key, 0) + 1
                return None
            self._last_sent[key] = now
            return self._muted.pop(key, 0)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from django.conf import settings

            if not settings.ADMINS:
                return
            key = self._key(record)
            muted = self._due(key)
            if muted is None:
                return
            from django.core.mail import mail_admins

            subject, body = describe_error(record, muted=muted)
            mail_admins(subject, body, fail_silently=True)
        except Exception:  # logging's rule: a handler never raises
            self.handleError(record)


def describe_error(record: logging.LogRecord, *, muted: int = 0) -> tuple[str, str]:
    """The subject and text of an error's e-mail, without personal data (ErrorEmailHandler)."""
    template = " ".join(str(record.msg).split())[:200]
    lines = [
        f"Journal : {record.name} ({record.levelname})",
        f"Message : {template}",
        "(le modèle du message, sans ses valeurs ; la ligne entière est dans le journal)",
        f"Machine : {socket.gethostname()}, processus {record.process}",
        "Heure (UTC) : "
        + datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="seconds"),
        f"Requête : {getattr(record, 'request_id', None) or current_request_id()}",
    ]
    if record.exc_info and record.exc_info[0]:
        kind, _value, trace = record.exc_info
        lines += ["", f"Exception : {kind.__module__}.{kind.__qualname__}", "Pile :"]
        for frame in traceback.extract_tb(trace):
            lines.append(f"  {_short_path(frame.filename)}:{frame.lineno} dans {frame.name}")
            if frame.line:
                lines.append(f"    {frame.line.strip()}")
    if muted:
        lines += ["", f"{muted} ligne(s) semblable(s) tue(s) depuis l'e-mail précédent."]
    return f"{record.levelname} {record.name} : {template[:80]}", "\n".join(lines) + "\n"


_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def _short_path(filename: str) -> str:
    return filename.removeprefix(_ROOT)
