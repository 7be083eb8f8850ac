"""Development and first trial (`make run`): works with nothing configured."""

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, VAR_DIR, env
from .mail import FILE_BACKEND, mail_settings

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-used-in-production")
ACCESS_LOG_HMAC_KEY = env.str("ACCESS_LOG_HMAC_KEY", default="dev-only-access-log-key-not-for-production")
CITIZEN_TEST_LOGIN_ENABLED = env.bool("CITIZEN_TEST_LOGIN_ENABLED", default=True)
# EMAIL_BACKEND (environment): another mail backend class; by default, files in var/mail.
_mail_backend = env.str("EMAIL_BACKEND", default=FILE_BACKEND)
_mail_folder = str(VAR_DIR / "mail") if _mail_backend == FILE_BACKEND else None
vars().update(mail_settings(_mail_backend, file_path=_mail_folder))

if CELERY_BROKER_URL == "filesystem://":
    _broker = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control", "unreadable"):
        (_broker / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        "store_processed": False,
        "control_folder": str(_broker / "control"),
        "polling_interval": 0.2,
        "unreadable_folder": str(_broker / "unreadable"),
    }
    # kombu's filesystem transport with atomic writes and reads that pass over half-written files.
    CELERY_BROKER_TRANSPORT = "lifemsg.broker:FilesystemTransport"

WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
