"""Clientele settings: everything comes from environment variables, with safe development defaults.

Development (the default) runs on a SQLite file with Celery tasks executed eagerly in-process, so a newcomer needs
no service at all. ``PRODUCTION=true`` switches to a strict mode that refuses to start on an unsafe configuration.
"""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# --------------------------------------------------------------------------------------------------------------------
# Mode and secrets (https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/)
# --------------------------------------------------------------------------------------------------------------------
PRODUCTION = env.bool("PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
_DEV_SECRET_KEY = "django-insecure-clientele-development-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else _DEV_SECRET_KEY)
_DEV_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else _DEV_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("PRODUCTION=true forbids DEBUG=true.")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("PRODUCTION=true needs SECRET_KEY: at least 50 random characters.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("PRODUCTION=true needs ALLOWED_HOSTS (comma-separated host names).")

# Keyed hashing of identifiers (suppression list, pseudonymised analytics). Separate from SECRET_KEY so that
# rotating the session key does not forget who was erased.
PSEUDONYMISATION_KEY = env.str("PSEUDONYMISATION_KEY", default="" if PRODUCTION else SECRET_KEY)
if PRODUCTION and len(PSEUDONYMISATION_KEY) < 32:
    raise ImproperlyConfigured("PRODUCTION=true needs PSEUDONYMISATION_KEY: at least 32 random characters.")

# --------------------------------------------------------------------------------------------------------------------
# Applications
# --------------------------------------------------------------------------------------------------------------------
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
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "consent",
    "cdp",
    "segments",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below whitenoise: static files keep their long cache; every answer of Django is no-store (personal data).
    "cdp.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The product's 404 and 500 pages under DEBUG too; below authentication, so the page knows who is signed in.
    "cdp.middleware.ErrorPagesMiddleware",
    "cdp.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: answers a locked-out login attempt (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cdp.urls"
WSGI_APPLICATION = "cdp.wsgi.application"

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
            ],
        },
    },
]

# --------------------------------------------------------------------------------------------------------------------
# Database (https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url)
# --------------------------------------------------------------------------------------------------------------------
# An empty DATABASE_URL means the default, like an unset one.
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while an import writes; IMMEDIATE avoids "database is locked" upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------------------------------------------------
# Authentication and roles
# --------------------------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Argon2id first (OWASP's advice for password storage); older hashes are upgraded at their user's next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# A working day, and never beyond the browser's session: staff sessions read personal data.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that
# pair is locked out for LOGIN_LOCKOUT_MINUTES (the site's login and the admin's alike); a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cdp.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "cdp.middleware.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password"]
# Behind a proxy, the client's address is the one the trusted proxies (counted from the server) put in
# X-Forwarded-For; 0 (the default) reads the connection's address alone, which a client cannot forge.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --------------------------------------------------------------------------------------------------------------------
# Internationalisation
# --------------------------------------------------------------------------------------------------------------------
# The retailer's language (the demo retailer is French, like its time zone, currency and phone region); a browser that
# asks for English, or a user who picks it, reads the product in English.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="fr")
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True
# One date format and one date-and-time format per language (cdp/formats/<language>/formats.py), Django's for the rest.
FORMAT_MODULE_PATH = ["cdp.formats"]

# --------------------------------------------------------------------------------------------------------------------
# Static and media files (https://whitenoise.readthedocs.io/)
# --------------------------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --------------------------------------------------------------------------------------------------------------------
# Security: strict in production (manage.py check --deploy passes with no warning)
# --------------------------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): the product loads nothing from elsewhere and runs no inline script or style,
# so the policy allows this site's own files and nothing else (images may be inline data: the admin's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # Behind a TLS-terminating proxy the redirect is the proxy's job; the check only needs to know it is handled.
    SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# --------------------------------------------------------------------------------------------------------------------
