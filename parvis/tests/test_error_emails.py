"""Issue 17 §6: the ERROR lines of parvis.* reach ADMINS by e-mail (parvis.logs.ErrorEmailHandler,
set in settings.LOGGING), throttled per logger and line, without personal data: the line's
template without its values, the exception's class and frames, never its message."""

import logging

import pytest
from django.core import mail

from parvis import logs


@pytest.fixture
def handler(settings):
    settings.ADMINS = [("Exploitation", "exploitation@example.fr")]
    settings.PARVIS_ERROR_EMAIL_INTERVAL = 900
    (found,) = [
        h for h in logging.getLogger("parvis").handlers if isinstance(h, logs.ErrorEmailHandler)
    ]
    found._last_sent.clear()
    found._muted.clear()
    mail.outbox.clear()
    return found


def fail(logger="parvis.billing.services_runs", address="marie.durand@example.fr"):
    try:
        raise RuntimeError(f"le relais refuse {address}")
    except RuntimeError:
        logging.getLogger(logger).exception("Échec de l'envoi à %s", address)


def test_an_error_of_parvis_is_mailed_without_personal_data(handler):
    fail()
    (message,) = mail.outbox
    assert message.to == ["exploitation@example.fr"]
    assert "ERROR parvis.billing.services_runs : Échec de l'envoi à %s" in message.subject
    body = message.body
    assert "Message : Échec de l'envoi à %s" in body
    assert "Exception : builtins.RuntimeError" in body
    assert "parvis/tests/test_error_emails.py:" in body and "dans fail" in body
    # Neither the line's values nor the exception's message.
    assert "marie.durand" not in body + message.subject


def test_the_same_error_is_mailed_once_per_interval(handler, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: clock[0])
    fail()
    fail(address="autre@example.fr")  # the same line and exception, other values
    clock[0] += 899
    fail()
    assert len(mail.outbox) == 1
    # Another logger, or another line, is another e-mail.
    fail(logger="parvis.mail")
    assert len(mail.outbox) == 2
    clock[0] += 1
    fail()
    assert len(mail.outbox) == 3
    assert "2 ligne(s) semblable(s) tue(s) depuis l'e-mail précédent." in mail.outbox[2].body


def test_only_errors_of_parvis_and_only_with_admins(handler, settings):
    logging.getLogger("parvis.billing").warning("Un avertissement")
    logging.getLogger("ailleurs").error("Une erreur d'une bibliothèque")
    assert mail.outbox == []
    settings.ADMINS = []
    fail()
    assert mail.outbox == []


def test_a_relay_down_never_breaks_the_code_that_logs(handler, monkeypatch):
    def down(*args, **kwargs):
        raise OSError("relay down")

    monkeypatch.setattr("django.core.mail.mail_admins", down)
    monkeypatch.setattr(logging, "raiseExceptions", False)
    fail()  # no exception out of the logging call
