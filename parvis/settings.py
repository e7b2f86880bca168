"""Parvis settings, read from the environment.

Sections by topic: core, database, applications, security, internationalisation, files, e-mail.
Every value a deployment changes comes from an environment variable; the defaults are those of a
newcomer's machine (SQLite under var/, e-mails in a local outbox when DEBUG is on).
"""

import ipaddress
import os
import re
from email.utils import parseaddr
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from parvis.storage import local_storages, s3_storages

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PARVIS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def parse_admins(value: str) -> list[tuple[str, str]]:
    """ADMINS="Nom <adresse>, Autre <adresse>" (or bare addresses) as Django's (name, address)
    pairs; a malformed entry stops start-up rather than losing the error reports."""
    admins = []
    for item in value.split(","):
        if not item.strip():
            continue
        name, address = parseaddr(item.strip())
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
            raise ImproperlyConfigured(
                f"ADMINS contient « {item.strip()} », qui n'est pas une adresse e-mail : "
                "écrivez « Nom <adresse@exemple.fr> », séparées par des virgules."
            )
        admins.append((name or address, address))
    return admins


# --- Core ----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG")

# A developer's machine (`make run`): the public development key when none is set, the payment
# simulator, /_dev/outbox/ (password-reset links inside) and cookies without Secure. One explicit
# switch, never DEBUG: a deployment started with DEBUG=1 by mistake opens none of them.
PARVIS_DEVELOPMENT = env_bool("PARVIS_DEVELOPMENT")

# Only a developer's machine may run on the well-known key; in production a missing, default or
# short key would let anyone forge sessions and password-reset links, so start-up stops.
DEVELOPMENT_SECRET_KEY = "parvis-development-only-insecure-key"  # noqa: S105
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY or SECRET_KEY in {DEVELOPMENT_SECRET_KEY, "change-me", "changeme", "secret"}:
    if PARVIS_DEVELOPMENT:
        SECRET_KEY = DEVELOPMENT_SECRET_KEY
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY est absente ou vaut une valeur par défaut : Parvis refuse de démarrer "
            "hors développement (PARVIS_DEVELOPMENT). Définissez la variable d'environnement "
            "SECRET_KEY avec une valeur longue et aléatoire (par exemple : "
            'python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
elif len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH and not PARVIS_DEVELOPMENT:
    raise ImproperlyConfigured(
        f"SECRET_KEY ne compte que {len(SECRET_KEY)} caractères : Parvis refuse de démarrer "
        f"avec une clé de moins de {SECRET_KEY_MIN_LENGTH} caractères. Générez-en une avec "
        'python -c "import secrets; print(secrets.token_urlsafe(50))".'
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if PARVIS_DEVELOPMENT else "")


def is_loopback_host(host: str) -> bool:
    """Whether an ALLOWED_HOSTS entry names this machine only (never a wildcard)."""
    name = host.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# The development conveniences are reachable from this machine only: a public host name (or
# « * ») with them would publish the outbox and accept forged sessions.
if PARVIS_DEVELOPMENT:
    _public = [host for host in ALLOWED_HOSTS if not is_loopback_host(host)]
    if _public:
        raise ImproperlyConfigured(
            "PARVIS_DEVELOPMENT est activé mais ALLOWED_HOSTS contient "
            + ", ".join(f"« {host} »" for host in _public)
            + " : le mode développement n'accepte que les adresses de cette machine "
            "(localhost, 127.0.0.1, [::1]). Retirez PARVIS_DEVELOPMENT en production."
        )

# The reverse proxies in front of Parvis (addresses or networks, comma-separated): only from
# them are X-Forwarded-For (the visitor's address) and X-Forwarded-Proto believed
# (parvis.accounts.network). Empty: Parvis is reached directly, both headers are ignored.
PARVIS_TRUSTED_PROXIES = env_list("PARVIS_TRUSTED_PROXIES")
for _proxy in PARVIS_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"PARVIS_TRUSTED_PROXIES contient « {_proxy} », qui n'est ni une adresse IP ni un "
            "réseau (par exemple 10.0.0.5 ou 10.0.0.0/24) : un nom d'hôte n'est pas accepté."
        ) from None
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The public address of the deployment, for the links sent by e-mail.
PARVIS_BASE_URL = os.environ.get(
    "PARVIS_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
)

