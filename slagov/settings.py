"""
slagov settings: one file, driven by environment variables.

Nothing set means the embedded default: SQLite under ./var, Celery tasks run
in-process, e-mail printed to the console. Set DATABASE_URL, REDIS_URL and
EMAIL_URL to run on PostgreSQL, Redis (broker and cache) and SMTP.

Every variable is parsed strictly: a value that can't be read raises
ImproperlyConfigured at start-up instead of silently falling back.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE as CSP_NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_PERIODS = {"second", "minute", "hour", "day"}


def env_rate(name: str, default: str) -> str:
    """A request rate as DRF reads it: `<count>/<second|minute|hour|day>`, count at least 1."""
    value = os.environ.get(name, default).strip()
    count, _, period = value.partition("/")
    if not (count.isascii() and count.isdigit() and int(count) >= 1 and period in _RATE_PERIODS):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: "
            "use <count>/<second|minute|hour|day>, e.g. 600/minute."
        )
    return value


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {sorted(choices)}.")
    return value


# Data that belongs to this installation (SQLite file, generated secret key,
# uploaded files) lives under VAR_DIR, which is git-ignored.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return key
    # Embedded default: a random key generated once per installation, never
    # committed. Production sets SECRET_KEY explicitly.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} must start with http:// or https://.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "simple_history",
    "axes",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "slagov",
    "contracts",
    "metrics",
    "reviews",
    "escalations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers compressed when the client accepts it; below WhiteNoise,
    # which serves its own pre-compressed static files. Django (>= 4.2) pads
    # compressed answers at random against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "slagov.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # A member whose organisation requires two-factor sign-in enrols before anything else.
    "slagov.accounts.RequireMfaMiddleware",
    "slagov.tenancy.AdminScopeMiddleware",
    # Last, because it calls the view itself inside the tenant's scope.
    "slagov.tenancy.TenantMiddleware",
]

ROOT_URLCONF = "slagov.urls"
WSGI_APPLICATION = "slagov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "slagov.context_processors.tenant",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Database -----------------------------------------------------------------
_database_url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'slagov.sqlite3'}")
_db = environ.Env.db_url_config(_database_url)
if _db["ENGINE"] not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {urlsplit(_database_url).scheme!r} is not supported: "
        "use postgres:// (production) or sqlite:// (embedded default)."
    )
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # WAL and IMMEDIATE transactions let the dev server, an in-process task
        # and a test's live server write without "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file (not :memory:) so that processes started by the tests can share it.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    _db["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker -----------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in {"redis", "rediss"}:
    raise ImproperlyConfigured(f"REDIS_URL={REDIS_URL!r} must start with redis:// or rediss://.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "slagov"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TIME_ZONE = env_str("TIME_ZONE", "UTC")  # also the beat schedule's

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"  # a host: kombu warns without one
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE  # "07:00" in beat is 07:00 where the site is
# No lost work: a task is acknowledged only when it has finished, and is
# redelivered if its worker dies; tasks are written to be re-run safely.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers unacknowledged messages after the visibility timeout; every
# time limit stays well below it so a slow task is never run twice at once.
# A broker that doesn't answer fails an enqueue within seconds (the work it asked
# for is recorded and swept up: slagov.work), instead of hanging a request.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 3}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
# Follow-up work and outbox e-mails claimed by a worker that then died are taken up
# again this long after the claim (slagov.work, escalations.notify).
WORK_LEASE_SECONDS = env_int("WORK_LEASE_SECONDS", 300, minimum=5)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- E-mail ---------------------------------------------------------------------
_email = environ.Env.email_url_config(env_str("EMAIL_URL", "consolemail://"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "slagov <slagov@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Auth -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # A username or an e-mail address, with the password (django-allauth; a ModelBackend).
    "allauth.account.auth_backends.AuthenticationBackend",
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
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Accounts (django-allauth): sign in with a username or an e-mail address; no sign-up
# (people join by invitation: slagov.members); password reset and e-mail change by a
# link sent to the address, saying nothing about which addresses have an account;
# two-factor sign-in with an authenticator app (TOTP) and recovery codes; a person sees
# and ends their own sessions. Sign-in failures are django-axes' to count (below), so
# allauth's own sign-in limits are off; its limits on sending mail stay on.
ACCOUNT_ADAPTER = "slagov.accounts.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[slagov] "
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None}
ACCOUNT_EMAIL_NOTIFICATIONS = True
MFA_ADAPTER = "slagov.accounts.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# Security keys (WebAuthn) need an https origin; on a development server at
# http://localhost they work with this on (never in production).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_TOTP_ISSUER = "slagov"
# A code typed as its 30 s window turns over is still good (the one before and after).
MFA_TOTP_TOLERANCE = 1
USERSESSIONS_TRACK_ACTIVITY = False
# Brute-force protection: lock a username+IP pair after repeated failures, and an
# address after many failures across usernames (one address trying a few
# passwords against every account); see slagov.lockout.
AXES_HANDLER = "slagov.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "slagov.lockout.client_ip"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 8, minimum=1)
AXES_IP_FAILURE_LIMIT = env_int("AXES_IP_FAILURE_LIMIT", 30, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The sign-in form's "login" (a username or an address) is the name a lock counts.
AXES_USERNAME_CALLABLE = "slagov.lockout.username_of"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Served over HTTPS only: redirect plain HTTP and tell browsers to stay on HTTPS.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The load balancer's and compose's health check call plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)

# Content-Security-Policy (django-csp). Every script is a static file (htmx, Plotly,
# charts.js; figures travel as JSON in <script type="application/json">), so scripts
# need neither 'unsafe-inline' nor 'unsafe-eval'; a page that must inline one (Swagger
# UI's start-up script) uses the per-request nonce. Styles allow inline: the templates,
# Plotly and htmx set style attributes and <style> elements, which can't run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", CSP_NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # Redoc (/api/v1/redoc/) searches in a worker it starts from a blob.
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- I18N / time ------------------------------------------------------------------
LANGUAGE_CODE = "en"
FORMAT_MODULE_PATH = ["slagov.formats"]  # dates as "9 Dec 2026" (see slagov.formatting)
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ------------------------------------------------------
# Uploads are capped at 10 MB by the app with a clear message; let the request through.
DATA_UPLOAD_MAX_MEMORY_SIZE = 11 * 1024 * 1024
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
# Production (the Docker image) runs collectstatic and serves hashed,
# compressed files; development and tests serve straight from the finders.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", False)
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: uploads are read through views

# --- API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "slagov.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "slagov.renderers.TenantBrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "slagov.schema.ApiSchema",
    # Filters read ids and numbers as ASCII digits only (slagov/filters.py).
    "DEFAULT_FILTER_BACKENDS": ["slagov.filters.StrictFilterBackend"],
    # `limit` at most 1,000 (slagov.pagination.MAX_PAGE).
    "DEFAULT_PAGINATION_CLASS": "slagov.pagination.CappedPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per API token, in the cache (Redis in production); signed-in pages aren't
    # throttled here. Writes are uploads, confirmations and edits.
    "DEFAULT_THROTTLE_CLASSES": [
        "slagov.throttling.TokenReadThrottle",
        "slagov.throttling.TokenWriteThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token_read": env_rate("API_THROTTLE_READ", "1200/minute"),
        "token_write": env_rate("API_THROTTLE_WRITE", "120/minute"),
    },
}
# A request holding an Idempotency-Key is given this long to finish (gunicorn
# kills a worker after 30 s); past it the key's owner is taken for dead and a
# retry with the key is processed afresh instead of answering 409 for ever.
IDEMPOTENCY_IN_FLIGHT_SECONDS = env_int("IDEMPOTENCY_IN_FLIGHT_SECONDS", 300, minimum=60)
SPECTACULAR_SETTINGS = {
    "TITLE": "slagov API",
    "DESCRIPTION": (
        "Vendor SLA governance. Every path is scoped to one organisation "
        "(`/api/v1/o/{org_slug}/…`); a vendor's token sees only that vendor's contracts. "
        "Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1/o/\{org_slug\}",
    # Separate request and response components: a file is binary in a request,
    # read-only fields aren't asked for.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "slagov.schema.blank_or_format_as_any_of",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReadingSourceEnum": "metrics.models.readings.Reading.Source",
        "SubmissionSourceEnum": "metrics.models.submissions.Submission.Source",
        "ServiceLevelKindEnum": "contracts.models.ServiceLevel.Kind",
        "EscalationKindEnum": "escalations.models.Escalation.Kind",
        "EscalationEventKindEnum": "escalations.models.EscalationEvent.Kind",
        "SubmissionStateEnum": "metrics.models.submissions.Submission.State",
        "EscalationStateEnum": "escalations.models.Escalation.State",
        "EscalationStepStateEnum": "escalations.models.EscalationStep.State",
        "SideEnum": "reviews.models.Side",
        "ReviewKindEnum": "reviews.models.Review.Kind",
        "ReviewStateEnum": "reviews.models.Review.State",
    },
}

# --- Logging ----------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        # The PDF library logs every step and font at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # In-process tasks (the embedded default): no line per task; a worker keeps them.
        **({"celery.app.trace": {"level": "WARNING"}} if CELERY_TASK_ALWAYS_EAGER else {}),
    },
}
