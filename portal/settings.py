"""Settings for Home Care Companion: one module, driven by the environment.

Every variable is documented in README.md. A fresh clone runs with none set:
DEBUG on, SQLite under var/, email printed to the console.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (for container secrets)."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return os.environ.get(name) or None


def local_secret_key() -> str:
    """A key generated once and kept under var/, so local sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret("SECRET_KEY") or (local_secret_key() if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # portal first, so its templates override allauth's.
    "portal",
    "education",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # allauth's passkey list loads {% load humanize %}.
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

# A form with an out-of-date token is answered in words, in the reader's language.
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A kept guide page for an anonymous reader, sent again before all that follows.
    "education.pagecache.PublicPageMiddleware",
    # Outside gzip, so a kept page is kept compressed, and outside everything that reads the
    # session or user: a kept page is sent from here.
    "portal.keep.KeptPageMiddleware",
    # Inside WhiteNoise, which serves its own pre-compressed files; Django's gzip pads each
    # response against BREACH, and the session cookie is SameSite, so pages are compressed.
    "django.middleware.gzip.GZipMiddleware",
    # Inside gzip, so the ETag is of the plain page (gzip then marks it weak).
    "portal.middleware.ConditionalGetMiddleware",
    "portal.middleware.SessionMiddleware",
    # Authentication before locale: a signed-in user's saved language wins.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.StaffSessionMiddleware",
    "portal.middleware.StaffMFAMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "portal.middleware.ReaderMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.navigation.context",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# SQLite under var/ unless DATABASE_URL names another database (PostgreSQL in production).

if os.environ.get("DATABASE_URL"):
    # Persistent connections in production: a new PostgreSQL connection per request costs
    # more than most pages. Checked before reuse, so a restarted database is no error.
    DATABASES = {
        "default": dj_database_url.config(
            conn_max_age=env_int("DB_CONN_MAX_AGE", 0 if DEBUG else 600),
            conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # The web server and the reminder worker write at the same time.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }

# --- Cache ------------------------------------------------------------------
# Rate limits, lockouts and used authenticator codes must be seen by every process of every
# machine: the database cache by default (its table is made by a migration), Redis for a
# larger site (CACHE_URL=redis://host:6379/0, with the redis package installed).

if (CACHE_URL := os.environ.get("CACHE_URL", "")).startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// address, not {CACHE_URL!r}")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            # Culling would forget used authenticator codes and lockouts: keep plenty.
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }

# Rewritten whenever the clinical review of a translation changes, so every process drops
# the public guide pages it kept in memory (education/pagecache.py). Several machines: point
# it at storage they share.
GUIDE_STAMP_FILE = Path(os.environ.get("GUIDE_STAMP_FILE", VAR_DIR / "guide-stamp"))

# --- Accounts ---------------------------------------------------------------

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
# Signup is closed (invitations only), but allauth shows the password field on the
# sign-in form only when signup has one: staff sign in with a password.
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, stated here so they are visible and tunable.
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "request_login_code": "20/m/ip,3/m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
MFA_ADAPTER = "portal.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# No sign-in by passkey alone: staff start with their password (portal/adapters.py), and
# patients and caregivers sign in with an emailed code. A passkey is a staff second factor.
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = "Home Care Companion"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 7)
# Clinic staff and site operators: signed out after this long without a request, and after
# the absolute lifetime whatever they do (patients and caregivers keep SESSION_COOKIE_AGE).
STAFF_IDLE_SECONDS = env_int("STAFF_IDLE_SECONDS", 15 * 60)
STAFF_SESSION_MAX_SECONDS = env_int("STAFF_SESSION_MAX_SECONDS", 10 * 3600)
# Signed-in pages kept whole in each web process while nothing on them changed (portal/keep.py):
# at most this many (0 keeps none), each at most this many seconds behind the clock.
READER_PAGES_KEPT = env_int("READER_PAGES_KEPT", 1000)
READER_PAGE_KEEP_SECONDS = env_int("READER_PAGE_KEEP_SECONDS", 30)

# --- Email ------------------------------------------------------------------
# The console locally; SMTP when EMAIL_HOST is set.

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Home Care Companion <care@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": env_int("EMAIL_PORT", 587),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": env_secret("EMAIL_HOST_PASSWORD") or "",
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": env_int("EMAIL_TIMEOUT", 20),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# The outbox (portal/outbox.py): emails are rows, sent by the sendreminders worker.
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 10)
# First retry after this many seconds, doubling each time (10 attempts span about 8 hours).
EMAIL_RETRY_SECONDS = env_int("EMAIL_RETRY_SECONDS", 30)
EMAIL_LEASE_SECONDS = env_int("EMAIL_LEASE_SECONDS", 120)
EMAIL_BATCH_SIZE = env_int("EMAIL_BATCH_SIZE", 50)
# How often an idle worker looks for a new email (a sign-in code someone is waiting for).
EMAIL_POLL_SECONDS = env_int("EMAIL_POLL_SECONDS", 1)
# Finished rows (who, when, how it went; never the text) are kept this long.
EMAIL_KEEP_DAYS = env_int("EMAIL_KEEP_DAYS", 30)