# The built-in payment simulator (it « pays » without money): on in development and in the
# demo, off in production unless asked for (a commune without a provider then pays at the régie).
PARVIS_PAYMENT_SIMULATOR = env_bool("PARVIS_PAYMENT_SIMULATOR", PARVIS_DEVELOPMENT)

# FranceConnect: each commune's client (id, secret, platform) is set in the admin. The local demo
# provider (`manage.py franceconnect_demo`, started by `make run`) may be chosen by a commune only
# with PARVIS_FRANCECONNECT_DEMO: on in development and in the demo, off in production.
PARVIS_FRANCECONNECT_DEMO = env_bool("PARVIS_FRANCECONNECT_DEMO", PARVIS_DEVELOPMENT)
PARVIS_FRANCECONNECT_DEMO_URL = os.environ.get(
    "PARVIS_FRANCECONNECT_DEMO_URL", "http://127.0.0.1:8765/api/v2"
)

# API Particulier (a family's CAF/MSA quotient; each commune's token is set in the admin): its
# address, and how long to wait for it (seconds) before the family is told to try later. In
# development, the local server of parvis/families/api_particulier_local.py (`make run`).
PARVIS_API_PARTICULIER_URL = os.environ.get(
    "PARVIS_API_PARTICULIER_URL",
    "http://127.0.0.1:8766" if PARVIS_DEVELOPMENT else "https://particulier.api.gouv.fr",
)
PARVIS_API_PARTICULIER_TIMEOUT = float(os.environ.get("PARVIS_API_PARTICULIER_TIMEOUT", 10))

# Who hosts this deployment, for the legal notices of every commune (« Hébergement »).
PARVIS_HOSTING = os.environ.get("PARVIS_HOSTING", "")

# The monitoring's key to /healthz/status (« Authorization: Bearer … »); without it only a
# superuser's session sees the report. Long, so that it cannot be guessed.
PARVIS_STATUS_TOKEN = os.environ.get("PARVIS_STATUS_TOKEN", "").strip()
if PARVIS_STATUS_TOKEN and len(PARVIS_STATUS_TOKEN) < 32:
    raise ImproperlyConfigured(
        f"PARVIS_STATUS_TOKEN ne compte que {len(PARVIS_STATUS_TOKEN)} caractères : il en faut "
        'au moins 32 (python -c "import secrets; print(secrets.token_urlsafe(32))").'
    )

ROOT_URLCONF = "parvis.urls"
WSGI_APPLICATION = "parvis.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database ------------------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    # A connection kept for this many seconds, then opened again at the next request.
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"],
            conn_max_age=int(os.environ.get("PARVIS_DB_CONN_MAX_AGE", 60)),
        )
    }
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

# The statements written once (parvis.communes.prepared) are prepared on each PostgreSQL
# connection and planned once there; no other statement is. Off behind a pooler that shares a
# server connection between clients per transaction (PgBouncer in transaction mode before 1.22).
PARVIS_DB_PREPARE = env_bool("PARVIS_DB_PREPARE", default=True)
if PARVIS_DB_PREPARE and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Planned once, without the values (the generic plan): PostgreSQL's plans made with the
    # values at each run went wrong at a registration opening, where the days asked lie past
    # the statistics' last day (the grid's bookings read every booking of the month instead of
    # the household's: 12 ms instead of 0.3). Only prepared statements follow this setting.
    _OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})
    _OPTIONS["options"] = f"{_OPTIONS.get('options', '')} -c plan_cache_mode=force_generic_plan"

# --- Background work -----------------------------------------------------------------------------

