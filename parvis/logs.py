"""Logs an operator can follow: a request id on every request (and on every log line written
while it is served), and one JSON object per line when PARVIS_LOG_FORMAT=json."""

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

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
