"""Parvis settings, read from the environment.

Sections by topic: core, database, applications, security, internationalisation, files, e-mail.
Every value a deployment changes comes from an environment variable; the defaults are those of a
newcomer's machine (SQLite under var/, e-mails in a local outbox when DEBUG is on).
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PARVIS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core ----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG")

# Only a developer's machine may run on the well-known key; in production a missing or default
# key would let anyone forge sessions and password-reset links, so start-up stops.
DEVELOPMENT_SECRET_KEY = "parvis-development-only-insecure-key"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY or SECRET_KEY in {DEVELOPMENT_SECRET_KEY, "change-me", "changeme", "secret"}:
    if DEBUG:
        SECRET_KEY = DEVELOPMENT_SECRET_KEY
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY est absente ou vaut une valeur par défaut : Parvis refuse de démarrer "
            "avec DEBUG désactivé. Définissez la variable d'environnement SECRET_KEY avec une "
            "valeur longue et aléatoire (par exemple : "
            'python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The public address of the deployment, for the links sent by e-mail.
PARVIS_BASE_URL = os.environ.get(
    "PARVIS_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
)

# The built-in payment simulator (it « pays » without money): on in development and in the
# demo, off in production unless asked for (a commune without a provider then pays at the régie).
PARVIS_PAYMENT_SIMULATOR = env_bool("PARVIS_PAYMENT_SIMULATOR", DEBUG)

# Who hosts this deployment, for the legal notices of every commune (« Hébergement »).
PARVIS_HOSTING = os.environ.get("PARVIS_HOSTING", "")

ROOT_URLCONF = "parvis.urls"
WSGI_APPLICATION = "parvis.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database ------------------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "parvis.sqlite3",
            "OPTIONS": {
                # IMMEDIATE: a write transaction takes the lock at BEGIN, so two concurrent
                # bookings serialise instead of failing on lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

# --- Background work -----------------------------------------------------------------------------

# Django's Tasks API (django-tasks): the PDFs that billing e-mails (a run's invoices, payment
# receipts) are rendered and sent off the request. "database": tasks wait in the database until
# `manage.py db_worker` runs them (production: one worker per core); "immediate": they run at once
# in the process that queued them (development and tests: no worker to start).
PARVIS_TASKS = os.environ.get("PARVIS_TASKS", "immediate" if DEBUG else "database").strip()
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if PARVIS_TASKS not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"PARVIS_TASKS vaut « {PARVIS_TASKS} » : les valeurs possibles sont "
        + " ou ".join(f"« {name} »" for name in _TASK_BACKENDS)
        + "."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[PARVIS_TASKS]}}

# --- Applications --------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # Django's widget templates, for the project's form renderer
    "csp",
    "django_tasks",
    "django_tasks_db",
    "parvis.communes",
    "parvis.accounts",
    "parvis.families",
    "parvis.demarches",
    "parvis.activities",
    "parvis.billing",
    "parvis.payments",
    "parvis.portal",
    "parvis.backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "parvis.portal.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "parvis.communes.middleware.CommuneMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "parvis" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "parvis.communes.context_processors.commune",
                "parvis.portal.context_processors.portal",
                "parvis.portal.context_processors.display",
                "parvis.backoffice.context_processors.guichet",  # after portal: agents' nav
            ],
        },
    }
]

# Every form field is drawn by parvis/templates/forms/field.html ({{ field.as_field_group }}).
FORM_RENDERER = "parvis.forms_renderer.ParvisFormRenderer"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # staff, by username (admin, back office)
    "parvis.accounts.backends.CommuneBackend",  # citizens, by e-mail or code famille
]
PASSWORD_RESET_TIMEOUT = 60 * 60  # reset links expire within the hour
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "parvis",
    }
}

# --- Security ------------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Usually the reverse proxy redirects to HTTPS; Parvis does it too unless told otherwise.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    if env_bool("BEHIND_HTTPS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# HSTS preload is a commitment of the whole domain, the town's decision (SECURE_HSTS_PRELOAD).
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# The same strict policy in development and production: no inline script or style anywhere, so
# a violation shows on a developer's screen before it reaches a town's.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
        "manifest-src": [SELF],
    }
}

# --- Internationalisation ------------------------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Files ---------------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "parvis" / "static"]
WHITENOISE_USE_FINDERS = DEBUG or env_bool("WHITENOISE_USE_FINDERS")

# Public media only (logos, news images). Private documents get their own storage and view.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# Private files (requests' attachments, later the families' documents): outside every public root,
# served only by views that check who asks.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))

# Each family's secure storage (« porte-documents »): 100 MB, ten times the largest file.
FAMILY_DOCUMENTS_QUOTA = int(os.environ.get("PARVIS_FAMILY_DOCUMENTS_QUOTA", 100 * 1024 * 1024))

# The largest image accepted (width × height): 40 megapixels, more than any phone's photo, far
# below what exhausts an agent's browser (a 60,000 × 60,000 px PNG is 14 GB decoded).
UPLOAD_MAX_IMAGE_PIXELS = int(os.environ.get("PARVIS_UPLOAD_MAX_IMAGE_PIXELS", 40_000_000))

FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- E-mail --------------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Parvis <ne-pas-repondre@parvis.local>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
OUTBOX_DIR = VAR_DIR / "outbox"
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
elif DEBUG:
    # A newcomer reads confirmation e-mails on /_dev/outbox/ without a mail server.
    EMAIL_BACKEND = "parvis.mail.OutboxBackend"
else:
    EMAIL_BACKEND = os.environ.get(
        "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
    )

# --- Logging -------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs each step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
    },
}
