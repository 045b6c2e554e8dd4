"""Kaiku's one settings module.

Every knob is a `KAIKU_*` environment variable read by the typed helpers in
`kaiku.lib.env`, which fail loudly on a bad value. The defaults make `make run`
work on a laptop: SQLite under ./var, debug on, emails printed to the console.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from kaiku.lib.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("KAIKU_DATA_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("KAIKU_DEBUG", True)
SITE_URL = env_url("KAIKU_SITE_URL", "http://127.0.0.1:8000")

_DEV_SECRET = "django-insecure-kaiku-development-only-never-use-in-production"  # noqa: S105
SECRET_KEY = env_secret("KAIKU_SECRET_KEY", _DEV_SECRET if DEBUG else "")
ALLOWED_HOSTS = env_list(
    "KAIKU_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
if not DEBUG:
    # Production must be configured on purpose: a guessable key forges sessions
    # and signed links, and an empty host list would answer every request 400.
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "KAIKU_SECRET_KEY (at least 32 characters) is required when KAIKU_DEBUG=false"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("KAIKU_ALLOWED_HOSTS is required when KAIKU_DEBUG=false")

CSRF_TRUSTED_ORIGINS = env_list("KAIKU_CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "kaiku.lib",
    "kaiku.accounts",
    "kaiku.contacts",
    "kaiku.surveys",
    "kaiku.responses",
    "kaiku.insights",
    "kaiku.themes",
    "kaiku.demo",
    "ninja",  # serves the API docs' Swagger UI from our static files, not a CDN
    "kaiku.api",
    "kaiku.delighted",
    "kaiku.webhooks",
    "kaiku.transfer",
    "kaiku.loop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (views may add hashes).
    "kaiku.lib.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A NUL character in a parameter is a 400 here, not a 500 from PostgreSQL later.
    "kaiku.lib.nul.RefuseNulCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees a view's exception first: database connection errors → 503.
    "kaiku.lib.middleware.DatabaseUnavailableMiddleware",
]

# Routes no logged-in user reaches get shorter stacks (kaiku.lib.handlers): without the
# session, authentication, CSRF, messages and static-file middleware, since nothing there is
# authorised by a cookie (docs/security.md). First matching path prefix wins.
_COOKIE_MIDDLEWARE = {
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
}
_COOKIELESS = [m for m in MIDDLEWARE if m not in _COOKIE_MIDDLEWARE]
MIDDLEWARE_BY_PREFIX: list[tuple[tuple[str, ...], list[str]]] = [
    # Respondent pages and the widget choose the respondent's language themselves.
    (
        ("/r/", "/s/", "/k/", "/widget/"),
        [m for m in _COOKIELESS if m != "django.middleware.locale.LocaleMiddleware"],
    ),
    # The APIs' messages follow Accept-Language, read as LocaleMiddleware reads it
    # without its URL-prefix work (kaiku/lib/language.py).
    (
        ("/api/", "/delighted/"),
        [
            "kaiku.lib.language.AcceptLanguageMiddleware"
            if m == "django.middleware.locale.LocaleMiddleware"
            else m
            for m in _COOKIELESS
        ],
    ),
]

ROOT_URLCONF = "kaiku.urls"
WSGI_APPLICATION = "kaiku.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------
_DEFAULT_DB_URL = f"sqlite:///{DATA_DIR / 'kaiku.sqlite3'}"
DATABASE_URL = env_str("KAIKU_DATABASE_URL", _DEFAULT_DB_URL)


def _database(url: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"KAIKU_DATABASE_URL is not a database URL: {exc}") from None
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        config["ENGINE"] = "kaiku.lib.sqlite"  # writers take turns (kaiku/lib/sqlite/base.py)
        if config["NAME"] != ":memory:":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets the web process read while the worker writes; IMMEDIATE
        # transactions take the write lock up front so concurrent writers wait
        # (busy timeout) instead of failing with "database is locked".
        # Kept open like PostgreSQL's: closing the last connection to a WAL
        # database checkpoints and fsyncs, which made every request cost ~17 ms.
        config["CONN_MAX_AGE"] = env_int("KAIKU_DB_CONN_MAX_AGE", 60, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
            ),
        }
    elif engine == "django.db.backends.postgresql":
        # Timestamps parsed by psycopg's C loader (kaiku/lib/postgresql/base.py).
        config["ENGINE"] = "kaiku.lib.postgresql"
        config["CONN_MAX_AGE"] = env_int("KAIKU_DB_CONN_MAX_AGE", 60, minimum=0)
        config["CONN_HEALTH_CHECKS"] = True
        if env_bool("KAIKU_DB_PREPARED_STATEMENTS", True):
            # The answer path's constant statements, prepared once per connection;
            # the ORM stays on client-side binding (kaiku/lib/postgresql/base.py).
            config.setdefault("OPTIONS", {})["prepare_threshold"] = 5
    else:
        raise ImproperlyConfigured(
            f"KAIKU_DATABASE_URL: only sqlite:// and postgres:// are supported, got {engine}"
        )
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background jobs (django-tasks, database queue by default) -----------------
RQ_TASKS_BACKEND = "django_tasks_rq.RQBackend"
TASKS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": env_choice(
            "KAIKU_TASKS_BACKEND",
            "django_tasks_db.DatabaseBackend",
            [
                "django_tasks_db.DatabaseBackend",
                "django_tasks.backends.immediate.ImmediateBackend",
                RQ_TASKS_BACKEND,
            ],
        ),
    }
}
if TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
    # The same queue, with an enqueue that does not compile its INSERT on every
    # answer (kaiku/lib/tasks.py).
    TASKS["default"]["BACKEND"] = "kaiku.lib.tasks.DatabaseBackend"
if TASKS["default"]["BACKEND"] == RQ_TASKS_BACKEND:
    # Optional, for large installs (pip install -r requirements-redis.txt): jobs
    # wait in Redis and run in `kaiku rqworker --job-class django_tasks_rq.Job
    # default`; periodic jobs need `kaiku worker --periodic-only` (docs/sending.md).
    from importlib.util import find_spec

    if not env_str("KAIKU_REDIS_URL", ""):
        raise ImproperlyConfigured(f"KAIKU_TASKS_BACKEND={RQ_TASKS_BACKEND} needs KAIKU_REDIS_URL")
    if find_spec("django_tasks_rq") is None:
        raise ImproperlyConfigured(
            f"KAIKU_TASKS_BACKEND={RQ_TASKS_BACKEND} needs: pip install -r requirements-redis.txt"
        )
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    RQ_QUEUES = {"default": {"URL": env_str("KAIKU_REDIS_URL", ""), "DEFAULT_TIMEOUT": 600}}

# --- Cache and rate limits (kaiku.lib.ratelimit) ---------------------------------
# The database cache needs no extra service (its table is created by a
# migration); Redis counts atomically and spares the database on busy installs.
REDIS_URL = env_str("KAIKU_REDIS_URL", "")
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "kaiku_cache",
            # Django's default of 300 rows would cull live rate-limit counters.
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    )
}
# Rate-limit counters (kaiku.lib.ratelimit): the kaiku_rate_counter table (one
# UPSERT per hit), or Redis when configured ("cache", Django's cache, is for tests).
RATE_LIMIT_STORE = "redis" if REDIS_URL else "database"
# Requests per minute to the public respondent pages (0 turns a limit off).
RATE_LIMIT_IP_PER_MINUTE = env_int("KAIKU_RATE_LIMIT_IP_PER_MINUTE", 60, minimum=0)
RATE_LIMIT_SURVEY_PER_MINUTE = env_int("KAIKU_RATE_LIMIT_SURVEY_PER_MINUTE", 600, minimum=0)
# Reverse proxies in front of Kaiku that append to X-Forwarded-For; without
# this, every client behind a proxy shares the proxy's address and its limit.
PROXY_COUNT = env_int("KAIKU_PROXY_COUNT", 0, minimum=0, maximum=5)

# --- Accounts -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins allowed per client address and per account email in 15 minutes;
# past it the login form answers 429 with a wait message (0 turns it off).
LOGIN_RATE_LIMIT = env_int("KAIKU_LOGIN_RATE_LIMIT", 10, minimum=0)
# How long a teammate invitation link stays valid.
TEAM_INVITATION_DAYS = env_int("KAIKU_TEAM_INVITATION_DAYS", 7, minimum=1, maximum=90)

# --- REST API ------------------------------------------------------------------------
# Requests per minute per API key (0 turns the limit off); over it, 429 + Retry-After.
API_RATE_LIMIT_PER_MINUTE = env_int("KAIKU_API_RATE_LIMIT_PER_MINUTE", 600, minimum=0)

# --- Import, export and GDPR (kaiku.transfer) ------------------------------------------
# Response property names that identify a person, on top of the built-in list
# (kaiku/transfer/privacy.py): erase and retention remove them from answers.
GDPR_IDENTIFYING_PROPERTIES = env_list("KAIKU_GDPR_IDENTIFYING_PROPERTIES", [])
# Largest file the import page accepts, in megabytes (the CLI has no limit).
IMPORT_MAX_UPLOAD_MB = env_int("KAIKU_IMPORT_MAX_UPLOAD_MB", 200, minimum=1, maximum=10_000)

# --- Webhooks (kaiku.webhooks) ---------------------------------------------------------
# Outbound webhooks refuse loopback, private, link-local, reserved and multicast
# addresses (checked on every resolved address, again at each send) so that a
# workspace admin cannot make Kaiku probe its own network. True only for
# receivers on the same private network (and in tests).
WEBHOOKS_ALLOW_PRIVATE = env_bool("KAIKU_WEBHOOKS_ALLOW_PRIVATE", False)
# Whole-request deadline of one delivery attempt (connect, send, answer).
WEBHOOK_TIMEOUT_SECONDS = env_int("KAIKU_WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1, maximum=30)

# --- Follow-up cases (kaiku.loop) -----------------------------------------------------
# An overdue case gets one reminder to its assignee at its due time, then one
# escalation to the owners and admins this many hours later.
LOOP_ESCALATION_HOURS = env_int("KAIKU_LOOP_ESCALATION_HOURS", 24, minimum=1, maximum=24 * 30)
# Local hour (workspace time zone) from which the daily digests and the daily
# significant-drop checks go out.
LOOP_DAILY_HOUR = env_int("KAIKU_LOOP_DAILY_HOUR", 7, minimum=0, maximum=23)

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = env_choice("KAIKU_LANGUAGE_CODE", "en", ["en", "fi", "et"])
LANGUAGES = [("en", _("English")), ("fi", _("Finnish")), ("et", _("Estonian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # storage and server time; each workspace has its own display zone

# --- Static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise warns at every start when the folder is missing (before collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Project-wide assets (app.css, respondent page CSS/JS, the widget) live in
# kaiku/static; apps' own static folders are found as usual.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ----------------------------------------------------------------------------
EMAIL_HOST = env_str("KAIKU_EMAIL_HOST", "")
EMAIL_PORT = env_int("KAIKU_EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("KAIKU_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_secret("KAIKU_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("KAIKU_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("KAIKU_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("KAIKU_EMAIL_TIMEOUT", 10, minimum=1, maximum=300)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("KAIKU_EMAIL_USE_TLS and KAIKU_EMAIL_USE_SSL are exclusive")
DEFAULT_FROM_EMAIL = env_str("KAIKU_EMAIL_FROM", "Kaiku <kaiku@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The mailbox of List-Unsubscribe's mailto (as <mailbox>+<token>@…); empty means
# unsubscribe@ the From address's domain. The mail server pipes it into
# `kaiku unsubscribe-mail` (docs/sending.md); the https one-click link needs nothing.
EMAIL_UNSUBSCRIBE_ADDRESS = env_str("KAIKU_EMAIL_UNSUBSCRIBE", "")
# Without an SMTP host, emails are printed to the console of the process that
# sends them, so a laptop install never tries to reach a mail server.
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

# --- Security ---------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("KAIKU_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KAIKU_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_SSL_REDIRECT = env_bool("KAIKU_SSL_REDIRECT", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Load balancers probe the health check over plain HTTP, behind the proxy's TLS.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging ------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "KAIKU_LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
        ),
    },
}