# Django's Tasks API (django-tasks): the PDFs that billing e-mails (a run's invoices, payment
# receipts) are rendered and sent off the request. "database": tasks wait in the database until
# `manage.py db_worker` runs them (production: one worker per core); "immediate": they run at once
# in the process that queued them (development and tests: no worker to start).
PARVIS_TASKS = os.environ.get("PARVIS_TASKS", "immediate" if DEBUG else "database").strip()

# A periodic job (manage.py run_periodic) that ran less than this many seconds ago is not run
# again: every host's timer starts it at the same second, and the advisory lock alone stops only
# runs that overlap (a job of a few milliseconds is over before the next host has started Django).
# Shorter than the shortest timer (5 minutes); 0 turns it off (the tests, a manual re-run).
PARVIS_PERIODIC_MIN_INTERVAL = int(os.environ.get("PARVIS_PERIODIC_MIN_INTERVAL", 60))
# The administration's (/admin/) login attempts belong to no commune: no commune's retention rule
# removes them; `apply_retention` deletes them after these days (the platform's rule).
PARVIS_ADMIN_ATTEMPTS_DAYS = int(os.environ.get("PARVIS_ADMIN_ATTEMPTS_DAYS", 30))
# Seconds: a task still « running » this long after it started lost its worker (/healthz/status
# reports it; django-tasks-db never marks it failed). Longer than the longest task (a run's PDFs).
PARVIS_TASK_STALE_AFTER = int(os.environ.get("PARVIS_TASK_STALE_AFTER", 3600))
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
    "parvis.background",
    "parvis.communes",
    "parvis.accounts",
    "parvis.families",
    "parvis.demarches",
    "parvis.activities",
    "parvis.billing",
    "parvis.payments",
    "parvis.rgpd",
    "parvis.portal",
    "parvis.backoffice",
]