# --- Reminders --------------------------------------------------------------
# The sendreminders worker (portal/reminders/delivery.py). See README, "Running the reminder worker".

# A reminder more overdue than this is marked missed, never sent late.
REMINDER_MAX_LATENESS_MINUTES = env_int("REMINDER_MAX_LATENESS_MINUTES", 120)
# How long a worker owns the reminders it claimed; a killed worker's claims expire after this.
REMINDER_LEASE_SECONDS = env_int("REMINDER_LEASE_SECONDS", 300)
REMINDER_MAX_ATTEMPTS = env_int("REMINDER_MAX_ATTEMPTS", 5)
# First retry after this many seconds, doubling each time.
REMINDER_RETRY_SECONDS = env_int("REMINDER_RETRY_SECONDS", 60)
REMINDER_BATCH_SIZE = env_int("REMINDER_BATCH_SIZE", 500)
# Emails in flight at once per worker (one SMTP connection each).
REMINDER_THREADS = env_int("REMINDER_THREADS", 32)
# Pushes in flight at once per worker, on its push loop (one kept-alive connection each). A push
# service answers in ~100 ms, so this caps a worker at about ten times as many pushes a second:
# 128 held two workers under the 3,000 a second a morning rush needs (BENCHMARKS.md).
REMINDER_PUSHES_AT_ONCE = env_int("REMINDER_PUSHES_AT_ONCE", 512)
# Emails and pushes a worker keeps in memory for reminders it has claimed (a morning rush); beyond
# this, they are put off in the database and claimed again later.
REMINDER_HELD_SENDS = env_int("REMINDER_HELD_SENDS", 50000)
REMINDER_IDLE_SECONDS = env_int("REMINDER_IDLE_SECONDS", 5)
# Patients re-planned per transaction when a clinic's settings change (portal/reminders/clinics.py).
REPLAN_BATCH_SIZE = env_int("REPLAN_BATCH_SIZE", 25)
# Web push (VAPID). Without VAPID_PRIVATE_KEY a key is generated once into var/vapid_private_key.
VAPID_PRIVATE_KEY = env_secret("VAPID_PRIVATE_KEY")
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:care@localhost")
PUSH_TIMEOUT_SECONDS = env_int("PUSH_TIMEOUT_SECONDS", 10)
# Accept http push endpoints on loopback (local development and tests only).
PUSH_ALLOW_INSECURE_ENDPOINTS = env_bool("PUSH_ALLOW_INSECURE_ENDPOINTS", DEBUG)

# --- Internationalization ---------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("de", _("German")),
    ("it", _("Italian")),
    ("pt-br", _("Brazilian Portuguese")),
    ("zh-hans", _("Simplified Chinese")),
    ("ar", _("Arabic")),
]
LANGUAGES_BIDI = ["ar"]
# Kept for a year: the language a visitor chose before they had an account.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LOCALE_PATHS = [BASE_DIR / "locale"]
# Formats Django's locales lack (portal/formats/: Arabic's date with time).
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static files -----------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security ---------------------------------------------------------------

SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if SESSION_COOKIE_SECURE:
    # __Host-: the browser accepts these cookies only over https, for this host and path /,
    # so a sibling subdomain cannot plant or overwrite them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
# One plain SELECT per request instead of a query built through the ORM (portal/sessions.py).
SESSION_ENGINE = "portal.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Features the app never uses (portal.middleware.SecurityHeadersMiddleware). Passkeys
# (publickey-credentials-*) and notifications are not on the list: they are used.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

# --- API --------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's three, with a JSON parser that answers every unreadable body in words.
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Services' validation errors answer like DRF's: {"field": ["reason"]}.
    "EXCEPTION_HANDLER": "portal.clinic_api.handle_exception",
}
# Requests per API key (clinic systems), counted in the shared cache: "600/minute", "20/second".
CLINIC_API_RATE = os.environ.get("CLINIC_API_RATE", "600/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Home Care Companion API",
    "VERSION": "1",
    "DESCRIPTION": (
        "For clinic systems: patients, treatment courses and visits, education assignments and "
        "reading progress, reminder delivery state. Authenticate with a clinic API key "
        "(Authorization: Bearer hcc_...), made by a clinic admin. Every request is limited to the "
        "key's clinic and recorded in the clinic's audit log. Errors name the field and the reason."
    ),
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": [code for code, _name in LANGUAGES],
        "ReaderEnum": ["patient", "caregiver"],
    },
}

# --- Logging ----------------------------------------------------------------
# Logs carry row ids, never health details (see README, "Patient data").

# Paths may carry secret tokens (calendar feeds, invitations, password resets): every record
# passes portal.logs.RedactSecrets first. Errors are emailed to ADMINS without the
# request's data or local variables.

ADMINS = env_list("ADMINS", [])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "portal.logs.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "mail_admins": {
            "class": "portal.logs.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console", "mail_admins"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Our handlers instead of Django's defaults, so nothing reaches an output unredacted.
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# /healthz reports unhealthy when a due reminder or email has waited longer than this:
# the worker is down or cannot keep up.
HEALTH_MAX_WORKER_LAG_SECONDS = env_int("HEALTH_MAX_WORKER_LAG_SECONDS", 600)
