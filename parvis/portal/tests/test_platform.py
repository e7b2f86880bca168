"""Settings, health check, development outbox and demo data."""

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django.forms.models import model_to_dict
from django.test import override_settings

from parvis.accounts.models import AgentRole, User
from parvis.communes import demo
from parvis.communes.models import Actualite, Closure, Commune, OpeningRange, Service
from parvis.families.models import (
    AuthorisedPerson,
    Document,
    DocumentEvent,
    Famille,
    FamilyAccess,
    Personne,
    QuotientFamilial,
    RequiredDocument,
    ServiceKey,
)

ROOT = Path(__file__).resolve().parents[3]
SHOW_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'cookie': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE, "
    "'hsts': s.SECURE_HSTS_SECONDS, 'ssl': s.SECURE_SSL_REDIRECT, "
    "'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'], "
    "'engine': s.DATABASES['default']['ENGINE'], 'email': s.EMAIL_BACKEND, "
    "'tasks': s.TASKS['default']['BACKEND']}))"
)


def start(env_overrides: dict[str, str], code: str = SHOW_SETTINGS):
    cleared = {
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "PARVIS_TASKS",
        "PARVIS_DEVELOPMENT",
        "ALLOWED_HOSTS",
        "EMAIL_HOST",
        "EMAIL_BACKEND",
        "PARVIS_EMAIL_DISABLED",
    }
    env = {k: v for k, v in os.environ.items() if k not in cleared}
    env.update(
        DJANGO_SETTINGS_MODULE="parvis.settings",
        PARVIS_VAR_DIR=str(Path(tempfile.gettempdir()) / "parvis-settings-test"),
    )
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603 — our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("secret", [None, "", "change-me", "parvis-development-only-insecure-key"])
def test_production_refuses_to_start_without_a_real_secret_key(secret):
    env = {"DEBUG": "0"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    result = start(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY est absente ou vaut une valeur par défaut" in result.stderr


def test_production_settings_are_secure_by_default():
    result = start({"DEBUG": "0", "SECRET_KEY": "x" * 50, "EMAIL_HOST": "smtp.example.fr"})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["cookie"] is True and values["csrf"] is True
    assert values["hsts"] >= 31536000
    assert values["ssl"] is True
    assert values["csp"] == ["'self'"]
    assert values["engine"] == "django.db.backends.sqlite3"
    # PDFs are e-mailed by `manage.py db_worker`, off the request.
    assert values["tasks"] == "django_tasks_db.DatabaseBackend"


def test_development_runs_without_a_key_and_keeps_emails_in_the_outbox():
    result = start({"PARVIS_DEVELOPMENT": "1", "DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["cookie"] is False
    assert values["email"] == "parvis.mail.OutboxBackend"
    # No worker to start on a newcomer's machine: background work runs at once.
    assert values["tasks"] == "django_tasks.backends.immediate.ImmediateBackend"


def test_the_task_backend_is_chosen_by_parvis_tasks():
    result = start({"PARVIS_DEVELOPMENT": "1", "DEBUG": "1", "PARVIS_TASKS": "database"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tasks"] == "django_tasks_db.DatabaseBackend"
    result = start({"PARVIS_DEVELOPMENT": "1", "DEBUG": "1", "PARVIS_TASKS": "celery"})
    assert result.returncode != 0
    assert "PARVIS_TASKS vaut « celery » : les valeurs possibles sont" in result.stderr


def test_database_url_selects_postgresql():
    result = start(
        {"PARVIS_DEVELOPMENT": "1", "DATABASE_URL": "postgres://u@db.example:5432/parvis"}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["engine"] == "django.db.backends.postgresql"


def test_deployment_checks_pass_in_production():
    result = start(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "portail.example.fr",
            "EMAIL_HOST": "smtp.example.fr",
        },
        code="import django, sys; django.setup(); from django.core.management import "
        "call_command; call_command('check', '--deploy', '--fail-level', 'WARNING')",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_does_not_answer(client):
    with mock.patch("parvis.portal.views.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.fixture
def outbox_dir(tmp_path, settings):
    settings.EMAIL_BACKEND = "parvis.mail.OutboxBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    return settings.OUTBOX_DIR


@pytest.mark.django_db
def test_development_outbox_keeps_and_lists_sent_emails(client, outbox_dir):
    link = "http://127.0.0.1:8000/carrieres-sous-poissy/confirmer/abc123/"
    mail.send_mail(
        "Confirmez votre adresse", f"Bonjour,\n\nCliquez : {link}", None, ["marie@example.fr"]
    )
    assert len(list(outbox_dir.glob("*.eml"))) == 1
    with override_settings(PARVIS_DEVELOPMENT=True):
        listing = client.get("/_dev/outbox/")
        assert listing.status_code == 200
        assert "Confirmez votre adresse" in listing.content.decode()
        key = listing.context["messages_sent"][0].key
        detail = client.get(f"/_dev/outbox/{key}/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "marie@example.fr" in body
    assert f'<a href="{link}"' in body  # the confirmation link is clickable


@pytest.mark.django_db
@override_settings(PARVIS_DEVELOPMENT=False, DEBUG=True)
def test_development_outbox_does_not_exist_in_production(client, outbox_dir):
    # DEBUG alone (a deployment started with DEBUG=1 by mistake) does not open it.
    mail.send_mail("Secret", "Corps", None, ["marie@example.fr"])
    key = next(outbox_dir.glob("*.eml")).stem
    assert client.get("/_dev/outbox/").status_code == 404
    assert client.get(f"/_dev/outbox/{key}/").status_code == 404


@pytest.mark.django_db
def test_development_outbox_reads_only_its_own_files(client, outbox_dir, tmp_path):
    (tmp_path / "secret.eml").write_text("Subject: secret\n\nne pas lire")
    with override_settings(PARVIS_DEVELOPMENT=True):
        for key in ("..%2Fsecret", "../secret", "nope"):
            assert client.get(f"/_dev/outbox/{key}/").status_code == 404


def snapshot():
    rows = {}
    for model in (
        Commune, Service, OpeningRange, Closure, Actualite, Famille, Personne, AuthorisedPerson,
        ServiceKey, FamilyAccess, AgentRole, Document, DocumentEvent, RequiredDocument,
        QuotientFamilial,
    ):  # fmt: skip
        rows[model.__name__] = sorted(
            (obj.pk, sorted(model_to_dict(obj).items(), key=str)) for obj in model.objects.all()
        )
    rows["User"] = sorted(
        (u.pk, u.username, u.commune_id, u.is_staff, u.is_superuser, u.password, u.email,
         u.family_code, u.must_choose_password, u.previous_login, u.last_login,
         u.email_confirmed_at, sorted(u.groups.values_list("name", flat=True)))
        for u in User.objects.all()
    )  # fmt: skip
    return rows


@pytest.mark.django_db
def test_demo_data_is_idempotent(capsys):
    call_command("load_demo")
    first = snapshot()
    call_command("load_demo")
    assert snapshot() == first
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/carrieres-sous-poissy/" in out
    assert "parvis-demo-2026" in out and "admin-carrieres-sous-poissy" in out


@pytest.mark.django_db
def test_demo_communes_follow_the_seeds():
    communes = {c.slug: c for c in demo.load()}
    csp, css = communes["carrieres-sous-poissy"], communes["carrieres-sur-seine"]
    assert (csp.name, csp.phone) == ("Carrières-sous-Poissy", "01 39 22 36 00")
    assert "1, place Saint-Blaise" in csp.address
    assert csp.login_with_email and not csp.login_with_family_code
    assert css.name == "Carrières-sur-Seine"
    assert css.login_with_family_code and not css.login_with_email
    assert set(csp.service_set.values_list("name", flat=True)) == {
        "Affaires scolaires",
        "Accueils périscolaires et de loisirs",
        "État-civil",
        "Régie centrale",
    }
    assert User.objects.get(username="operateur").is_superuser
    assert User.objects.get(username="admin-carrieres-sous-poissy").commune == csp
    assert User.objects.get(username="admin-carrieres-sous-poissy").check_password(
        demo.DEMO_PASSWORD
    )


def test_the_benchmark_command_prints_its_figures():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["DJANGO_SETTINGS_MODULE"] = "parvis.settings_test"
    result = subprocess.run(
        [sys.executable, "manage.py", "bench", "--families", "4", "--requests", "2",
         "--invoicing", "3,6"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    figures = dict(line.split(": ", 1) for line in lines if ": " in line)
    runs = [line for line in lines if line.startswith("invoicing_run_s: ")]
    assert [line.rsplit("families: ", 1)[1] for line in runs] == ["3", "6"]
    invoices = [line for line in lines if line.startswith("invoicing_invoices: ")]
    assert invoices == ["invoicing_invoices: 3 families: 3", "invoicing_invoices: 6 families: 6"]
    assert figures["invoicing_linearity_ratio"].endswith("(6 vs 3 families)")
    assert float(figures["invoice_pdf_per_s"].split()[0]) > 0
    assert figures["families"] == "4"
    assert figures["trivial_page_queries"] == "1"
    for page in ("commune_home", "mon_accueil", "guichet_family_file"):
        assert figures[f"{page}_ms_p50"].endswith(" ms")
        assert int(figures[f"{page}_queries"]) > 0
    # The household grid's default view: its weight and its CPU (issue 18 §4).
    assert float(figures["calendar_household_default_kb"].split()[0]) > 0
    assert float(figures["calendar_household_default_cpu_ms_p50"].split()[0]) > 0
