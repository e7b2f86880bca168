"""Development outbox: every e-mail Parvis sends is written as one .eml file under var/outbox/,
and listed on /_dev/outbox/ (only with PARVIS_DEVELOPMENT on)."""

import email
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.policy import default as default_policy
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


def absolute_url(path: str) -> str:
    """The address to put in an e-mail. From the configured public address, never from the
    request's Host header (which an attacker could set to poison reset links)."""
    return settings.PARVIS_BASE_URL.rstrip("/") + path


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        outbox = Path(settings.OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes(linesep="\n"))
            sent += 1
        return sent


@dataclass(frozen=True)
class OutboxMessage:
    key: str
    subject: str
    to: str
    sender: str
    date: str
    text: str
    html: str | None


def _read(path: Path) -> OutboxMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return OutboxMessage(
        key=path.stem,
        subject=str(parsed.get("Subject", "")),
        to=str(parsed.get("To", "")),
        sender=str(parsed.get("From", "")),
        date=str(parsed.get("Date", "")),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else None,
    )


def outbox_messages(limit: int = 200) -> list[OutboxMessage]:
    """The newest messages first."""
    outbox = Path(settings.OUTBOX_DIR)
    if not outbox.is_dir():
        return []
    paths = sorted(outbox.glob("*.eml"), reverse=True)[:limit]
    return [_read(path) for path in paths]


def outbox_message(key: str) -> OutboxMessage | None:
    # The key is a file stem we produced; anything else (a path, dots) is refused.
    if not key.replace("-", "").isalnum():
        return None
    path = Path(settings.OUTBOX_DIR) / f"{key}.eml"
    return _read(path) if path.is_file() else None