MIDDLEWARE = [
    # Before all: every log line of the request, whichever middleware writes it, carries its id.
    "parvis.logs.RequestIdMiddleware",
    # HTTPS as a trusted proxy says it, before SecurityMiddleware redirects to it.
    "parvis.accounts.network.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "parvis.portal.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, the settings' policy built once (parvis.portal.middleware).
    "parvis.portal.middleware.SettingsPolicyCSPMiddleware",
    "parvis.communes.middleware.CommuneMiddleware",
    # After the commune's: an agent's expired session sends back to that commune's guichet.
    "parvis.accounts.middleware.AgentSessionMiddleware",
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
# Argon2id at OWASP's minimum, chosen on measures (parvis/accounts/hashers.py); the hashes made
# with Django's default parameters are rewritten at the next login.
PASSWORD_HASHERS = [
    "parvis.accounts.hashers.ParvisArgon2PasswordHasher",
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

# Django's database sessions, read with SQL written once per process (parvis.accounts.sessions).
SESSION_ENGINE = "parvis.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
# Agents' sessions (staff accounts, on shared town-hall computers) end when the browser closes,
# after a working day at most and after half an hour without a request, in seconds
# (parvis.accounts.middleware). Citizens keep SESSION_COOKIE_AGE.
# A family's session lasts the school day (issue 23): at the opening of registrations a family
# that comes back in the afternoon does not log in (and hash a password) again. In seconds.
PARVIS_CITIZEN_SESSION_AGE = int(os.environ.get("PARVIS_CITIZEN_SESSION_AGE", 12 * 60 * 60))
SESSION_COOKIE_AGE = PARVIS_CITIZEN_SESSION_AGE
PARVIS_AGENT_SESSION_MAX_AGE = int(os.environ.get("PARVIS_AGENT_SESSION_MAX_AGE", 8 * 60 * 60))
PARVIS_AGENT_IDLE_TIMEOUT = int(os.environ.get("PARVIS_AGENT_IDLE_TIMEOUT", 30 * 60))
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not PARVIS_DEVELOPMENT:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Usually the reverse proxy redirects to HTTPS; Parvis does it too unless told otherwise.
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone; it counts
    # from PARVIS_TRUSTED_PROXIES only (parvis.accounts.network.TrustedProxyMiddleware).
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
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

# Private files (requests' attachments, the families' documents): outside every public root,
# served only by views that check who asks.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))

# Where those files live (parvis/storage.py): the folders above by default; with
# PARVIS_STORAGE=s3 an S3-compatible bucket (MinIO, Garage, a hosting offer), which every
# application server shares. Objects are private; Parvis serves the public media itself.
PARVIS_STORAGE = os.environ.get("PARVIS_STORAGE", "").strip() or "local"
if PARVIS_STORAGE == "local":
    STORAGES = local_storages()
elif PARVIS_STORAGE == "s3":
    if not os.environ.get("AWS_STORAGE_BUCKET_NAME", "").strip():
        raise ImproperlyConfigured(
            "PARVIS_STORAGE vaut « s3 » mais AWS_STORAGE_BUCKET_NAME est vide : indiquez le "
            "compartiment (bucket) privé où Parvis range les fichiers."
        )
    STORAGES = s3_storages(
        private_bucket=os.environ["AWS_STORAGE_BUCKET_NAME"].strip(),
        public_bucket=os.environ.get("PARVIS_PUBLIC_BUCKET", "").strip(),
        endpoint_url=os.environ.get("AWS_S3_ENDPOINT_URL", "").strip(),
        region_name=os.environ.get("AWS_S3_REGION_NAME", "").strip(),
        access_key=os.environ.get("AWS_ACCESS_KEY_ID", "").strip(),
        secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip(),
        addressing_style=os.environ.get("AWS_S3_ADDRESSING_STYLE", "path").strip(),
        acl=os.environ.get("AWS_DEFAULT_ACL", "private").strip(),
    )
else:
    raise ImproperlyConfigured(
        f"PARVIS_STORAGE vaut « {PARVIS_STORAGE} » : les valeurs possibles sont « local » ou "
        "« s3 »."
    )
# Static files hashed and compressed by collectstatic (WhiteNoise serves them, cached for ever);
# with DEBUG on their names stay plain, so `make run` needs no collectstatic.
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

# Each family's secure storage (« porte-documents »): 100 MB, ten times the largest file.
FAMILY_DOCUMENTS_QUOTA = int(os.environ.get("PARVIS_FAMILY_DOCUMENTS_QUOTA", 100 * 1024 * 1024))

# The largest image accepted (width × height): 40 megapixels, more than any phone's photo, far
# below what exhausts an agent's browser (a 60,000 × 60,000 px PNG is 14 GB decoded).
UPLOAD_MAX_IMAGE_PIXELS = int(os.environ.get("PARVIS_UPLOAD_MAX_IMAGE_PIXELS", 40_000_000))

FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Uploads are stopped while they arrive (parvis.upload_limits), not once stored: a file past
# PARVIS_UPLOAD_MAX_FILE_SIZE, a request's files past PARVIS_UPLOAD_MAX_REQUEST_SIZE together, a
# field's files past PARVIS_UPLOAD_MAX_FILES_PER_FIELD (no field takes several today), a request's
# past PARVIS_UPLOAD_MAX_FILES; the form comes back with a French message next to the field. The
# reverse proxy's body limit (deploy/nginx: client_max_body_size 25m) is this request limit plus
# 1 MB for the form's other fields, so that Parvis, not the proxy, answers a too-large upload.
PARVIS_UPLOAD_MAX_FILE_SIZE = int(os.environ.get("PARVIS_UPLOAD_MAX_FILE_SIZE", 10 * 1024 * 1024))
PARVIS_UPLOAD_MAX_REQUEST_SIZE = int(
    os.environ.get("PARVIS_UPLOAD_MAX_REQUEST_SIZE", 24 * 1024 * 1024)
)
PARVIS_UPLOAD_MAX_FILES_PER_FIELD = int(os.environ.get("PARVIS_UPLOAD_MAX_FILES_PER_FIELD", 1))
PARVIS_UPLOAD_MAX_FILES = int(os.environ.get("PARVIS_UPLOAD_MAX_FILES", 10))
FILE_UPLOAD_HANDLERS = [
    "parvis.upload_limits.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- E-mail --------------------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Parvis <ne-pas-repondre@parvis.local>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
OUTBOX_DIR = VAR_DIR / "outbox"
if os.environ.get("EMAIL_HOST"):
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    # Seconds: a relay that stops answering fails the attempt (retried later, parvis.mail)
    # instead of holding a task worker for ever.
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 30))
# Mail never silently goes nowhere: without a relay, a deployment says what it wants (a backend,
# or no mail at all), else it does not start (a console backend would drop the families' e-mails
# into a log nobody reads).
if env_bool("PARVIS_EMAIL_DISABLED"):
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
elif os.environ.get("EMAIL_BACKEND", "").strip():
    EMAIL_BACKEND = os.environ["EMAIL_BACKEND"].strip()
elif os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif PARVIS_DEVELOPMENT:
    # A newcomer reads confirmation e-mails on /_dev/outbox/ without a mail server.
    EMAIL_BACKEND = "parvis.mail.OutboxBackend"
elif DEBUG:
    # Someone debugging a production-like setup reads the e-mails in the server's output.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    raise ImproperlyConfigured(
        "EMAIL_HOST n'est pas définie : avec DEBUG désactivé, Parvis refuse de démarrer sans "
        "serveur d'envoi, car les e-mails des familles seraient perdus. Définissez EMAIL_HOST "
        "(et EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD), ou EMAIL_BACKEND, ou désactivez "
        "l'envoi explicitement avec PARVIS_EMAIL_DISABLED=1."
    )

