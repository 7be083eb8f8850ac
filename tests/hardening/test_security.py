"""Security hardening as a user or an attacker would notice it: production response headers and
cookies, brute-force lockout, escaped markup in messages, refused disguised executables, attachment
downloads that a browser never renders, and no personal data in the application log."""

from __future__ import annotations

import importlib
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from absence.routing import route_message
from eservices.services import staff_message_send
from mailboxes.models import Attachment, Message
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.conftest import login
from tests.eservices.conftest import pdf_upload

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 200
    + b"This program cannot be run in DOS mode."
)
REFUSED = "är inte av en tillåten filtyp"


def exe_as_pdf(name: str = "intyg.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, EXE, content_type="application/pdf")


# --- production headers and cookies ------------------------------------------------------------

SECURITY_SETTING_PREFIXES = (
    "SECURE_",
    "SESSION_COOKIE_",
    "CSRF_COOKIE_",
    "CONTENT_SECURITY_POLICY",
    "X_FRAME",
)


@pytest.fixture
def production_security(monkeypatch):
    """The security settings exactly as lifemsg.settings.production computes them."""
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.setenv("ACCESS_LOG_HMAC_KEY", "k" * 40)
    importlib.reload(importlib.import_module("lifemsg.settings.base"))  # reads SECRET_KEY again
    module = importlib.reload(importlib.import_module("lifemsg.settings.production"))
    values = {
        name: getattr(module, name) for name in dir(module) if name.startswith(SECURITY_SETTING_PREFIXES)
    }
    assert values["SESSION_COOKIE_SECURE"] is True and values["SECURE_HSTS_SECONDS"] > 0
    with override_settings(**values):
        yield values


def test_production_headers_and_session_cookie(production_security, org):
    client = Client()  # built after the override: its middleware reads the production values
    plain = client.get(reverse("accounts:login"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")  # SSL redirect
    response = client.post(
        reverse("accounts:login"),
        {"username": org.handler_a1.username, "password": "test-password-123"},
        secure=True,
    )
    assert response.status_code == 302
    page = client.get(reverse("mailboxes:index"), secure=True)
    assert page.status_code == 200
    for r in (response, page):
        csp = r["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert r["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Referrer-Policy"] == "same-origin"
        assert r["X-Frame-Options"] == "DENY"
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    csrf = response.cookies.get("csrftoken") or plain.cookies.get("csrftoken") or client.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"


def test_no_page_has_an_inline_script_or_style(client, org):
    """CSP forbids inline code; a page that used it would be broken in production."""
    login(client, org.handler_a1)
    for url in (reverse("mailboxes:index"), reverse("mailboxes:compose"), reverse("accounts:home")):
        html = client.get(url).content.decode()
        assert "<script>" not in html and " style=" not in html and "<style" not in html
        assert "onclick=" not in html and "javascript:" not in html


# --- brute force -------------------------------------------------------------------------------


@override_settings(AXES_FAILURE_LIMIT=3)
def test_staff_login_is_locked_after_the_configured_number_of_failures(client, org):
    url = reverse("accounts:login")
    user = org.handler_a1
    for _ in range(3):
        response = client.post(url, {"username": user.username, "password": "fel-lösenord-1234"})
        assert "_auth_user_id" not in client.session
    # The right password does not help any more.
    response = client.post(url, {"username": user.username, "password": "test-password-123"})
    assert response.status_code == 429
    assert "För många misslyckade inloggningsförsök" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Other staff members are not locked out by someone else's failures.
    other = Client()
    ok = other.post(url, {"username": org.handler_a2.username, "password": "test-password-123"})
    assert ok.status_code == 302 and "_auth_user_id" in other.session


@override_settings(AXES_FAILURE_LIMIT=3)
def test_failures_below_the_limit_do_not_lock(client, org):
    url = reverse("accounts:login")
    user = org.handler_a1
    for _ in range(2):
        client.post(url, {"username": user.username, "password": "fel-lösenord-1234"})
    response = client.post(url, {"username": user.username, "password": "test-password-123"})
    assert response.status_code == 302


# --- markup in messages ------------------------------------------------------------------------


def test_script_in_an_internal_message_is_shown_as_text(client, org):
    login(client, org.handler_a1)
    to = mailbox_personal_for(org.handler_a2)
    response = client.post(
        reverse("mailboxes:compose"), {"recipients": [to.pk], "subject": SCRIPT, "body": SCRIPT}
    )
    assert response.status_code == 302
    route_message(message_id=Message.objects.get(body=SCRIPT).pk)  # what the worker does
    for user in (org.handler_a1, org.handler_a2):
        login(client, user)
        message = Message.objects.get(body=SCRIPT)
        box = message.sender_mailbox if user == org.handler_a1 else to
        page = client.get(reverse("mailboxes:thread", args=[box.pk, message.thread_id]))
        assert page.status_code == 200
        html = page.content.decode()
        assert html.count(ESCAPED) >= 3  # title, heading, body
        assert SCRIPT not in html


def test_script_from_a_citizen_is_escaped_for_citizen_and_staff(client, org, case_a):
    login(client, case_a.citizen.user)
    url = reverse("eservices:case", args=[case_a.pk])
    assert (
        client.post(url, {"body": SCRIPT + ' se https://example.org/"><script>x</script>'}).status_code == 302
    )
    html = client.get(url).content.decode()
    assert ESCAPED in html and SCRIPT not in html and "<script>x" not in html
    login(client, org.handler_a1)
    html = client.get(reverse("mailboxes:case_thread", args=[case_a.pk])).content.decode()
    assert ESCAPED in html and SCRIPT not in html and "<script>x" not in html
    # Staff markup to the citizen is text too.
    staff_message_send(case=case_a, sender=org.handler_a1, body=SCRIPT)
    login(client, case_a.citizen.user)
    html = client.get(url).content.decode()
    assert html.count(ESCAPED) == 2 and SCRIPT not in html


# --- disguised executables ---------------------------------------------------------------------


def test_renamed_executable_is_refused_for_the_citizen_and_the_text_kept(client, org, case_a):
    login(client, case_a.citizen.user)
    response = client.post(
        reverse("eservices:case", args=[case_a.pk]),
        {"body": "Här är mitt intyg, skrivet med omsorg", "attachments": [exe_as_pdf()]},
    )
    html = response.content.decode()
    assert REFUSED in html and "intyg.pdf" in html
    assert "Här är mitt intyg, skrivet med omsorg" in html
    assert not Message.objects.filter(body__startswith="Här är mitt intyg").exists()
    assert not Attachment.objects.filter(filename="intyg.pdf").exists()


def test_renamed_executable_is_refused_for_staff_and_the_text_kept(client, org, case_a):
    login(client, org.handler_a1)
    response = client.post(
        reverse("mailboxes:case_send_citizen", args=[case_a.pk]),
        {"citizen-body": "Beslutet bifogas här", "citizen-attachments": [exe_as_pdf("beslut.pdf")]},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert REFUSED in html and "beslut.pdf" in html and "Beslutet bifogas här" in html
    to = mailbox_personal_for(org.handler_a2)
    response = client.post(
        reverse("mailboxes:compose"),
        {
            "recipients": [to.pk],
            "subject": "Rapport",
            "body": "Se rapporten",
            "attachments": [exe_as_pdf("rapport.pdf")],
        },
    )
    html = response.content.decode()
    assert response.status_code == 400 and REFUSED in html and "Se rapporten" in html
    assert not Attachment.objects.filter(filename__in=["beslut.pdf", "rapport.pdf"]).exists()


# --- attachment downloads ----------------------------------------------------------------------


def test_attachment_downloads_are_attachments_never_sniffed(client, org, case_a):
    login(client, case_a.citizen.user)
    client.post(
        reverse("eservices:case", args=[case_a.pk]), {"body": "Bilaga", "attachments": [pdf_upload("a.pdf")]}
    )
    attachment = Attachment.objects.get(filename="a.pdf")
    responses = [client.get(reverse("eservices:attachment", args=[attachment.pk]))]
    login(client, org.handler_a1)
    responses.append(client.get(reverse("mailboxes:case_attachment", args=[case_a.pk, attachment.pk])))
    for response in responses:
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "application/pdf"
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content).startswith(b"%PDF")


# --- personal data in the application log ------------------------------------------------------


def test_no_personal_data_in_the_application_log(client, org, caplog):
    caplog.set_level(logging.DEBUG)
    citizen = factories.citizen("Lisa", "Loggsson")
    case = factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1)
    body = "Min hemliga berättelse om familjen Loggsson"
    caplog.clear()
    anon = Client()
    anon.post(reverse("eservices:login"), {"personnummer": factories.personnummer(777)})  # a failed try
    anon.post(reverse("eservices:login"), {"personnummer": citizen.personnummer})
    assert anon.post(reverse("eservices:case", args=[case.pk]), {"body": body}).status_code == 302
    login(client, org.handler_a1)
    html = client.get(reverse("mailboxes:case_thread", args=[case.pk])).content.decode()
    assert body in html  # the read really happened
    client.get(reverse("eservices:staff_cases") + f"?q={citizen.personnummer}")
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (
        citizen.personnummer,
        citizen.personnummer[2:],
        factories.personnummer(777),
        body,
        "Loggsson",
    ):
        assert secret not in logged, f"{secret!r} in the log"
