"""Issue 17 §6, operating Parvis: the request id and JSON logs, the settings that reach the
operator (mail refused without a relay, ADMINS, Sentry) and the operator's status report."""

import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core import mail
from django.core.files.storage import storages
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parvis import health
from parvis.accounts.models import User
from parvis.background.models import OutgoingEmail, PeriodicRun
from parvis.logs import JsonFormatter, RequestIdFilter, RequestIdMiddleware, current_request_id

ROOT = Path(__file__).resolve().parents[2]
TOKEN = secrets.token_urlsafe(32)


# --- Request id ----------------------------------------------------------------------------------


def run_middleware(headers: dict[str, str]):
    seen = {}

    def view(request):
        seen["id"] = request.id
        seen["logged"] = current_request_id()
        return HttpResponse("ok")

    request = RequestFactory().get("/", headers=headers)
    response = RequestIdMiddleware(view)(request)
    return seen, response


def test_a_proxys_request_id_is_kept_and_returned():
    given = "0f3c9a7e5b2d4c1a8e6f0b9d7c5a3e1f"  # nginx's $request_id
    seen, response = run_middleware({"X-Request-ID": given})
    assert seen == {"id": given, "logged": given}
    assert response["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    [
        "",
        "short",
        "a" * 129,
        "abc def ghi jkl",
        "id\nFAKE LOG LINE",
        "é" * 10,
        "<script>x</script>",
    ],
)
def test_a_missing_or_malformed_request_id_is_replaced_by_a_uuid(given):
    seen, response = run_middleware({"X-Request-ID": given} if given else {})
    assert seen["id"] != given
    assert len(seen["id"]) == 32 and int(seen["id"], 16) >= 0  # uuid4().hex
    assert response["X-Request-ID"] == seen["id"]


def test_the_request_id_is_forgotten_after_the_request():
    run_middleware({"X-Request-ID": "request-0000001"})
    assert current_request_id() == "-"


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz", headers={"X-Request-ID": "probe-12345678"})
    assert response["X-Request-ID"] == "probe-12345678"
    assert len(client.get("/healthz")["X-Request-ID"]) == 32


# --- Log lines -----------------------------------------------------------------------------------


def make_record(message="Paiement %s reçu", args=("P-1",), **extra):
    record = logging.LogRecord("parvis.billing", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_the_json_formatter_writes_one_object_per_line_with_the_request_id():
    def view(request):
        record = make_record(status_code=502, request=request)
        RequestIdFilter().filter(record)
        return HttpResponse(JsonFormatter().format(record))

    request = RequestFactory().get("/", headers={"X-Request-ID": "req-abcdef12"})
    line = RequestIdMiddleware(view)(request).content.decode()
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "Paiement P-1 reçu"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "parvis.billing"
    assert entry["request_id"] == "req-abcdef12"
    assert entry["status_code"] == 502  # given with extra=
    assert "request" not in entry  # an object JSON cannot hold is left out
    assert entry["time"].endswith("+00:00")


def test_the_json_formatter_keeps_a_traceback_on_one_line():
    try:
        raise ValueError("ligne 1\nligne 2")
    except ValueError:
        record = make_record(exc_info=sys.exc_info())
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: ligne 1\nligne 2" in json.loads(line)["exception"]


def test_outside_a_request_the_log_lines_carry_a_dash():
    record = make_record()
    RequestIdFilter().filter(record)
    assert record.request_id == "-"


# --- Settings read at start-up -------------------------------------------------------------------

SHOW = (
    "import json, logging, django; django.setup(); from django.conf import settings as s; "
    "handler = logging.getLogger().handlers[0]; "
    "print(json.dumps({'email': s.EMAIL_BACKEND, 'admins': s.ADMINS, "
    "'formatter': type(handler.formatter).__name__}))"
)
STARTUP_VARIABLES = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "PARVIS_DEVELOPMENT",
    "PARVIS_TASKS",
    "EMAIL_HOST",
    "EMAIL_BACKEND",
    "PARVIS_EMAIL_DISABLED",
    "ADMINS",
    "SENTRY_DSN",
    "SENTRY_TRACES_SAMPLE_RATE",
    "PARVIS_LOG_FORMAT",
    "PARVIS_STATUS_TOKEN",
    "ALLOWED_HOSTS",
}


