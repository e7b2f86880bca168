"""Every e-mail leaves through parvis.mail's queue: written in the caller's transaction, sent by
a task after the commit, retried with back-off while the relay is down, then marked failed and
logged at ERROR. No page fails because of the relay."""

import ast
import logging
import smtplib
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from parvis import mail as parvis_mail
from parvis.background.models import OutgoingEmail
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.tests.factories import CitizenFactory

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
PARVIS = Path(parvis_mail.__file__).parent


class RelayDown(BaseEmailBackend):
    """A relay that cannot be reached."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def relay_down(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RelayDown"


def queue(**extra):
    return parvis_mail.queue_email(
        to="famille@example.fr", subject="Villebois — essai", body="Bonjour.", **extra
    )


@pytest.mark.django_db
def test_an_email_leaves_after_the_commit_and_its_content_is_then_dropped(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue(commune_id=7)
        assert mail.outbox == []  # not before the commit
    [message] = mail.outbox
    assert (message.to, message.subject, message.body) == (
        ["famille@example.fr"],
        "Villebois — essai",
        "Bonjour.",
    )
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts, outgoing.commune_id) == ("sent", 1, 7)
    assert outgoing.sent_at is not None and outgoing.last_error == ""
    # The body may hold a reset link: not kept once delivered.
    assert (outgoing.body, outgoing.html, outgoing.subject) == ("", "", "Villebois — essai")


@pytest.mark.django_db
def test_an_email_whose_transaction_rolls_back_never_leaves(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        queue()
        raise RuntimeError("the write failed")
    assert mail.outbox == []
    assert not OutgoingEmail.objects.exists()


@pytest.mark.django_db
def test_html_reply_to_sender_and_private_attachments_are_sent(django_capture_on_commit_callbacks):
    name = storages["private"].save("mail-tests/attestation.pdf", ContentFile(b"%PDF-1.4 essai"))
    with django_capture_on_commit_callbacks(execute=True):
        queue(
            html="<p>Bonjour.</p>",
            reply_to="regie@example.fr",
            from_email="Régie <regie@example.fr>",
            attachments=[name],
        )
    [message] = mail.outbox
    assert message.alternatives[0][:2] == ("<p>Bonjour.</p>", "text/html")
    assert message.reply_to == ["regie@example.fr"]
    assert message.from_email == "Régie <regie@example.fr>"
    assert message.attachments[0][:2] == (Path(name).name, b"%PDF-1.4 essai")
    storages["private"].delete(name)


@pytest.mark.django_db
def test_nobody_to_write_to_queues_nothing():
    assert parvis_mail.queue_email(to=["", "  "], subject="s", body="b") is None
    assert not OutgoingEmail.objects.exists()


@pytest.mark.django_db
def test_emails_queued_together_cost_one_statement_and_one_task(
    settings, django_capture_on_commit_callbacks, django_assert_num_queries
):
    settings.TASKS = DATABASE

    def batch(count):
        return [
            dict(to=f"famille{n}@example.fr", subject=f"Essai {n}", body="Bonjour.", commune_id=7)
            for n in range(count)
        ] + [dict(to="", subject="Personne", body="—")]  # nobody to write to: left out

    for count in (2, 20):
        # One INSERT of the rows; after the commit, one task (its row).
        with django_assert_num_queries(2), django_capture_on_commit_callbacks(execute=True):
            queued = parvis_mail.queue_emails(batch(count))
        assert len(queued) == count
    tasks = list(DBTaskResult.objects.order_by("enqueued_at", "pk"))
    assert [len(t.args_kwargs["kwargs"]["email_ids"]) for t in tasks] == [2, 20]
    assert OutgoingEmail.objects.filter(status="queued").count() == 22


@pytest.mark.django_db
def test_a_batch_sends_each_email_and_retries_a_failed_one_alone(
    settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.TASKS = DATABASE
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third = parvis_mail.queue_emails(
            [
                dict(to=f"famille{n}@example.fr", subject=f"Essai {n}", body="Bonjour.")
                for n in (1, 2, 3)
            ]
        )
    send = parvis_mail.EmailMultiAlternatives.send

    def relay_refuses_the_second(message, *args, **kwargs):
        if message.to == ["famille2@example.fr"]:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return send(message, *args, **kwargs)

    monkeypatch.setattr(parvis_mail.EmailMultiAlternatives, "send", relay_refuses_the_second)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = parvis_mail.send_emails.call(email_ids=[first.pk, second.pk, third.pk])
    assert outcome == {"sent": 2, "queued": 1}
    assert sorted(m.to[0] for m in mail.outbox) == ["famille1@example.fr", "famille3@example.fr"]
    # The second is retried on its own task, after the first delay.
    retry = DBTaskResult.objects.order_by("-enqueued_at", "-pk").first()
    assert retry.args_kwargs["kwargs"] == {"email_id": second.pk}
    second.refresh_from_db()
    assert (second.status, second.attempts) == ("queued", 1)


@pytest.mark.django_db
def test_a_relay_down_is_retried_with_back_off_then_the_email_is_failed_and_logged(
    settings, relay_down, django_capture_on_commit_callbacks, caplog
):
    settings.TASKS = DATABASE
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue()
    [first] = DBTaskResult.objects.all()
    assert first.args_kwargs["kwargs"] == {"email_id": outgoing.pk}
    waits = []
    for attempt in range(1, parvis_mail.MAX_ATTEMPTS + 1):
        # Each attempt at its time: the worker runs a retry when its run_after has come.
        with time_machine.travel(outgoing.next_attempt_at or timezone.now(), tick=False):
            before = timezone.now()
            with django_capture_on_commit_callbacks(execute=True):
                status = parvis_mail.send_email.call(email_id=outgoing.pk)
        outgoing.refresh_from_db()
        assert outgoing.attempts == attempt
        assert outgoing.last_error == ("SMTPServerDisconnected: Connection unexpectedly closed")
        if attempt < parvis_mail.MAX_ATTEMPTS:
            assert status == outgoing.status == "queued"
            retry = DBTaskResult.objects.order_by("-enqueued_at", "-pk").first()
            assert retry.run_after == outgoing.next_attempt_at
            waits.append(round((retry.run_after - before).total_seconds() / 60))
    assert waits == [1, 5, 30, 120, 360]
    assert status == outgoing.status == "failed"
    assert outgoing.next_attempt_at is None
    assert outgoing.body == "Bonjour."  # kept for the operator, who may send it again
    assert DBTaskResult.objects.count() == parvis_mail.MAX_ATTEMPTS  # no retry after the last
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.name == "parvis.mail"
    assert f"E-mail {outgoing.pk} failed after 6 attempt(s)" in error.getMessage()
    assert "famille@example.fr" in error.getMessage()
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_error_that_would_come_again_fails_at_once(django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue(attachments=["mail-tests/absent.pdf"])
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == ("failed", 1)
    assert outgoing.last_error.startswith("FileNotFoundError")
    assert any(r.levelno == logging.ERROR for r in caplog.records)


@pytest.mark.django_db
def test_a_retry_queued_twice_sends_one_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue()
    assert parvis_mail.send_email.call(email_id=outgoing.pk) == "absent"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_backend_that_cannot_defer_leaves_the_email_queued(
    relay_down, django_capture_on_commit_callbacks, caplog
):
    # The immediate backend (development, tests) cannot wait: nothing raises, the row waits.
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = queue()
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == ("queued", 1)
    assert outgoing.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert "cannot defer" in caplog.text


@pytest.mark.django_db
def test_a_page_that_sends_mail_answers_normally_while_the_relay_is_down(
    client, settings, relay_down, django_capture_on_commit_callbacks
):
    """The forgotten-password page sends its link with the relay down: the family reads the
    usual answer; the e-mail waits for its retry."""
    settings.TASKS = DATABASE
    commune = CommuneFactory(login_with_email=True)
    citizen = CitizenFactory(commune=commune, email="francoise@example.fr")
    page = reverse("accounts:mot_de_passe_oublie", kwargs={"commune": commune.slug})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"identifier": citizen.email})
    assert response.status_code == 200
    assert "Si cette adresse correspond à un espace" in response.content.decode()
    [outgoing] = OutgoingEmail.objects.all()
    assert (outgoing.to, outgoing.status, outgoing.commune_id) == (
        [citizen.email],
        "queued",
        commune.pk,
    )
    # The worker's first attempt meets the relay down: queued again, one minute later.
    with django_capture_on_commit_callbacks(execute=True):
        parvis_mail.send_email.call(email_id=outgoing.pk)
    outgoing.refresh_from_db()
    assert (outgoing.status, outgoing.attempts) == ("queued", 1)
    assert DBTaskResult.objects.filter(run_after=outgoing.next_attempt_at).exists()
    # The relay is back: the retry sends it, at its time (not before: « absent »).
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert parvis_mail.send_email.call(email_id=outgoing.pk) == "absent"
    with time_machine.travel(outgoing.next_attempt_at, tick=False):
        assert parvis_mail.send_email.call(email_id=outgoing.pk) == "sent"
    [message] = mail.outbox
    assert "/mot-de-passe-oublie/" in message.body


# --- One sending module ------------------------------------------------------------------------

SENDING_NAMES = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers"}


def sends_mail(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    if name in SENDING_NAMES or name == "send_messages":
        return True
    # EmailMessage(...).send() / message.send(): no argument (a signal's send names a sender).
    return name == "send" and not node.args and not node.keywords


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(PARVIS.parent)}:{node.lineno}"
        for node in ast.walk(tree)
        if sends_mail(node)
    ]


def test_only_parvis_mail_sends_email():
    found = []
    for path in sorted(PARVIS.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts or path == PARVIS / "mail.py":
            continue
        if path == PARVIS / "logs.py":
            # The operator's error e-mails go straight to the relay: the queue's database may be
            # what failed (parvis.logs.ErrorEmailHandler).
            assert len(offences(path)) == 1
            continue
        found += offences(path)
    assert found == [], "Send through parvis.mail.queue_email: " + ", ".join(found)


def test_the_scan_finds_each_way_of_sending(tmp_path):
    source = tmp_path / "sender.py"
    source.write_text(
        "send_mail('s', 'b', None, ['a@b.fr'])\n"
        "mail.send_mass_mail(())\n"
        "EmailMessage('s', 'b', to=['a@b.fr']).send()\n"
        "connection.send_messages([])\n"
        "signal.send(sender=None)\n"
    )
    assert [line.rsplit(":", 1)[1] for line in offences_in(source)] == ["1", "2", "3", "4"]


def offences_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return sorted(f"{path.name}:{node.lineno}" for node in ast.walk(tree) if sends_mail(node))


@pytest.mark.django_db
def test_emails_whose_task_died_are_queued_again_once_late(settings, monkeypatch):
    # A worker killed mid-batch leaves its e-mails « queued » with no task: resend_emails puts the
    # late ones (due for more than 10 minutes) in one batch; the others are left to their task.
    settings.TASKS = DATABASE
    now = timezone.now()
    late_new = OutgoingEmail.objects.create(to=["a@example.fr"], subject="s", body="b")
    OutgoingEmail.objects.filter(pk=late_new.pk).update(created_at=now - timedelta(minutes=11))
    recent = OutgoingEmail.objects.create(to=["b@example.fr"], subject="s", body="b")
    late_retry = OutgoingEmail.objects.create(
        to=["c@example.fr"], subject="s", body="b", attempts=1,
        next_attempt_at=now - timedelta(minutes=11),
    )  # fmt: skip
    waiting_retry = OutgoingEmail.objects.create(
        to=["d@example.fr"], subject="s", body="b", attempts=1,
        next_attempt_at=now + timedelta(minutes=20),
    )  # fmt: skip
    sent = OutgoingEmail.objects.create(to=["e@example.fr"], subject="s", body="", status="sent")
    OutgoingEmail.objects.filter(pk__in=[recent.pk, sent.pk]).update(
        created_at=now - timedelta(minutes=30)
    )
    OutgoingEmail.objects.filter(pk=recent.pk).update(created_at=now - timedelta(minutes=5))
    out = StringIO()
    call_command("resend_emails", stdout=out)
    assert out.getvalue().strip() == "2 e-mail(s) remis en file."
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs["kwargs"] == {"email_ids": [late_new.pk, late_retry.pk]}
    # Sending them: each once; one sent meanwhile is skipped.
    OutgoingEmail.objects.filter(pk=late_new.pk).update(status="sent")
    assert parvis_mail.send_emails.call(email_ids=[late_new.pk, late_retry.pk]) == {
        "absent": 1,
        "sent": 1,
    }
    assert [m.to for m in mail.outbox] == [["c@example.fr"]]
    assert waiting_retry.pk not in task.args_kwargs["kwargs"]["email_ids"]
