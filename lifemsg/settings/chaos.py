"""`make chaos` (bench.chaos): production's settings on the loopback servers the run starts itself.
Only what plain HTTP on 127.0.0.1 needs differs: no TLS redirect, HSTS or secure-only cookies, and
static files served from the source folders (no collectstatic manifest to build for each run). The
database, Redis, the secret key and the run's folder come from the environment the run sets."""

import os

os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")

from .mail import mail_settings  # noqa: E402
from .production import *  # noqa: E402, F403
from .production import STORAGES  # noqa: E402

ALLOWED_HOSTS = ["127.0.0.1"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
vars().update(mail_settings("django.core.mail.backends.locmem.EmailBackend"))
SMS_BACKEND = "eservices.sms.LocmemSmsBackend"
