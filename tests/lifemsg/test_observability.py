"""Operators' view of the process: error reports and log lines never carry citizen data."""

from __future__ import annotations

import json
import logging

import pytest
import sentry_sdk
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path
from sentry_sdk.transport import Transport

from lifemsg.observability import init_sentry

BODY = "Beslutet om försörjningsstöd för mars är klart"
SUBJECT = "Ansökan om ekonomiskt bistånd"
PNR = "19800101-9812"


class Recorded(Transport):
    def __init__(self):
        super().__init__({"dsn": "https://key@sentry.example.invalid/1"})
        self.envelopes: list[bytes] = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope.serialize())


def failing_view(request):
    subject, body = SUBJECT, request.POST["body"]  # locals a naive report would ship
    raise RuntimeError(f"could not store {body!r} in {subject!r} for {PNR}")


def logging_view(request):
    logging.getLogger("lifemsg.test").warning("reading case of %s", PNR)
    return HttpResponse("ok")


urlpatterns = [path("fail/", failing_view), path("log/", logging_view)]


@pytest.fixture
def sentry():
    transport = Recorded()
    init_sentry(
        dsn="https://key@sentry.example.invalid/1", environment="test", release="t", transport=transport
    )
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


@override_settings(ROOT_URLCONF=__name__)
def test_an_error_report_carries_no_message_body_subject_or_personnummer(client, sentry, db):
    client.raise_request_exception = False
    response = client.post(
        f"/fail/?pnr={PNR}", {"body": BODY, "subject": SUBJECT}, HTTP_COOKIE=f"note={PNR}", HTTP_X_NOTE=BODY
    )
    assert response.status_code == 500
    sentry_sdk.flush()

    [sent] = sentry.envelopes
    text = sent.decode()
    assert "RuntimeError" in text and "failing_view" in text  # still useful to an operator
    for secret in (BODY, SUBJECT, PNR, PNR.replace("-", ""), "försörjningsstöd"):
        assert secret not in text, secret
        assert json.dumps(secret)[1:-1] not in text, secret


@override_settings(ROOT_URLCONF=__name__)
def test_log_lines_carry_request_and_user_ids_but_no_personnummer(client, db, caplog, org):
    client.force_login(org.handler_a1)
    with caplog.at_level(logging.WARNING, logger="lifemsg.test"):
        response = client.get("/log/", HTTP_X_REQUEST_ID="0f9c2a4e6b8d4c1e9a7b5d3f1e2c4a6b")

    assert response["X-Request-ID"] == "0f9c2a4e6b8d4c1e9a7b5d3f1e2c4a6b"
    [record] = [r for r in caplog.records if r.name == "lifemsg.test"]
    assert record.request_id == "0f9c2a4e6b8d4c1e9a7b5d3f1e2c4a6b"
    assert record.user_id == org.handler_a1.pk
    assert PNR not in record.getMessage()


def test_production_log_lines_are_json_with_the_context_fields():
    from pythonjsonlogger.json import JsonFormatter

    from lifemsg.observability import LogContextFilter
    from lifemsg.settings.base import LOGGING

    spec = dict(LOGGING["formatters"]["json"])
    formatter = JsonFormatter(spec["fmt"], rename_fields=spec["rename_fields"])
    record = logging.LogRecord("lifemsg.x", logging.INFO, __file__, 1, "case of %s read", (PNR,), None)
    LogContextFilter().filter(record)

    line = json.loads(formatter.format(record))
    assert {"time", "level", "logger", "message", "request_id", "user_id"} <= line.keys()
    assert line["message"] == "case of [personnummer] read"


def test_redaction_leaves_digit_runs_inside_file_names_and_hashes_alone():
    from lifemsg.observability import redact

    name = "attachments/2026/12/ab1234567890cd4e5f6a7b8c9d0e1f2a"
    assert redact(f"could not delete {name}") == f"could not delete {name}"
    assert redact("läst av 19800101-9812, 8001019812 och 198001019812.") == (
        "läst av [personnummer], [personnummer] och [personnummer]."
    )
