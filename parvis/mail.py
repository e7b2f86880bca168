"""Every e-mail Parvis sends leaves from here.

`queue_email` writes an OutgoingEmail row in the caller's transaction and, once it has committed,
queues the `send_email` task: no request waits for the mail relay, none fails because it is down,
and an e-mail whose data rolled back never leaves. The task retries a relay error with back-off
(RETRY_DELAYS), then marks the e-mail failed and logs it at ERROR (the operator's reports).
`send_now` is for work already in a background task with its own claim (billing's PDFs).

Also the development outbox: with PARVIS_DEVELOPMENT, every e-mail is written as one .eml file
under var/outbox/ and listed on /_dev/outbox/."""

import email
import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import default_task_backend, task

from parvis.background.models import OutgoingEmail

logger = logging.getLogger(__name__)

# After the 1st failed attempt wait 1 minute, after the 2nd 5 minutes, … : seven attempts over
# about 9 hours, long enough for a relay's maintenance, short enough for a reset link to matter.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# What sending raises when the relay is down, slow or refusing for now (OSError: refused,
# unreachable, timed out). An error while building the message (a missing attachment, a header
# Django refuses) would come again: failed at once.
RETRYABLE_ERRORS = (smtplib.SMTPException, OSError)


def _addresses(value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    return [address.strip() for address in value or () if address and address.strip()]


def queue_email(
    *,
    to,
    subject: str,
    body: str,
    html: str | None = None,
    attachments: list[str] | None = None,
    reply_to=None,
    commune_id: int | None = None,
    from_email: str | None = None,
) -> OutgoingEmail | None:
    """Queues one e-mail to `to` (an address or a list): sent once the current transaction
    has committed (at once outside one). `attachments` are names in STORAGES["private"]. None when
    there is nobody to write to."""
    queued = queue_emails(
        [
            dict(
                to=to,
                subject=subject,
                body=body,
                html=html,
                attachments=attachments,
                reply_to=reply_to,
                commune_id=commune_id,
                from_email=from_email,
            )
        ]
    )
    return queued[0] if queued else None


def queue_emails(emails: list[dict]) -> list[OutgoingEmail]:
    """Queues several e-mails (each: the keyword arguments of `queue_email`) in one statement and
    one task, whatever their number: closing a day writes to every family concerned without a
    query per family. Those without an address are left out."""
    rows = []
    for mail in emails:
        recipients = _addresses(mail.get("to"))
        if not recipients:
            continue
        rows.append(
            OutgoingEmail(
                commune_id=mail.get("commune_id"),
                to=recipients,
                reply_to=_addresses(mail.get("reply_to")),
                from_email=mail.get("from_email") or "",
                subject=mail["subject"],
                body=mail["body"],
                html=mail.get("html") or "",
                attachments=list(mail.get("attachments") or []),
            )
        )
    if not rows:
        return []
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        rows = OutgoingEmail.objects.bulk_create(rows)
    ids = [row.pk for row in rows]
    # parvis.tasks.enqueue_on_commit's one line, repeated: mail and tasks are independent
    # siblings of import-linter's chain.
    if len(ids) == 1:
        transaction.on_commit(lambda: send_email.enqueue(email_id=ids[0]))
    else:
        transaction.on_commit(lambda: send_emails.enqueue(email_ids=ids))
    return rows


def send_now(message: EmailMessage) -> int:
    """Sends `message` at once, errors raised: only for work that is already a background task
    and keeps its own record of what was sent (billing's invoices and receipts)."""
    return message.send()


def _message(outgoing: OutgoingEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=outgoing.body,
        from_email=outgoing.from_email or None,
        to=outgoing.to,
        reply_to=outgoing.reply_to or None,
    )
    if outgoing.html:
        message.attach_alternative(outgoing.html, "text/html")
    private = storages["private"]
    for name in outgoing.attachments:
        with private.open(name, "rb") as stored:
            message.attach(Path(name).name, stored.read())
    return message


# Ahead of billing's PDFs (0 and 10): a reset link should not wait behind a run's 10,000 invoices.
@task(priority=20)
def send_email(*, email_id: int) -> str:
    """Sends one queued e-mail; on a relay error, queues itself again after the next delay of
    RETRY_DELAYS, and after MAX_ATTEMPTS marks it failed. Returns the e-mail's status."""
    return _send_one(email_id)


@task(priority=20)
def send_emails(*, email_ids: list[int]) -> dict[str, int]:
    """Sends the e-mails queued together (queue_emails), each as `send_email` does: one that fails
    is retried on its own; the others leave. Returns how many ended in each status."""
    outcome: dict[str, int] = {}
    for email_id in email_ids:
        status = _send_one(email_id)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def _send_one(email_id: int) -> str:
    with transaction.atomic():
        # Locked: a retry queued twice (a worker restarted) sends one e-mail, not two; and due
        # only: a task queued again (resend_emails) never sends ahead of the back-off.
        now = timezone.now()
        outgoing = (
            OutgoingEmail.objects.select_for_update()
            .filter(pk=email_id, status=OutgoingEmail.Status.QUEUED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .first()
        )
        if outgoing is None:
            return "absent"
        outgoing.attempts += 1
        try:
            message = _message(outgoing)
        except Exception as error:  # would fail the same way again
            _failed(outgoing, error, now=now, retry=False)
        else:
            try:
                message.send()
            except RETRYABLE_ERRORS as error:
                _failed(outgoing, error, now=now, retry=outgoing.attempts < MAX_ATTEMPTS)
            except Exception as error:
                _failed(outgoing, error, now=now, retry=False)
            else:
                outgoing.status = OutgoingEmail.Status.SENT
                outgoing.sent_at = now
                outgoing.next_attempt_at = None
                outgoing.body = outgoing.html = ""
        outgoing.save()
    return outgoing.status


def _failed(outgoing: OutgoingEmail, error: Exception, *, now, retry: bool) -> None:
    outgoing.last_error = f"{type(error).__name__}: {error}"[:2000]
    if retry:
        outgoing.next_attempt_at = now + RETRY_DELAYS[outgoing.attempts - 1]
        logger.warning(
            "E-mail %s not sent (attempt %s of %s), retried at %s: %s",
            outgoing.pk,
            outgoing.attempts,
            MAX_ATTEMPTS,
            outgoing.next_attempt_at.isoformat(),
            outgoing.last_error,
        )
        pk, at = outgoing.pk, outgoing.next_attempt_at
        transaction.on_commit(lambda: _retry(email_id=pk, at=at))
        return
    outgoing.status = OutgoingEmail.Status.FAILED
    outgoing.next_attempt_at = None
    # At ERROR: it reaches the operator (ADMINS, error reporting), with the row to look at.
    logger.error(
        "E-mail %s failed after %s attempt(s), not sent to %s (« %s »): %s",
        outgoing.pk,
        outgoing.attempts,
        ", ".join(outgoing.to),
        outgoing.subject,
        outgoing.last_error,
    )


def _retry(*, email_id: int, at: datetime) -> None:
    if default_task_backend.supports_defer:
        send_email.using(run_after=at).enqueue(email_id=email_id)
    else:
        # The immediate backend (development, tests) cannot wait: the row stays queued.
        logger.warning("E-mail %s: the task backend cannot defer, not retried", email_id)


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
