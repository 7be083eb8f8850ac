"""`make bench`: its own PostgreSQL database and Redis db, production-like (DEBUG off; Celery keeps
task results in the database as production does)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/lifemsg_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")

from .base import *  # noqa: E402, F403
from .base import DATABASES  # noqa: E402
from .mail import mail_settings  # noqa: E402

SECRET_KEY = "bench-only-key"
ACCESS_LOG_HMAC_KEY = "bench-only-access-log-key"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
vars().update(mail_settings("django.core.mail.backends.locmem.EmailBackend"))
SMS_BACKEND = "eservices.sms.LocmemSmsBackend"
CITIZEN_TEST_LOGIN_ENABLED = True
DATABASES["default"]["CONN_MAX_AGE"] = 60
AXES_ENABLED = False
WHITENOISE_USE_FINDERS = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
