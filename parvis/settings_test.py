"""Settings for the test suite: production settings (DEBUG off) with a test key, plain HTTP and a
fast password hasher."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 40)
# Production settings refuse to start without a mail relay; the tests need none (pytest-django
# swaps in its in-memory backend). Removed again after the import, so that the subprocesses of
# the settings' tests do not inherit it.
_email_disabled_here = "PARVIS_EMAIL_DISABLED" not in os.environ
os.environ.setdefault("PARVIS_EMAIL_DISABLED", "1")

from parvis.settings import *  # noqa: F403, E402

if _email_disabled_here:
    del os.environ["PARVIS_EMAIL_DISABLED"]

# Tests and the browser journeys talk plain HTTP to a local server.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests log in once, then travel days ahead (deadlines at 08:59 on Monday): their sessions keep
# Django's two weeks, not the citizens' school day (PARVIS_CITIZEN_SESSION_AGE).
SESSION_COOKIE_AGE = 14 * 24 * 60 * 60
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PARVIS_BASE_URL = "http://testserver"
PARVIS_PAYMENT_SIMULATOR = True
# Never the real API Particulier from a test: a closed port of the loopback (connection refused at
# once); the tests that need it start the local server (parvis/families/tests/conftest.py).
PARVIS_API_PARTICULIER_URL = "http://127.0.0.1:9"
# The development conveniences read at run time (/_dev/outbox/); the import-time ones (key,
# cookies, simulator) are set above, so the environment of the tests' subprocesses stays clean.
PARVIS_DEVELOPMENT = True
# Background tasks run at once, in the test's process (tests of the database backend and of
# `db_worker` override this).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# One temporary directory per process (each xdist worker, each subprocess imports this), removed
# when the process ends: the private files and the SQLite test database live under it.
TEST_TMP_DIR = Path(tempfile.mkdtemp(prefix="parvis-tests-"))  # noqa: F405
atexit.register(shutil.rmtree, TEST_TMP_DIR, ignore_errors=True)
PRIVATE_MEDIA_ROOT = TEST_TMP_DIR / "private"

# SQLite: a test database in a file, not in memory, so that threads (concurrent bookings) each
# get their own connection and wait on the database lock as in production (an in-memory shared
# cache answers « table is locked » at once instead).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(TEST_TMP_DIR / "test.sqlite3")
    }

# Static files by their plain names: the tests run without collectstatic (the manifest storage
# of production is tested on its own, parvis/tests/test_storage.py).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The tests run a periodic command several times in a row (idempotence); test_periodic.py turns
# the minimum interval back on where it is the subject.
PARVIS_PERIODIC_MIN_INTERVAL = 0
