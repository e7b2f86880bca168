"""Settings for the test suite: production settings (DEBUG off) with a test key, plain HTTP and a
fast password hasher."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 40)

from parvis.settings import *  # noqa: F403

# Tests and the browser journeys talk plain HTTP to a local server.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PARVIS_BASE_URL = "http://testserver"
PARVIS_PAYMENT_SIMULATOR = True
# Background tasks run at once, in the test's process (tests of the database backend and of
# `db_worker` override this).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

import tempfile  # noqa: E402

PRIVATE_MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="parvis-private-"))  # noqa: F405

# SQLite: a test database in a file, not in memory, so that threads (concurrent bookings) each
# get their own connection and wait on the database lock as in production (an in-memory shared
# cache answers « table is locked » at once instead).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.mkdtemp(prefix="parvis-db-")) / "test.sqlite3")  # noqa: F405
    }