# REST API (https://www.django-rest-framework.org/api-guide/settings/, https://drf-spectacular.readthedocs.io/)
# --------------------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: a request without credentials is answered 401 with `WWW-Authenticate: Token` (the first class
    # names the challenge); a signed-in browser's session is read next.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "cdp.api.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "cdp.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clientele API",
    "DESCRIPTION": "Consent-first customer data platform: profiles, ingestion, segments, scores, campaigns, GDPR.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.campaign.Campaign.Status",
        "BriefStatusEnum": "campaigns.models.briefs.Brief.Status",
    },
}

# --------------------------------------------------------------------------------------------------------------------
# Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html)
# --------------------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = (
    env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "") or None
)
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=24 * 3600)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3900)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers log through LOGGING above (its redaction included) instead of replacing the root logger's handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ROUTES = {
    "cdp.tasks.ingest_*": {"queue": "ingest"},
    "segments.tasks.*": {"queue": "ml"},
    "campaigns.tasks.*": {"queue": "ml"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Periodic work run by `celery beat` (one entry per task, added by the app that owns it).
CELERY_BEAT_SCHEDULE: dict = {
    # Data-subject requests due within five days: the DPOs are warned once per due date (consent.tasks).
    "dsr-warn-due": {"task": "consent.tasks.dsr_warn_due_task", "schedule": 6 * 3600},
    # New and changed customers join the active segmentation's segments (segments.tasks, `ml` queue).
    "segment-assign": {"task": "segments.tasks.segment_assign_task", "schedule": 24 * 3600},
    # The active models' scores, refreshed on today's features at 02:30 (segments.tasks, `ml` queue).
    "scores-refresh": {"task": "segments.tasks.scores_refresh_task", "schedule": crontab(hour=2, minute=30)},
    # Expired sales briefs lose their leads (campaigns.tasks).
    "brief-purge-expired": {"task": "campaigns.tasks.brief_purge_expired_task", "schedule": 6 * 3600},
    # Portability archives never downloaded are removed after a week (consent.tasks).
    "subject-export-purge": {"task": "consent.tasks.subject_export_purge_task", "schedule": 24 * 3600},
    # Retention periods of the purposes, applied every night at 03:30 (consent.services.retention).
    "retention-apply": {"task": "consent.tasks.retention_apply_task", "schedule": crontab(hour=3, minute=30)},
}

# --------------------------------------------------------------------------------------------------------------------
# Product settings
# --------------------------------------------------------------------------------------------------------------------
CLIENTELE_CURRENCY = env.str("CLIENTELE_CURRENCY", default="EUR")
CLIENTELE_PHONE_REGION = env.str("CLIENTELE_PHONE_REGION", default="FR")
IDENTITY_AUTO_MERGE_PROBABILITY = env.float("IDENTITY_AUTO_MERGE_PROBABILITY", default=0.97)  # cdp.identity
IDENTITY_REVIEW_PROBABILITY = env.float("IDENTITY_REVIEW_PROBABILITY", default=0.5)  # below: kept apart
# The customer's preference page (consent.services.preferences): the links put in e-mail footers are absolute when
# the base URL is set (the public address of this site) and expire after the given number of days.
# Unset (development), a link made on a page (e-mailed or printed by staff) is built on the address the page was asked
# on, whatever the host and port; links made without a request (e-mail footers) are then relative.
PREFERENCE_LINK_BASE_URL = env.str("PREFERENCE_LINK_BASE_URL", default="")
if PRODUCTION and not PREFERENCE_LINK_BASE_URL.startswith("https://"):
    # A link in an e-mail footer must reach the public site, over TLS: it carries the key to the customer's choices.
    raise ImproperlyConfigured("PRODUCTION=true needs PREFERENCE_LINK_BASE_URL: the site's public https:// address.")
PREFERENCE_LINK_MAX_AGE_DAYS = env.int("PREFERENCE_LINK_MAX_AGE_DAYS", default=90)
# Outgoing e-mail (preference links to customers, deadline warnings to the DPOs): EMAIL_URL as django-environ reads it
# (smtp+tls://user:password@host:587). In development the messages are printed on the console instead.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25" if PRODUCTION else "consolemail://")
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Clientele <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The model whose rows are the data subjects (consent.registry: consent names it here, never by an import).
PERSONAL_DATA_SUBJECT_MODEL = "cdp.Customer"
# Row history (django-simple-history); cdp.db writes history rows in bulk and honours it as simple-history does.
SIMPLE_HISTORY_ENABLED = env.bool("SIMPLE_HISTORY_ENABLED", default=True)
# Retention (consent.services.retention): rows deleted per statement, and customers anonymised per nightly run.
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=5000)
RETENTION_MAX_SUBJECTS_PER_RUN = env.int("RETENTION_MAX_SUBJECTS_PER_RUN", default=10000)
# The ingest API's request bodies: MAX_RECORDS (10,000) records of up to 2 KB each on average (demo receipt lines
# weigh 0.3 KB); every other request keeps Django's 2.5 MB (DATA_UPLOAD_MAX_MEMORY_SIZE). A proxy in front must let
# bodies this large through (nginx: client_max_body_size).
INGEST_MAX_REQUEST_BYTES = env.int("INGEST_MAX_REQUEST_BYTES", default=20 * 1024 * 1024)
# A receipt-line import at least this big, into tables holding fewer lines than it brings, drops the indexes of
# receipts and lines (the lines' primary key too) and builds them again after its inserts (the tables are locked
# meanwhile).
INGEST_BULK_LOAD_MIN_LINES = env.int("INGEST_BULK_LOAD_MIN_LINES", default=200_000)
# Memory DuckDB may use while it reads a receipt-line file for PostgreSQL (beyond it, it spills to a temporary
# folder): the import's whole process stays under a gigabyte with the default.
INGEST_SCAN_MEMORY = env.str("INGEST_SCAN_MEMORY", default="256MB")
# Memory DuckDB may use while it computes a feature snapshot (it spills to disk beyond).
FEATURES_MEMORY = env.str("FEATURES_MEMORY", default="1GB")
# Segmentation alerts: a run whose refits on resamples (or whose agreement with the active segmentation) fall below
# this adjusted Rand index, and segment sizes drifting from those at freeze past this Jensen-Shannon distance.
SEGMENT_STABILITY_MIN_ARI = env.float("SEGMENT_STABILITY_MIN_ARI", default=0.6)
SEGMENT_DRIFT_MAX_JS = env.float("SEGMENT_DRIFT_MAX_JS", default=0.1)
# Scores (segments.services.scoring). A model is fitted only when the data can support it (Klaviyo asks the same):
# at least SCORES_MIN_BUYERS customers who bought, SCORES_MIN_HISTORY_DAYS of history and a purchase within the
# last SCORES_RECENT_ORDER_DAYS before the as-of date; lifetime value also needs SCORES_MIN_REPEAT_BUYERS customers
# who bought on two days or more. Models are fitted on a sample of SCORES_FIT_SAMPLE customers at most, and scores
# written SCORES_BATCH_SIZE at a time.
SCORES_MIN_BUYERS = env.int("SCORES_MIN_BUYERS", default=500)
SCORES_MIN_HISTORY_DAYS = env.int("SCORES_MIN_HISTORY_DAYS", default=180)
SCORES_RECENT_ORDER_DAYS = env.int("SCORES_RECENT_ORDER_DAYS", default=30)
SCORES_MIN_REPEAT_BUYERS = env.int("SCORES_MIN_REPEAT_BUYERS", default=100)
SCORES_FIT_SAMPLE = env.int("SCORES_FIT_SAMPLE", default=50_000)
SCORES_BATCH_SIZE = env.int("SCORES_BATCH_SIZE", default=5000)
# Threads the models fit and predict with. One by default: on a machine whose cores are busy, OpenMP's waiting
# threads made a small gradient-boosting fit six times slower (67 s against 11 s measured on 750 customers).
SCORES_THREADS = env.int("SCORES_THREADS", default=1)
# Churn: "horizon" = no purchase in the CHURN_HORIZON_DAYS after the date; "interval" = no purchase within
# CHURN_INTERVAL_MULTIPLIER times the customer's own usual interval (at least CHURN_MIN_DAYS, at most the horizon).
CHURN_DEFINITION = env.str("CHURN_DEFINITION", default="horizon")
CHURN_HORIZON_DAYS = env.int("CHURN_HORIZON_DAYS", default=90)
CHURN_INTERVAL_MULTIPLIER = env.float("CHURN_INTERVAL_MULTIPLIER", default=2.0)
CHURN_MIN_DAYS = env.int("CHURN_MIN_DAYS", default=30)
# Churn bands: a probability at or above MEDIUM is "medium", at or above HIGH "high", else "low".
CHURN_BAND_MEDIUM = env.float("CHURN_BAND_MEDIUM", default=0.4)
CHURN_BAND_HIGH = env.float("CHURN_BAND_HIGH", default=0.7)
# Purchase propensity over the next PROPENSITY_HORIZON_DAYS; lifetime value over CLV_HORIZON_DAYS, discounted.
PROPENSITY_HORIZON_DAYS = env.int("PROPENSITY_HORIZON_DAYS", default=30)
# Response to an offer, learnt from the latest OFFER_RESPONSE_CAMPAIGNS campaigns with a control group: estimated
# when each group (offered, control) holds OFFER_RESPONSE_MIN_GROUP customers; OFFER_RESPONSE_C is the logistic
# regression's inverse regularisation (segments.services.offers).
OFFER_RESPONSE_CAMPAIGNS = env.int("OFFER_RESPONSE_CAMPAIGNS", default=5)
OFFER_RESPONSE_MIN_GROUP = env.int("OFFER_RESPONSE_MIN_GROUP", default=100)
OFFER_RESPONSE_C = env.float("OFFER_RESPONSE_C", default=0.3)
CLV_HORIZON_DAYS = env.int("CLV_HORIZON_DAYS", default=365)
CLV_ANNUAL_DISCOUNT_RATE = env.float("CLV_ANNUAL_DISCOUNT_RATE", default=0.10)

