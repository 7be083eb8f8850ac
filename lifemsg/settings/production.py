"""Production: refuses to start without a secret key; secure cookies, HSTS, no test login, a second
factor for staff."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ACCESS_LOG_HMAC_KEY, SECRET_KEY, env

if not SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set (at least 50 characters) in production.")
if len(ACCESS_LOG_HMAC_KEY) < 32 or ACCESS_LOG_HMAC_KEY == SECRET_KEY:
    raise ImproperlyConfigured(
        "ACCESS_LOG_HMAC_KEY must be set (at least 32 characters, not the SECRET_KEY) in production."
    )

DEBUG = False
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # noqa: F405
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
CITIZEN_TEST_LOGIN_ENABLED = False
# Everyone who reads citizen data logs in with a second factor (accounts.otp).
STAFF_OTP_ENABLED = env.bool("STAFF_OTP_ENABLED", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Load balancers probe /healthz over plain HTTP, and Prometheus scrapes /metrics on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^healthz(/worker|/beat)?$", r"^metrics$"]
