"""The demo FranceConnect provider is a development convenience: off in production (DEBUG alone
does not turn it on), on with PARVIS_DEVELOPMENT, like the payment simulator. The provider itself
refuses to start outside development."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.PARVIS_FRANCECONNECT_DEMO, s.PARVIS_FRANCECONNECT_DEMO_URL)"
)
CLEARED = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "PARVIS_DEVELOPMENT",
    "ALLOWED_HOSTS",
    "PARVIS_FRANCECONNECT_DEMO",
    "PARVIS_FRANCECONNECT_DEMO_URL",
    "PARVIS_EMAIL_DISABLED",
    "EMAIL_HOST",
    "EMAIL_BACKEND",
}


def run(args: list[str], **overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(
        DJANGO_SETTINGS_MODULE="parvis.settings",
        PARVIS_VAR_DIR=str(Path(tempfile.gettempdir()) / "parvis-settings-test"),
        **overrides,
    )
    return subprocess.run(  # noqa: S603 — our own interpreter and code
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_demo_provider_is_off_in_production():
    result = run(
        ["-c", SHOW],
        DEBUG="1",
        SECRET_KEY="k" * 50,
        ALLOWED_HOSTS="mairie.example",
        PARVIS_EMAIL_DISABLED="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


def test_the_demo_provider_is_on_in_development():
    result = run(["-c", SHOW], PARVIS_DEVELOPMENT="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "http://127.0.0.1:8765/api/v2"]


def test_the_provider_does_not_start_outside_development():
    result = run(["-m", "parvis.accounts.franceconnect_provider", "--port", "0"])
    assert result.returncode != 0
    assert "ne démarre qu'en développement" in result.stderr