def start(env_overrides: dict[str, str], code: str = SHOW):
    env = {k: v for k, v in os.environ.items() if k not in STARTUP_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="parvis.settings",
        PARVIS_VAR_DIR=str(Path(tempfile.gettempdir()) / "parvis-settings-test"),
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603 — our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_without_a_mail_relay_refuses_to_start():
    result = start({"DEBUG": "0"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EMAIL_HOST n'est pas définie" in result.stderr
    assert "PARVIS_EMAIL_DISABLED=1" in result.stderr


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({"EMAIL_HOST": "smtp.example.fr"}, "django.core.mail.backends.smtp.EmailBackend"),
        ({"PARVIS_EMAIL_DISABLED": "1"}, "django.core.mail.backends.dummy.EmailBackend"),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
            "django.core.mail.backends.console.EmailBackend",
        ),
    ],
)
def test_production_starts_with_a_relay_or_mail_explicitly_chosen(env, backend):
    result = start({"DEBUG": "0", **env})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["email"] == backend


def test_admins_are_read_from_the_environment():
    result = start(
        {
            "PARVIS_EMAIL_DISABLED": "1",
            "ADMINS": "Équipe Exploitation <exploitation@example.fr>, dsi@example.fr",
        }
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["admins"] == [
        ["Équipe Exploitation", "exploitation@example.fr"],
        ["dsi@example.fr", "dsi@example.fr"],
    ]


def test_a_malformed_admin_address_stops_start_up():
    result = start({"PARVIS_EMAIL_DISABLED": "1", "ADMINS": "Exploitation <exploitation>"})
    assert result.returncode != 0
    assert "ADMINS contient « Exploitation <exploitation> »" in result.stderr


def test_json_logs_are_chosen_by_parvis_log_format():
    result = start({"PARVIS_EMAIL_DISABLED": "1", "PARVIS_LOG_FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["formatter"] == "JsonFormatter"
    result = start({"PARVIS_EMAIL_DISABLED": "1", "PARVIS_LOG_FORMAT": "xml"})
    assert "PARVIS_LOG_FORMAT vaut « xml »" in result.stderr


LOG_IN_A_REQUEST = (
    "import django, logging; django.setup(); from django.http import HttpResponse; "
    "from django.test import RequestFactory; from parvis.logs import RequestIdMiddleware\n"
    "def view(request):\n"
    "    logging.getLogger('parvis.billing').warning('Relance %s envoyée', 'R-7')\n"
    "    return HttpResponse()\n"
    "RequestIdMiddleware(view)(RequestFactory().get('/', HTTP_X_REQUEST_ID='req-0123456789'))\n"
    "logging.getLogger('parvis.billing').warning('hors requête')\n"
)


def test_json_log_lines_carry_the_request_id_through_the_settings_logging():
    result = start({"PARVIS_EMAIL_DISABLED": "1", "PARVIS_LOG_FORMAT": "json"}, LOG_IN_A_REQUEST)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["message"], line["request_id"]) for line in lines] == [
        ("Relance R-7 envoyée", "req-0123456789"),
        ("hors requête", "-"),
    ]
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "parvis.billing"


def test_text_log_lines_carry_the_request_id_too():
    result = start({"PARVIS_EMAIL_DISABLED": "1"}, LOG_IN_A_REQUEST)
    assert result.returncode == 0, result.stderr
    first, second = result.stderr.splitlines()
    assert first.endswith("WARNING parvis.billing [req-0123456789] Relance R-7 envoyée")
    assert second.endswith("WARNING parvis.billing [-] hors requête")


def test_sentry_starts_only_with_a_dsn():
    code = (
        "import json, django; django.setup(); import sentry_sdk; "
        "client = sentry_sdk.get_client(); "
        "print(json.dumps({'active': client.is_active(), 'dsn': client.dsn, "
        "'pii': client.options['send_default_pii'], "
        "'body': client.options['max_request_body_size'], "
        "'locals': client.options['include_local_variables']}))"
    )
    result = start({"PARVIS_EMAIL_DISABLED": "1"}, code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["active"] is False
    dsn = "https://abc123@errors.example.fr/4"
    result = start({"PARVIS_EMAIL_DISABLED": "1", "SENTRY_DSN": dsn}, code)
    assert result.returncode == 0, result.stderr
    # Neither the request's body (families' forms) nor the frames' variables leave.
    assert json.loads(result.stdout) == {
        "active": True,
        "dsn": dsn,
        "pii": False,
        "body": "never",
        "locals": False,
    }


@pytest.mark.parametrize("rate", ["beaucoup", "1.5", "-0.1"])
def test_a_bad_sentry_sample_rate_stops_start_up(rate):
    result = start(
        {
            "PARVIS_EMAIL_DISABLED": "1",
            "SENTRY_DSN": "https://abc123@errors.example.fr/4",
            "SENTRY_TRACES_SAMPLE_RATE": rate,
        }
    )
    assert result.returncode != 0
    assert "SENTRY_TRACES_SAMPLE_RATE doit être un nombre entre 0 et 1" in result.stderr


def test_a_short_status_token_stops_start_up():
    result = start({"PARVIS_EMAIL_DISABLED": "1", "PARVIS_STATUS_TOKEN": "abc"})
    assert result.returncode != 0
    assert "PARVIS_STATUS_TOKEN ne compte que 3 caractères" in result.stderr


# --- /healthz and the operator's report ----------------------------------------------------------


@pytest.mark.django_db
def test_healthz_stays_cheap(client):
    client.get("/healthz")  # the first request may open the connection
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert [query["sql"] for query in queries.captured_queries] == ["SELECT 1"]


@pytest.fixture
def status_token(settings):
    settings.PARVIS_STATUS_TOKEN = TOKEN
    return TOKEN


@pytest.mark.django_db
def test_the_status_report_is_404_without_the_token(client, status_token):
    assert client.get("/healthz/status").status_code == 404
    wrong = {"Authorization": "Bearer " + "x" * len(TOKEN)}
    assert client.get("/healthz/status", headers=wrong).status_code == 404
    agent = User.objects.create_user(username="agent", password="x", is_staff=True)
    client.force_login(agent)
    assert client.get("/healthz/status").status_code == 404


@pytest.mark.django_db
def test_the_status_report_is_404_to_everyone_when_no_token_is_set(client, settings):
    settings.PARVIS_STATUS_TOKEN = ""
    assert client.get("/healthz/status", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/healthz/status", headers={"X-Parvis-Status-Token": ""}).status_code == 404


@pytest.mark.django_db
def test_the_status_report_answers_the_token_or_a_superuser(client, status_token):
    response = client.get("/healthz/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    report = response.json()
    assert report["status"] == "ok"
    assert report["database"]["status"] == "ok"
    assert report["database"]["latency_ms"] >= 0
    assert set(report["storage"]) == set(storages.backends) - {"staticfiles"}
    assert all(storage["status"] == "ok" for storage in report["storage"].values())
    assert report["task_queue"]["status"] == "ok"
    assert report["email"] == {
        "status": "ok",
        "queued": 0,
        "sent": 0,
        "failed": 0,
        "oldest_queued_age_s": None,
    }
    assert report["periodic_jobs"] == {
        "status": "ok",
        "jobs": dict.fromkeys(health.PERIODIC_COMMANDS),  # none ran yet
    }
    assert client.get("/healthz/status", headers={"X-Parvis-Status-Token": TOKEN}).json()[
        "status"
    ] == ("ok")

    client.force_login(User.objects.create_superuser(username="operateur", password="x"))
    assert client.get("/healthz/status").status_code == 200


@pytest.mark.django_db
def test_the_storage_probe_leaves_no_file(status_token, client):
    storage = storages["default"]
    client.get("/healthz/status", headers={"Authorization": f"Bearer {TOKEN}"})
    if storage.exists("parvis-status"):
        assert storage.listdir("parvis-status")[1] == []


@pytest.mark.django_db
def test_a_storage_that_fails_makes_the_report_503(client, status_token):
    with mock.patch.object(
        type(storages["default"]), "save", side_effect=PermissionError("lecture seule")
    ):
        response = client.get("/healthz/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "error"
    assert report["storage"]["default"] == {
        "backend": report["storage"]["default"]["backend"],
        "status": "error",
        "error": "PermissionError",
    }
    assert report["database"]["status"] == "ok"


@pytest.mark.django_db
def test_a_database_that_does_not_answer_makes_the_report_503(client, status_token):
    with mock.patch("parvis.health.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.json()["database"] == {"status": "error", "error": "OperationalError"}


@pytest.mark.django_db
def test_a_server_error_is_mailed_to_the_admins(client, settings, status_token):
    settings.ADMINS = [("Exploitation", "exploitation@example.fr")]
    client.raise_request_exception = False
    with mock.patch("parvis.health.report", side_effect=RuntimeError("panne du contrôle")):
        response = client.get("/healthz/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 500
    assert [message.to for message in mail.outbox] == [["exploitation@example.fr"]]
    assert "RuntimeError at /healthz/status\npanne du contrôle" in mail.outbox[0].body
    assert "/healthz/status" in mail.outbox[0].subject
    # Django's report hides the credentials (the monitoring's token, the settings' secrets).
    assert TOKEN not in mail.outbox[0].body


@pytest.mark.django_db
def test_the_task_queue_reports_the_age_of_its_oldest_waiting_task(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    now = timezone.now()
    assert health.check_task_queue(now) == {
        "status": "ok",
        "backend": "django_tasks_db.DatabaseBackend",
        "waiting": 0,
        "oldest_waiting_age_s": None,
        "failed": 0,
        "stale_running": 0,
    }

    def queued(age_s: int, status: str = "READY", run_after=None):
        row = DBTaskResult.objects.create(
            task_path="parvis.tasks.nothing",
            args_kwargs={"args": [], "kwargs": {}},
            queue_name="default",
            backend_name="default",
            status=status,
            run_after=run_after or now - timedelta(seconds=age_s),
        )
        DBTaskResult.objects.filter(pk=row.pk).update(enqueued_at=now - timedelta(seconds=age_s))

    queued(90)
    queued(600)
    queued(5000, status="SUCCESSFUL")  # done: not waiting
    queued(7000, status="FAILED")
    queued(9000, run_after=now + timedelta(hours=1))  # not due yet: not late
    result = health.check_task_queue(now)
    assert result["waiting"] == 2
    assert result["oldest_waiting_age_s"] == 600
    assert result["failed"] == 1


def ran(job: str, status: str, minutes_ago: int, summary: str = "") -> PeriodicRun:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return PeriodicRun.objects.create(
        job=job,
        host="noeud-a",
        started_at=started,
        finished_at=started + timedelta(seconds=3),
        status=status,
        summary=summary,
    )


@pytest.mark.django_db
def test_the_report_gives_the_last_run_of_each_periodic_job():
    ran("purge_attempts", "failed", minutes_ago=60 * 24)
    last = ran("purge_attempts", "succeeded", minutes_ago=10, summary="12 tentatives supprimées")
    ran("expire_offers", "succeeded", minutes_ago=3)
    result = health.periodic_runs()
    assert result["status"] == "ok"
    assert result["jobs"]["purge_attempts"] == {
        "status": "succeeded",
        "host": "noeud-a",
        "started_at": last.started_at.isoformat(timespec="seconds"),
        "finished_at": last.finished_at.isoformat(timespec="seconds"),
        "summary": "12 tentatives supprimées",
    }
    assert result["jobs"]["expire_offers"]["status"] == "succeeded"
    assert result["jobs"]["run_invoicing"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_a_periodic_job_whose_last_run_failed_makes_the_report_503(client, status_token, status):
    ran("run_invoicing", "succeeded", minutes_ago=60 * 24 * 30)
    ran("run_invoicing", status, minutes_ago=5, summary="Régie sans tarif : RSEJ")
    response = client.get("/healthz/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    report = response.json()
    assert report["periodic_jobs"]["status"] == "error"
    assert report["periodic_jobs"]["jobs"]["run_invoicing"]["status"] == status
    assert report["database"]["status"] == "ok"


@pytest.mark.django_db
def test_the_report_counts_the_emails_waiting_and_failed():
    now = timezone.now()

    def email(status: str, minutes_ago: int) -> None:
        row = OutgoingEmail.objects.create(
            to=["famille@example.fr"], subject="Facture", status=status
        )
        OutgoingEmail.objects.filter(pk=row.pk).update(
            created_at=now - timedelta(minutes=minutes_ago)
        )

    email("queued", 2)
    email("queued", 45)
    email("sent", 300)
    email("failed", 900)
    assert health.check_email_queue(now) == {
        "status": "ok",
        "queued": 2,
        "sent": 1,
        "failed": 1,
        "oldest_queued_age_s": 45 * 60,
    }
