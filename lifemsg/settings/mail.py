"""Outgoing mail settings in the form the running Django reads.

Django 6.1 replaces EMAIL_BACKEND and the EMAIL_* connection settings with MAILERS (the old ones are
deprecated, to go in Django 7.0/"2028") and refuses a settings module that defines both. Django 5.2
LTS, what ships, reads only EMAIL_*. Every settings module names its mail backend through
`mail_settings`, so the choice between the two forms is made here, once, by django.VERSION.
DEFAULT_FROM_EMAIL and SERVER_EMAIL are not part of the change.
"""

from __future__ import annotations

from typing import Any

import django

USES_MAILERS = django.VERSION >= (6, 1)

# A backend option's EMAIL_* setting on Django < 6.1 (Django's "Migrating email to mailers").
_SETTING_OF_OPTION = {
    "host": "EMAIL_HOST",
    "port": "EMAIL_PORT",
    "username": "EMAIL_HOST_USER",
    "password": "EMAIL_HOST_PASSWORD",
    "use_tls": "EMAIL_USE_TLS",
    "use_ssl": "EMAIL_USE_SSL",
    "timeout": "EMAIL_TIMEOUT",
    "ssl_certfile": "EMAIL_SSL_CERTFILE",
    "ssl_keyfile": "EMAIL_SSL_KEYFILE",
    "file_path": "EMAIL_FILE_PATH",
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
# The options each built-in backend takes (MAILERS refuses any other as an unknown option).
_OPTIONS_OF_BACKEND = {
    SMTP_BACKEND: {"host", "port", "username", "password", "use_tls", "use_ssl", "timeout"},
    FILE_BACKEND: {"file_path"},
}


def mail_settings(backend: str, **options: Any) -> dict[str, Any]:
    """The settings that send all mail through `backend` (a dotted path), constructed with
    `options` (its keyword names: host, port, username, password, use_tls, use_ssl, timeout,
    ssl_certfile, ssl_keyfile, file_path). None and "" mean "not set"."""
    options = {name: value for name, value in options.items() if value not in (None, "")}
    unknown = set(options) - set(_SETTING_OF_OPTION)
    if unknown:
        raise ValueError(f"unknown mail options: {sorted(unknown)}")
    if USES_MAILERS:
        return {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
    return {"EMAIL_BACKEND": backend, **{_SETTING_OF_OPTION[name]: value for name, value in options.items()}}


def mail_settings_from_url(config: dict[str, Any], *, timeout: int) -> dict[str, Any]:
    """`mail_settings` from django-environ's EMAIL_URL dict (EMAIL_* keys), keeping only the
    options the URL's backend takes; `timeout` is for an SMTP server that does not answer."""
    backend = config["EMAIL_BACKEND"]
    given = {option: config.get(setting) for option, setting in _SETTING_OF_OPTION.items()}
    given["timeout"] = timeout
    accepted = _OPTIONS_OF_BACKEND.get(backend, set())
    return mail_settings(backend, **{name: value for name, value in given.items() if name in accepted})
