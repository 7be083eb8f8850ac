"""Settings shared by every environment. Everything that differs between machines comes from the
environment (django-environ); `local`, `test` and `production` only choose defaults."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _
from django_guid.integrations import CeleryIntegration as DjangoGuidCeleryIntegration

from lifemsg.observability import init_sentry
from lifemsg.settings.mail import mail_settings_from_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("LIFEMSG_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# A `.env` in the checkout is read only when asked: the compose `.env` (hosts db, redis) must not leak
# into `make run` or manage.py on the host.
if env.bool("LIFEMSG_READ_DOTENV", default=False) and (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env.str("SECRET_KEY", default="")
# Rotation: the old key here while sessions and signed links made with it expire (docs/operations.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_htmx",
    "django_celery_results",
    "health_check",
    "mozilla_django_oidc",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_guid",
    # ours
    "accounts",
    "audit",
    "mailboxes",
    "eservices",
    "absence",
    "integrations",
    "administration",
    "monitoring",
    "replies",
    "retention_rules",
]

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-csp's, plus the OpenID provider's end-session origin in form-action where logout goes there.
    "accounts.oidc.logout.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "lifemsg.language.SwedishFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lifemsg.cachecontrol.PrivateNoStoreMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "lifemsg.perf.middleware.ResolvedUserMiddleware",
    "lifemsg.observability.LogContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.SessionKindMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lifemsg.urls"
WSGI_APPLICATION = "lifemsg.wsgi.application"

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
                "accounts.context_processors.roles",
            ],
            "libraries": {"lifemsg_text": "lifemsg.templatetags.lifemsg_text"},
        },
    },
]

# Database: DATABASE_URL, or the embedded SQLite default (see local.py).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000;",
    }
elif env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
    # psycopg sends parameters apart from the SQL and prepares a statement a connection has run 5
    # times, so PostgreSQL stops planning it again. Turn off behind a transaction-pooling PgBouncer
    # older than 1.21.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    # Django passes prepare_threshold=None (never prepare) unless it is set: psycopg's default of 5.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
        env.int("DATABASE_PREPARE_THRESHOLD", default=5) or None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading permissions in one query and taking the user the session read
    # brought along (accounts.sessions).
    "accounts.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    # Loads sessions of citizens who logged in with e-ID; authenticates only when called by the citizen
    # OIDC callback view itself (eservices/oidc.py), never for other login flows.
    "eservices.oidc.CitizenOIDCBackend",
    # The labelled test e-ID login (CITIZEN_TEST_LOGIN_ENABLED): authenticates only when called by
    # eservices.eid_testlogin, so axes locks out guessing of personal identity numbers.
    "eservices.eid_testlogin.EidTestLoginBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

# Sessions end after idle time (accounts.middleware.IdleTimeoutMiddleware): staff 30 min by default,
# with a warning before; citizens sooner. Background polling does not count as activity.
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=30 * 60)
CITIZEN_SESSION_IDLE_SECONDS = env.int("CITIZEN_SESSION_IDLE_SECONDS", default=15 * 60)
SESSION_IDLE_WARNING_SECONDS = env.int("SESSION_IDLE_WARNING_SECONDS", default=2 * 60)
# Django's database sessions with the user's id in a column (accounts.UserSession): the session read
# brings the user along (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"

# The fast path (lifemsg/perf: compiled queries, one-statement inserts, the session's user handed to
# the auth backend, the resolved request.user), which leans on Django internals: off, every caller
# takes Django's own ORM path with the same results (an escape hatch for a Django upgrade).
LIFEMSG_FAST_PATH = env.bool("LIFEMSG_FAST_PATH", default=True)
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute upper bound of a session
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
# Attachments live outside every public path and are only served through an access-checked view.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_COUNT = env.int("ATTACHMENT_MAX_COUNT", default=5)
# An office document (a zip container) whose entries together claim more than this unpacked is
# refused without being unpacked (mailboxes/archives.py): a zip bomb, not a letter.
ATTACHMENT_MAX_UNPACKED_BYTES = env.int("ATTACHMENT_MAX_UNPACKED_BYTES", default=100 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# E-mail
# EMAIL_URL's backend and server, as EMAIL_* settings on Django 5.2 or MAILERS on 6.1 (mail.py).
# EMAIL_TIMEOUT: seconds before a mail server that does not answer counts as failed.
vars().update(
    mail_settings_from_url(
        env.email_url("EMAIL_URL", default="consolemail://"), timeout=env.int("EMAIL_TIMEOUT", default=15)
    )
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="lifemsg <no-reply@example.invalid>")
SMS_BACKEND = env.str("SMS_BACKEND", default="eservices.sms.ConsoleSmsBackend")
# The only name a citizen notification carries (never social services, a unit or an e-service).
MUNICIPALITY_NAME = env.str("MUNICIPALITY_NAME", default="Exempelkommun")
# The accessibility statement (/tillganglighet/, lifemsg.accessibility): where feedback reaches a
# person, and the dates of the last accessibility review and of the statement's publication. The
# review date is configuration, not a database row: the municipality sets it when it has reviewed
# the release it runs (the same change that deploys it), so the page never claims a review of a
# version other than the one configured, and a public page needs no write path.
ACCESSIBILITY_CONTACT_EMAIL = env.str("ACCESSIBILITY_CONTACT_EMAIL", default="kontaktcenter@exempelkommun.se")
ACCESSIBILITY_CONTACT_PHONE = env.str("ACCESSIBILITY_CONTACT_PHONE", default="0000-00 00 00")
ACCESSIBILITY_REVIEWED_ON = env.str("ACCESSIBILITY_REVIEWED_ON", default="2026-12-07")  # YYYY-MM-DD
ACCESSIBILITY_PUBLISHED_ON = env.str("ACCESSIBILITY_PUBLISHED_ON", default="2026-11-28")  # YYYY-MM-DD
CITIZEN_PORTAL_URL = env.str("CITIZEN_PORTAL_URL", default="http://127.0.0.1:8000/medborgare/")
# Citizen notifications: the sweep enqueues what a lost task or exhausted retries left unsent, for
# messages up to this old, once they are this many seconds old.
CITIZEN_NOTIFY_SWEEP_HOURS = env.int("CITIZEN_NOTIFY_SWEEP_HOURS", default=24)
CITIZEN_NOTIFY_SWEEP_DELAY_SECONDS = env.int("CITIZEN_NOTIFY_SWEEP_DELAY_SECONDS", default=120)

# Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport (local.py).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection around every task unless this is set: a new
# PostgreSQL connection per task. With it set, lifemsg.celery closes connections as Django does for
# requests (unusable, or older than CONN_MAX_AGE), and Celery itself only every 1,000 tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must never hang on a dead broker: publishing gives up quickly and the sweep routes
# what a lost publish missed.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "absence-tick": {"task": "absence.tick", "schedule": timedelta(seconds=30)},
    "routing-sweep": {
        "task": "absence.sweep",
        "schedule": timedelta(seconds=env.int("ROUTING_SWEEP_INTERVAL_SECONDS", default=60)),
    },
    # Unit managers hear about messages unread too long in their group mailbox (once per message).
    "absence-escalate-group-unread": {
        "task": "absence.escalate_group_unread",
        "schedule": timedelta(minutes=5),
    },
    "citizen-notify-sweep": {"task": "eservices.notify_sweep", "schedule": timedelta(minutes=5)},
    # Unit managers hear about citizen mail unread with someone away but not registered as away.
    "absence-alert-unregistered": {
        "task": "absence.alert_unregistered_absence",
        "schedule": timedelta(minutes=30),
    },
    # Access-log chain check and unsent uploads; records go only through an approved retention run.
    "retention": {"task": "audit.retention", "schedule": crontab(hour=2, minute=30)},
    # The review list of what the retention rules would remove, for an approver (retention_rules app).
    "retention-propose": {"task": "retention.propose", "schedule": crontab(hour=3, minute=0)},
    "retention-resume": {"task": "retention.resume", "schedule": timedelta(minutes=5)},
}
# Drafts (replies app) left unsent this many days are removed by the daily sweep.
DRAFT_RETENTION_DAYS = env.int("DRAFT_RETENTION_DAYS", default=30)
# Local time ("HH:MM") on weekdays of the opt-in e-mail about citizen mail waiting unread (replies.notice);
# public holidays are skipped by the task itself.
WAITING_MAIL_NOTICE_TIME = env.str("WAITING_MAIL_NOTICE_TIME", default="07:30")
_notice_hour, _notice_minute = (int(part) for part in WAITING_MAIL_NOTICE_TIME.split(":"))
CELERY_BEAT_SCHEDULE["replies-waiting-mail"] = {
    "task": "replies.waiting_mail_notices",
    "schedule": crontab(hour=_notice_hour, minute=_notice_minute, day_of_week="mon-fri"),
}
CELERY_BEAT_SCHEDULE["replies-drafts-expire"] = {
    "task": "replies.drafts_expire",
    "schedule": crontab(hour=3, minute=15),
}
# Beat's scheduler: Celery's default (the schedule file) reporting beat's heartbeat (monitoring).
CELERY_BEAT_SCHEDULER = "monitoring.beat:HeartbeatScheduler"
ROUTING_SWEEP_AGE_SECONDS = env.int("ROUTING_SWEEP_AGE_SECONDS", default=60)
FORWARDING_MAX_DEPTH = env.int("FORWARDING_MAX_DEPTH", default=5)
# Messages one routing transaction takes at most (a burst is routed in batches of this many).
ROUTING_BATCH_SIZE = env.int("ROUTING_BATCH_SIZE", default=200)
# Seconds a pending routing wake-up stands for the messages stored after it (absence.routing); 0:
# one routing task per message. Needs a cache shared by all processes, so off without Redis.
ROUTING_COALESCE_SECONDS = env.int("ROUTING_COALESCE_SECONDS", default=10 if REDIS_URL else 0)
# Seconds a coalescing routing task waits before it starts (what arrives meanwhile goes with it).
ROUTING_COALESCE_DELAY = env.float("ROUTING_COALESCE_DELAY", default=0.2)
# Working days (absence.workdays: Swedish public holidays and the eves off excluded) a message may sit
# unread in a group mailbox before the unit manager is told (absence.escalation).
GROUP_UNREAD_ESCALATION_WORKING_DAYS = env.int("GROUP_UNREAD_ESCALATION_WORKING_DAYS", default=1)
# Working days (Swedish holidays excluded) a citizen message may sit unread in the personal mailbox
# of someone who has not logged in before the unit manager is told (absence.unregistered).
UNREGISTERED_ABSENCE_WORKING_DAYS = env.int("UNREGISTERED_ABSENCE_WORKING_DAYS", default=2)

# Liveness (monitoring app, README "Health and metrics"). Worker and beat record a heartbeat every
# LIVENESS_HEARTBEAT_SECONDS; /healthz/worker answers 503 when no worker's is younger than
# LIVENESS_WORKER_MAX_AGE_SECONDS or the routing sweep has not finished a run for
# LIVENESS_SWEEP_MAX_AGE_SECONDS (default: three sweep intervals); /healthz/beat when beat's is older
# than LIVENESS_BEAT_MAX_AGE_SECONDS. The heartbeat files for the containers' own checks go to
# LIVENESS_HEARTBEAT_DIR.
LIVENESS_HEARTBEAT_SECONDS = env.float("LIVENESS_HEARTBEAT_SECONDS", default=10.0)
LIVENESS_WORKER_MAX_AGE_SECONDS = env.float("LIVENESS_WORKER_MAX_AGE_SECONDS", default=60.0)
LIVENESS_BEAT_MAX_AGE_SECONDS = env.float("LIVENESS_BEAT_MAX_AGE_SECONDS", default=60.0)
LIVENESS_SWEEP_MAX_AGE_SECONDS = env.float(
    "LIVENESS_SWEEP_MAX_AGE_SECONDS",
    default=3.0 * CELERY_BEAT_SCHEDULE["routing-sweep"]["schedule"].total_seconds(),
)
LIVENESS_HEARTBEAT_DIR = env.str("LIVENESS_HEARTBEAT_DIR", default=str(VAR_DIR))
# /metrics (Prometheus text format) answers only a request with `Authorization: Bearer <token>`;
# 404 while empty. Routing latency covers the messages written in the last
# METRICS_ROUTING_WINDOW_SECONDS.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ROUTING_WINDOW_SECONDS = env.int("METRICS_ROUTING_WINDOW_SECONDS", default=300)

# Cache: rate-limit counters (lifemsg/ratelimits.py). Redis when REDIS_URL is set, so every web
# process counts together; short socket timeouts so a dead Redis never holds a request. django-redis:
# one client per server (not one per call, as Django's own backend makes), and an incr that is one
# atomic script (Django's EXISTS-then-INCRBY can recreate an expired counter without an expiry).
CACHES = {
    "default": (
        {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "lifemsg",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Sending limits per user, "<count>/<s|m|h|d>"; empty turns a limit off. A limited send is shown
# again with its text and a message (HTTP 429). Uploads ride on the same posts, so they are limited too.
CITIZEN_POST_RATE = env.str("CITIZEN_POST_RATE", default="20/h")
STAFF_POST_RATE = env.str("STAFF_POST_RATE", default="120/h")
RATELIMIT_FAIL_OPEN = True  # a cache hiccup must not block sending

# e-ID for citizens (OIDC, mozilla-django-oidc), all from the environment.
CITIZEN_TEST_LOGIN_ENABLED = env.bool("CITIZEN_TEST_LOGIN_ENABLED", default=False)
# The broker: its issuer is enough (endpoints come from <issuer>/.well-known/openid-configuration);
# an endpoint set here overrides the discovered one. OIDC_OP_DISCOVERY=false: endpoints only.
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")  # also checked against the ID token's iss
OIDC_OP_DISCOVERY = env.bool("OIDC_OP_DISCOVERY", default=True)
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
# client_secret_basic or client_secret_post; empty: basic, unless discovery offers only post.
OIDC_RP_TOKEN_AUTH_METHOD = env.str("OIDC_RP_TOKEN_AUTH_METHOD", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")  # end the broker session too
OIDC_RP_SCOPES = env.str(
    "OIDC_RP_SCOPES", default="openid profile https://id.oidc.se/scope/naturalPersonNumber"
)
OIDC_PERSONNUMMER_CLAIM = env.str(
    "OIDC_PERSONNUMMER_CLAIM", default="https://id.oidc.se/claim/personalIdentityNumber"
)
# Accepted assurance levels (acr), space-separated, most wanted first; sent as acr_values. Empty
# refuses every e-ID login (fail closed). Default: the Swedish eID framework's LoA3 and LoA4.
OIDC_REQUIRED_ACR = env.str(
    "OIDC_REQUIRED_ACR",
    default="http://id.elegnamnden.se/loa/1.0/loa3 http://id.elegnamnden.se/loa/1.0/loa4",
)
# Foreign e-ID through eIDAS (the broker's eIDAS connector): accepted levels, and the claims that
# identify a citizen without a Swedish personnummer (eIDAS person identifier; coordination number).
OIDC_EIDAS_ACR = env.str(
    "OIDC_EIDAS_ACR",
    default="http://eidas.europa.eu/LoA/substantial http://eidas.europa.eu/LoA/high",
)
OIDC_EIDAS_ID_CLAIM = env.str("OIDC_EIDAS_ID_CLAIM", default="https://id.oidc.se/claim/eidasPersonIdentifier")
OIDC_COORDINATION_NUMBER_CLAIM = env.str(
    "OIDC_COORDINATION_NUMBER_CLAIM", default="https://id.oidc.se/claim/coordinationNumber"
)
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
# Tolerated difference between the provider's clock and ours for an ID token's iat, nbf and exp.
OIDC_CLOCK_LEEWAY_SECONDS = env.int("OIDC_CLOCK_LEEWAY_SECONDS", default=10)
# Shared computers: ask the broker to authenticate again at every login (prompt=login), and/or
# accept only an authentication at most this many seconds old (max_age; 0 = off).
OIDC_PROMPT_LOGIN = env.bool("OIDC_PROMPT_LOGIN", default=False)
OIDC_MAX_AGE = env.int("OIDC_MAX_AGE", default=0)
# Both flows: how long a provider's discovery document is cached.
OIDC_DISCOVERY_CACHE_SECONDS = env.int("OIDC_DISCOVERY_CACHE_SECONDS", default=3600)
CITIZEN_OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and (OIDC_OP_AUTHORIZATION_ENDPOINT or OIDC_OP_ISSUER))

# Second factor for staff (TOTP, django-otp; accounts.otp): when on, every staff member needs it
# before any page (on by default in production). A staff SSO login counts instead when
# STAFF_OIDC_REQUIRED_AMR makes the IdP's multi-factor a condition of the login. The first device is
# enrolled only with a one-time link from an administrator, valid this many hours.
STAFF_OTP_ENABLED = env.bool("STAFF_OTP_ENABLED", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="lifemsg")
STAFF_OTP_ENROLMENT_LINK_HOURS = env.int("STAFF_OTP_ENROLMENT_LINK_HOURS", default=72)

# django-axes: lock out brute force against staff and the test e-ID login.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind reverse proxies the connecting address is the proxy's: the client's is read from
# X-Forwarded-For, TRUSTED_PROXY_COUNT entries from the right (lifemsg/clientip.py). 0: no proxy, the
# header is ignored. TRUSTED_PROXY_IPS (addresses or networks) limits whose header is believed.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=[])
AXES_CLIENT_IP_CALLABLE = "lifemsg.clientip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "locked_out.html"  # Swedish page, HTTP 429
# axes keeps the POST data of failed attempts: mask the personal identity number tried.
AXES_SENSITIVE_PARAMETERS = ["personnummer"]
# Citizens' usernames contain their personal identity number: axes locks out, logs and stores them
# under a marker instead (and its info-level log lines, which name the raw username, are off).
AXES_USERNAME_CALLABLE = "eservices.eid_testlogin.axes_username"

# Content-Security-Policy: no inline scripts or styles anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "lifemsg API", "VERSION": "1.0.0"}

# The database's own floor for access-log retention (manage.py grant_app_role writes it), and the seed
# of the access log's retention rule; the rule (retention_rules app) decides what a run removes,
# never less than this floor.
ACCESS_LOG_RETENTION_DAYS = env.int("ACCESS_LOG_RETENTION_DAYS", default=5 * 365)
# The key of the access log's HMAC chain (audit.chain): from the environment, never in the database,
# so that a database writer without it cannot re-hash a changed chain. Rotation: the new key here,
# the old one(s) in ACCESS_LOG_HMAC_OLD_KEYS for as long as entries they signed are kept.
ACCESS_LOG_HMAC_KEY = env.str("ACCESS_LOG_HMAC_KEY", default="")
ACCESS_LOG_HMAC_OLD_KEYS = env.list("ACCESS_LOG_HMAC_OLD_KEYS", default=[])
# Entries written before the chain was keyed (plain SHA-256) verify up to this seq and no further.
ACCESS_LOG_UNKEYED_THROUGH_SEQ = env.int("ACCESS_LOG_UNKEYED_THROUGH_SEQ", default=0)
# Read once, by the migration that seeds the retention rules (retention_rules/migrations/0002): the
# period of the first rule for messages and attachments. Afterwards the rules are changed in the
# administration pages (Gallring); changing this variable changes nothing.
MESSAGE_RETENTION_DAYS = env.int("MESSAGE_RETENTION_DAYS", default=10 * 365)
# Uploads stored for a re-shown form (mailboxes.forms.AttachmentsMixin.keep_uploads) and never sent
# with a message are removed by the nightly retention once they are this old.
UPLOAD_UNATTACHED_HOURS = env.int("UPLOAD_UNATTACHED_HOURS", default=24)
# Log review's "bulk reads" check: more than this many different citizens read within one hour.
ACCESS_LOG_BULK_READ_THRESHOLD = env.int("ACCESS_LOG_BULK_READ_THRESHOLD", default=20)

# Log lines carry a request id (X-Request-ID, django-guid; Celery tasks get their own) and the user id,
# never message text or a personnummer (lifemsg/observability.py). LOG_FORMAT=json for a log shipper.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "INTEGRATIONS": [DjangoGuidCeleryIntegration()],
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "lifemsg.observability.LogContextFilter"},
        "forbidden_on_one_line": {"()": "lifemsg.logfilters.ForbiddenOnOneLine"},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s user=%(user_id)s] %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 403 is one line, without the PermissionDenied traceback Django attaches.
        "django.request": {"filters": ["forbidden_on_one_line"]},
        # axes' info lines name the raw username (a citizen's holds the personal identity number).
        "axes": {"level": "WARNING"},
        # One info line per request that came without an X-Request-ID: noise, not news.
        "django_guid": {"level": "WARNING"},
        # WeasyPrint logs seven progress lines per case-file PDF, and its warnings name the CSS it
        # skipped: only warnings, which are about our template.
        "weasyprint": {"level": "WARNING"},
    },
}
# The worker logs through LOGGING too, so its lines have the same shape as web's.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# Error reports (optional): Sentry, scrubbed of everything that can carry citizen data before sending.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default=""),
    )


# --- Integrations (issue 9): REST API, webhooks, staff SSO, export to the case file -------------
# API docs (Swagger UI) served from our own static files: CSP allows no CDN and no inline script.
SPECTACULAR_SETTINGS.update(
    {
        "DESCRIPTION": "Case-system integration: cases by external id, thread metadata, webhooks.",
        "SERVE_INCLUDE_SCHEMA": False,
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
        "SCHEMA_PATH_PREFIX": "/api/v1",
        # Deep links put a link inside each operation's toggle button (nested interactive controls,
        # WCAG 4.1.2); without them the page passes the axe audit.
        "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    }
)
# Webhooks: POST with HMAC-SHA256 signature; retried with exponential backoff (base * 2^n, capped)
# until WEBHOOK_MAX_ATTEMPTS; the sweep re-sends deliveries whose task was lost.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=10)
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=30.0)
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=3600.0)
WEBHOOK_SWEEP_GRACE_SECONDS = env.int("WEBHOOK_SWEEP_GRACE_SECONDS", default=120)
# A receiver that hangs holds a worker for up to WEBHOOK_TIMEOUT_SECONDS: name a queue here (and run a
# worker with -Q <queue>) to keep webhook sending apart from routing. Empty: the default queue.
WEBHOOK_QUEUE = env.str("WEBHOOK_QUEUE", default="")
if WEBHOOK_QUEUE:
    CELERY_TASK_ROUTES = {
        "integrations.deliver_webhook": {"queue": WEBHOOK_QUEUE},
        "integrations.deliver_case_file": {"queue": WEBHOOK_QUEUE},
    }
# Journalföring (integrations/casefile.py): "inline" sends the PDF/A in the signed webhook; "pull" sends
# only its API path, and the case system fetches it with its token (GET .../document/).
CASE_FILE_DELIVERY = env.str("CASE_FILE_DELIVERY", default="inline")
CELERY_BEAT_SCHEDULE["integrations-webhook-sweep"] = {
    "task": "integrations.webhook_sweep",
    "schedule": timedelta(seconds=60),
}

# Staff single sign-on (OpenID Connect: Entra ID, ADFS, Keycloak ...), separate from the citizens'
# e-ID settings (OIDC_*). On when a client id and an authorization endpoint are set. Group claims
# map to roles and units as "idp-group=value;idp-group2=value2" (a group may appear more than once).
STAFF_OIDC_RP_CLIENT_ID = env.str("STAFF_OIDC_RP_CLIENT_ID", default="")
STAFF_OIDC_RP_CLIENT_SECRET = env.str("STAFF_OIDC_RP_CLIENT_SECRET", default="")
STAFF_OIDC_RP_TOKEN_AUTH_METHOD = env.str("STAFF_OIDC_RP_TOKEN_AUTH_METHOD", default="")
STAFF_OIDC_RP_SIGN_ALGO = env.str("STAFF_OIDC_RP_SIGN_ALGO", default="RS256")
STAFF_OIDC_RP_SCOPES = env.str("STAFF_OIDC_RP_SCOPES", default="openid profile email")
STAFF_OIDC_OP_ISSUER = env.str("STAFF_OIDC_OP_ISSUER", default="")
STAFF_OIDC_OP_DISCOVERY = env.bool("STAFF_OIDC_OP_DISCOVERY", default=True)
STAFF_OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("STAFF_OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
STAFF_OIDC_OP_TOKEN_ENDPOINT = env.str("STAFF_OIDC_OP_TOKEN_ENDPOINT", default="")
STAFF_OIDC_OP_USER_ENDPOINT = env.str("STAFF_OIDC_OP_USER_ENDPOINT", default="")
STAFF_OIDC_OP_JWKS_ENDPOINT = env.str("STAFF_OIDC_OP_JWKS_ENDPOINT", default="")
STAFF_OIDC_OP_LOGOUT_ENDPOINT = env.str("STAFF_OIDC_OP_LOGOUT_ENDPOINT", default="")
STAFF_OIDC_USE_PKCE = env.bool("STAFF_OIDC_USE_PKCE", default=True)
STAFF_OIDC_TIMEOUT = env.float("STAFF_OIDC_TIMEOUT", default=10.0)
STAFF_OIDC_CLOCK_LEEWAY_SECONDS = env.int(
    "STAFF_OIDC_CLOCK_LEEWAY_SECONDS", default=OIDC_CLOCK_LEEWAY_SECONDS
)
STAFF_OIDC_PROMPT_LOGIN = env.bool("STAFF_OIDC_PROMPT_LOGIN", default=False)
STAFF_OIDC_MAX_AGE = env.int("STAFF_OIDC_MAX_AGE", default=0)
STAFF_OIDC_CREATE_USER = env.bool("STAFF_OIDC_CREATE_USER", default=True)
STAFF_OIDC_USERNAME_CLAIM = env.str("STAFF_OIDC_USERNAME_CLAIM", default="preferred_username")
STAFF_OIDC_EMAIL_CLAIM = env.str("STAFF_OIDC_EMAIL_CLAIM", default="email")
STAFF_OIDC_FIRST_NAME_CLAIM = env.str("STAFF_OIDC_FIRST_NAME_CLAIM", default="given_name")
STAFF_OIDC_LAST_NAME_CLAIM = env.str("STAFF_OIDC_LAST_NAME_CLAIM", default="family_name")
STAFF_OIDC_GROUPS_CLAIM = env.str("STAFF_OIDC_GROUPS_CLAIM", default="groups")
STAFF_OIDC_ROLE_MAP = env.str("STAFF_OIDC_ROLE_MAP", default="")
STAFF_OIDC_UNIT_MAP = env.str("STAFF_OIDC_UNIT_MAP", default="")
# Optional: require proof of multi-factor in the ID token's `amr` claim (any of these values).
STAFF_OIDC_REQUIRED_AMR = env.list("STAFF_OIDC_REQUIRED_AMR", default=[])
STAFF_OIDC_ENABLED = bool(
    STAFF_OIDC_RP_CLIENT_ID and (STAFF_OIDC_OP_AUTHORIZATION_ENDPOINT or STAFF_OIDC_OP_ISSUER)
)
