"""pytest: real PostgreSQL and Redis (DATABASE_URL, REDIS_URL; defaults point at localhost)."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ

env = environ.Env()
os.environ.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/lifemsg")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# pytest-xdist (make test runs `-n`): worker gwK gets the Redis database K below REDIS_URL's (15, 14,
# ... by default), so its broker queue, task results and cache, which tests purge and flush, are its
# own; pytest-django gives it a test database of its own (suffix _gwK). The processes a test starts
# inherit the environment, marked as already moved, and keep it.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if XDIST_WORKER and os.environ.get("LIFEMSG_TEST_REDIS_MOVED") != XDIST_WORKER:
    for _name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        _url = urlsplit(os.environ.get(_name, ""))
        if _url.scheme in ("redis", "rediss"):
            _db = int(_url.path.strip("/") or 0) - int(XDIST_WORKER.removeprefix("gw"))
            if _db < 1:
                raise RuntimeError(
                    f"{_name}: no Redis database left below it for xdist worker {XDIST_WORKER}"
                )
            os.environ[_name] = _url._replace(path=f"/{_db}").geturl()
    os.environ["LIFEMSG_TEST_REDIS_MOVED"] = XDIST_WORKER
os.environ.setdefault("CELERY_RESULT_BACKEND", os.environ["REDIS_URL"])

from .base import *  # noqa: E402, F403
from .base import DATABASES, VAR_DIR  # noqa: E402
from .mail import mail_settings  # noqa: E402

SECRET_KEY = "test-only-key"
ACCESS_LOG_HMAC_KEY = "test-only-access-log-key"
DEBUG = False
CITIZEN_TEST_LOGIN_ENABLED = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
vars().update(mail_settings("django.core.mail.backends.locmem.EmailBackend"))
SMS_BACKEND = "eservices.sms.LocmemSmsBackend"
# Parallel checkouts (helpers, CI) may share one server: name the test database per checkout.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_lifemsg")}
else:
    # make test-sqlite (DATABASE_URL=sqlite:///var/lifemsg.sqlite3) tests in a file beside the URL's,
    # test_lifemsg.sqlite3, as make run keeps its database in a file: each thread then has its own
    # connection with make run's locking (WAL, IMMEDIATE, busy timeout). Django's in-memory default
    # would share one connection between the live server's thread and the test's.
    _name = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_name.with_name(f"test_{_name.name}"))}
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Per xdist worker: the backup tests copy the whole directory and compare it after a restore.
PRIVATE_MEDIA_ROOT = VAR_DIR / ("test-private-" + XDIST_WORKER if XDIST_WORKER else "test-private")
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_ENABLED = True
LANGUAGE_CODE = "sv"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # noqa: F405
# Rate-limit counters are keyed by user id, and ids repeat in every fresh test database: a prefix of
# its own per test run keeps counts from an earlier run (same Redis db, same hour) out.
CACHES["default"]["KEY_PREFIX"] = f"lifemsg-test-{os.getpid()}"  # noqa: F405