# The operator, who receives the server errors (« Nom <adresse>, Autre <adresse> »).
ADMINS = parse_admins(os.environ.get("ADMINS", ""))
# The ERROR lines of parvis.* reach ADMINS too (parvis.logs.ErrorEmailHandler, without personal
# data): at most one e-mail per logger and line per this many seconds, in each process.
PARVIS_ERROR_EMAIL_INTERVAL = int(os.environ.get("PARVIS_ERROR_EMAIL_INTERVAL", 900))

# --- Logging -------------------------------------------------------------------------------------

# Plain lines by default; PARVIS_LOG_FORMAT=json gives one JSON object per line for a log
# collector. Either way each line carries the request id (parvis.logs.RequestIdMiddleware).
PARVIS_LOG_FORMAT = os.environ.get("PARVIS_LOG_FORMAT", "text").strip().lower()
if PARVIS_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(
        f"PARVIS_LOG_FORMAT vaut « {PARVIS_LOG_FORMAT} » : les valeurs possibles sont « text » "
        "ou « json »."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "parvis.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "parvis.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": PARVIS_LOG_FORMAT,
        },
        "error_email": {
            "class": "parvis.logs.ErrorEmailHandler",
            "filters": ["request_id"],
            "level": "ERROR",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs each step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        # Parvis's own ERROR lines also go to ADMINS (besides the console, through the root).
        "parvis": {"handlers": ["error_email"]},
    },
}

# Errors also go to a Sentry-compatible service (Sentry, GlitchTip) when its DSN is set; without
# personal data (no cookies, no user, no body: families' data stays here).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "").strip()
if SENTRY_DSN:
    try:
        import sentry_sdk
    except ImportError as error:
        raise ImproperlyConfigured(
            "SENTRY_DSN est définie mais sentry-sdk n'est pas installé : installez "
            "requirements.lock (il le contient) ou retirez SENTRY_DSN."
        ) from error
    try:
        _traces_sample_rate = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0") or 0)
    except ValueError:
        _traces_sample_rate = -1.0
    if not 0 <= _traces_sample_rate <= 1:
        raise ImproperlyConfigured(
            "SENTRY_TRACES_SAMPLE_RATE doit être un nombre entre 0 et 1 (par exemple 0.05)."
        )
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        send_default_pii=False,
        # Never the request's body (families' forms, passwords under other names than
        # « password ») nor the frames' local variables: sentry-sdk sends both by default, even
        # without personal data.
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=_traces_sample_rate,
    )
