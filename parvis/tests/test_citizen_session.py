"""Issue 23 §2: a family's session lasts the school day (PARVIS_CITIZEN_SESSION_AGE, 12 h by
default), and the production settings hash passwords with Parvis's Argon2id first — read from
the settings module in a fresh process (the tests' settings change both)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SESSION_COOKIE_AGE, s.PASSWORD_HASHERS[0]]))"
)


def production_settings(**env) -> list:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "PARVIS_CITIZEN_SESSION_AGE")
    }
    environment.update(DJANGO_SETTINGS_MODULE="parvis.settings", PARVIS_DEVELOPMENT="1", **env)
    done = subprocess.run(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", SHOW], cwd=ROOT, env=environment, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_citizens_session_lasts_the_school_day_unless_configured():
    assert production_settings() == [
        12 * 60 * 60,
        "parvis.accounts.hashers.ParvisArgon2PasswordHasher",
    ]
    assert production_settings(PARVIS_CITIZEN_SESSION_AGE="3600")[0] == 3600