# --- Campaigns and sales briefs (campaigns) ---------------------------------------------------------------------
# Contact pressure: a customer is contacted by at most CAMPAIGN_CONTACT_MAX campaigns per CAMPAIGN_CONTACT_PERIOD_DAYS.
CAMPAIGN_CONTACT_MAX = env.int("CAMPAIGN_CONTACT_MAX", default=2)
CAMPAIGN_CONTACT_PERIOD_DAYS = env.int("CAMPAIGN_CONTACT_PERIOD_DAYS", default=30)
# A stored brief expires (its leads are deleted) this many days after it was generated.
BRIEF_EXPIRY_DAYS = env.int("BRIEF_EXPIRY_DAYS", default=30)
# Uplift: a group (treatment or control, per segment or arm) smaller than this is shown as inconclusive.
UPLIFT_MIN_GROUP = env.int("UPLIFT_MIN_GROUP", default=100)
# The retailer's name on the briefs' PDF (empty: the processing register's controller).
CLIENTELE_RETAILER_NAME = env.str("CLIENTELE_RETAILER_NAME", default="")

# --------------------------------------------------------------------------------------------------------------------
# Logging: no personal data is ever logged, only ids and counts; paths lose their query strings and tokens
# (cdp.logs.RedactFilter on every handler, runserver's access lines included; gunicorn.conf.py for gunicorn's).
# --------------------------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "cdp.logs.RedactFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers (its console one in DEBUG, mail to ADMINS) give way to the redacting ones above.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "axes.apps": {"level": "WARNING"},  # its start-up line, in every process and command
    },
}
