"""What leaves the process for operators: log lines with a request id and a user id, and (optional)
error reports to Sentry. Neither may carry citizen data: log lines are written without message text or
personal identity numbers, and error reports are stripped of everything that can hold them before they
are sent (`scrub_event`)."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

import sentry_sdk
from django_guid import get_guid
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

_user_id: ContextVar[int | None] = ContextVar("lifemsg_log_user_id", default=None)

# 12 or 10 digits with an optional separator, standing alone: personnummer and samordningsnummer.
# Not a run of digits inside a longer token (a stored file's hex name, a hash), which is no identity.
PERSONNUMMER = re.compile(r"(?<![0-9A-Za-z])(?:\d{2})?\d{6}[-+ ]?\d{4}(?![0-9A-Za-z])")


def redact(text: str) -> str:
    return PERSONNUMMER.sub("[personnummer]", text)


class LogContextMiddleware:
    """Puts the signed-in user's id where log lines find it. After lifemsg.perf's ResolvedUserMiddleware:
    the user is already loaded there, so this costs no query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        token = _user_id.set(user.pk if user is not None and user.is_authenticated else None)
        try:
            return self.get_response(request)
        finally:
            _user_id.reset(token)


class LogContextFilter(logging.Filter):
    """Adds request_id (django-guid's correlation id, also set for Celery tasks) and user_id to every
    record, and redacts personal identity numbers from the message as a last line of defence."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_guid()
        record.user_id = _user_id.get()
        message = record.getMessage()
        if PERSONNUMMER.search(message):
            record.msg, record.args = redact(message), ()
        return True


# Sentry -------------------------------------------------------------------------------------------
# Kept: the exception's type, its stack (files, functions, lines and the code around them), the URL
# pattern's path, the release and the logger name. Dropped: exception messages and log arguments (a
# database error's DETAIL carries row values; a ValidationError the user's input), local variables,
# the request body, query string, cookies and headers, breadcrumbs (SQL and log lines).
_KEEP_REQUEST = {"url", "method"}


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        event["request"] = {key: value for key, value in request.items() if key in _KEEP_REQUEST}
        if "url" in event["request"]:
            event["request"]["url"] = redact(event["request"]["url"])
    if "user" in event:
        event["user"] = {"id": event["user"].get("id")} if isinstance(event["user"], dict) else {}
    for exception in (event.get("exception") or {}).get("values", []):
        exception["value"] = ""
        for frame in (exception.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        event["logentry"] = {"message": redact(str(logentry.get("message", ""))), "params": []}
    event.pop("message", None)
    event.pop("extra", None)
    event.pop("breadcrumbs", None)
    return event


def init_sentry(*, dsn: str, environment: str, release: str, transport: Any = None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        max_breadcrumbs=0,
        before_send=scrub_event,
        transport=transport,
    )
