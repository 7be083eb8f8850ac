"""Multi-factor for everyone who reads citizen data (issue 20, part 3): with STAFF_OTP_ENABLED (on by
default in production) every staff member, handläggare included, needs a second factor before any
page; the first device is enrolled only with an administrator's one-time link; recovery codes work
once; a staff SSO login counts only when the IdP's multi-factor was required."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.enrolment import enrolment_link_issue
from accounts.models import OtpEnrolmentLink
from audit.models import AccessLogEntry, AuditEvent
from tests import factories
from tests.conftest import login, login_verified
from tests.mailboxes.conftest import group, internal_thread, personal

pytestmark = pytest.mark.django_db


@pytest.fixture
def otp_on(settings):
    settings.STAFF_OTP_ENABLED = True
    # A wrong code below would otherwise delay the right one (django-otp throttling).
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    return settings


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def password_login(client, user):
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": "test-password-123"}
    )
    assert response.status_code == 302
    return client


def enrol(client, user, token) -> list[str]:
    url = reverse("accounts:otp_enrol", args=[token])
    assert client.get(url).status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.post(url, {"token": code(device)})
    assert page.status_code == 200
    return [t.token for t in StaticToken.objects.filter(device__user=user)]


def test_production_settings_require_a_second_factor_by_default():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lifemsg.settings.production",
        "SECRET_KEY": "p" * 64,
        "ACCESS_LOG_HMAC_KEY": "k" * 40,
    }
    env.pop("STAFF_OTP_ENABLED", None)
    program = (
        "import django; django.setup(); from django.conf import settings; print(settings.STAFF_OTP_ENABLED)"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        env=env,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
        check=True,
    )
    assert result.stdout.strip() == "True"


def test_a_handlaggare_without_a_second_factor_cannot_open_any_mailbox(client, org, otp_on):
    inbox = personal(org.handler_a1)
    shared = group(org.unit_a)
    message = internal_thread(org.handler_a2, [inbox, shared], body="Hemligt innehåll")
    password_login(client, org.handler_a1)
    urls = [
        reverse("mailboxes:index"),
        reverse("mailboxes:mailbox", args=[inbox.pk]),
        reverse("mailboxes:mailbox", args=[shared.pk]),
        reverse("mailboxes:thread", args=[inbox.pk, message.thread_id]),
        reverse("mailboxes:thread", args=[shared.pk, message.thread_id]),
        reverse("mailboxes:search") + "?q=Hemligt",
        reverse("accounts:home"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:otp_setup")), url
        assert "Hemligt" not in response.content.decode()
    polled = client.get(reverse("mailboxes:unread"), headers={"HX-Request": "true"})
    assert polled.status_code == 401 and polled["HX-Redirect"] == reverse("accounts:otp_setup")
    assert not AccessLogEntry.objects.exists()


def test_the_same_handlaggare_reads_the_mailbox_once_verified(client, org, otp_on):
    inbox = personal(org.handler_a1)
    message = internal_thread(org.handler_a2, [inbox], body="Hemligt innehåll")
    login_verified(client, org.handler_a1)
    page = client.get(reverse("mailboxes:thread", args=[inbox.pk, message.thread_id]))
    assert page.status_code == 200 and "Hemligt innehåll" in page.content.decode()


def test_every_staff_role_is_held_to_it(client, org, otp_on):
    for user in (org.handler_a1, org.admin, org.superuser, org.sysadmin, org.log_reviewer):
        client.logout()
        login(client, user)
        assert client.get(reverse("accounts:home"))["Location"].startswith(reverse("accounts:otp_setup"))


def test_an_sso_login_counts_only_when_the_idps_multi_factor_was_required(client, org, otp_on):
    from integrations.sso import SSO_SESSION_KEY

    login(client, org.handler_a1)
    session = client.session
    session[SSO_SESSION_KEY] = True
    session.save()
    otp_on.STAFF_OIDC_REQUIRED_AMR = []
    assert client.get(reverse("mailboxes:index")).status_code == 302
    otp_on.STAFF_OIDC_REQUIRED_AMR = ["mfa"]
    assert client.get(reverse("mailboxes:index")).status_code == 200


def test_a_first_login_without_an_enrolment_link_cannot_enrol(client, org, otp_on):
    password_login(client, org.handler_a1)
    page = client.get(reverse("accounts:otp_setup"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "aktiveringslänk" in text and "<img" not in text
    assert not TOTPDevice.objects.filter(user=org.handler_a1).exists()  # no secret was made
    assert client.post(reverse("accounts:otp_setup"), {"token": "123456"}).status_code == 200
    guessed = client.get(reverse("accounts:otp_enrol", args=["gissad-lank"]))
    assert guessed.status_code == 410 and "<img" not in guessed.content.decode()
    assert not TOTPDevice.objects.filter(user=org.handler_a1).exists()
    assert client.get(reverse("mailboxes:index")).status_code == 302


def test_an_administrator_issues_a_link_that_works_once(client, org, otp_on):
    admin_client = login_verified(client.__class__(), org.superuser)
    response = admin_client.post(reverse("administration:enrolment_link", args=[org.handler_a1.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    url = response.context["url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    issued = AuditEvent.objects.get(action="otp.enrolment_link_issue")
    assert issued.actor == org.superuser and issued.target_id == str(org.handler_a1.pk)

    password_login(client, org.handler_a1)
    codes = enrol(client, org.handler_a1, token)
    assert len(codes) == 10
    assert client.get(reverse("mailboxes:index")).status_code == 200
    assert AuditEvent.objects.filter(action="otp.enrol", actor=org.handler_a1).exists()
    again = client.get(reverse("accounts:otp_enrol", args=[token]))
    assert again.status_code == 410
    assert "har redan använts" in again.content.decode()


def test_a_link_expires(client, org, otp_on):
    _link, token = enrolment_link_issue(user=org.handler_a1, actor=org.superuser)
    OtpEnrolmentLink.objects.filter(user=org.handler_a1).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    password_login(client, org.handler_a1)
    assert client.get(reverse("accounts:otp_enrol", args=[token])).status_code == 410
    assert not TOTPDevice.objects.filter(user=org.handler_a1, confirmed=True).exists()


def test_a_link_is_for_its_own_user_only_and_a_new_one_replaces_it(client, org, otp_on):
    _link, first = enrolment_link_issue(user=org.handler_a1, actor=org.superuser)
    password_login(client, org.handler_a2)
    assert client.get(reverse("accounts:otp_enrol", args=[first])).status_code == 410
    _link, second = enrolment_link_issue(user=org.handler_a1, actor=org.superuser)
    client.logout()
    password_login(client, org.handler_a1)
    assert client.get(reverse("accounts:otp_enrol", args=[first])).status_code == 410
    assert client.get(reverse("accounts:otp_enrol", args=[second])).status_code == 200


def test_nobody_issues_a_link_for_themselves_and_a_handlaggare_issues_none(client, org, otp_on):
    admin_client = login_verified(client.__class__(), org.superuser)
    assert (
        admin_client.post(reverse("administration:enrolment_link", args=[org.superuser.pk])).status_code
        == 403
    )
    login_verified(client, org.handler_a1)
    assert client.post(reverse("administration:enrolment_link", args=[org.handler_a2.pk])).status_code == 403
    assert not OtpEnrolmentLink.objects.exists()


def test_a_recovery_code_works_once(client, org, otp_on):
    _link, token = enrolment_link_issue(user=org.handler_a1, actor=org.superuser)
    password_login(client, org.handler_a1)
    codes = enrol(client, org.handler_a1, token)
    client.logout()

    password_login(client, org.handler_a1)
    assert client.get(reverse("accounts:home"))["Location"].startswith(reverse("accounts:otp_verify"))
    used = client.post(reverse("accounts:otp_verify"), {"token": codes[0]})
    assert used.status_code == 302
    assert client.get(reverse("mailboxes:index")).status_code == 200
    event = AuditEvent.objects.get(action="otp.recovery_code_use")
    assert event.after["left"] == 9
    client.logout()

    password_login(client, org.handler_a1)
    again = client.post(reverse("accounts:otp_verify"), {"token": codes[0]})
    assert again.status_code == 200 and "Koden är fel" in again.content.decode()
    assert client.get(reverse("mailboxes:index")).status_code == 302
    assert client.post(reverse("accounts:otp_verify"), {"token": codes[1]}).status_code == 302


def test_enrolling_again_replaces_the_old_app_and_codes(client, org, otp_on):
    _link, token = enrolment_link_issue(user=org.handler_a1, actor=org.superuser)
    password_login(client, org.handler_a1)
    old_codes = enrol(client, org.handler_a1, token)
    old_device = TOTPDevice.objects.get(user=org.handler_a1)
    _link, token = enrolment_link_issue(user=org.handler_a1, actor=org.superuser)
    new_codes = enrol(client, org.handler_a1, token)
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists()
    assert not set(old_codes) & set(new_codes)
    assert StaticToken.objects.filter(device__user=org.handler_a1).count() == 10


def test_the_first_administrator_gets_a_link_from_the_command_line(org, otp_on):
    out = StringIO()
    call_command(
        "otp_enrolment_link", org.superuser.username, "--base-url", "https://lifemsg.example.se", stdout=out
    )
    first_line = out.getvalue().splitlines()[0]
    assert first_line.startswith("https://lifemsg.example.se/tvastegsverifiering/aktivera/")
    event = AuditEvent.objects.get(action="otp.enrolment_link_issue")
    assert event.actor is None and event.reason == "manage.py otp_enrolment_link"


def test_second_factor_off_in_the_test_settings_by_default(client):
    user = factories.staff(roles.SUPERANVANDARE, username="super2")
    password_login(client, user)
    assert client.get(reverse("accounts:home")).status_code == 200
    assert client.get(reverse("accounts:otp_setup")).status_code == 404


def test_the_sso_session_key_is_the_one_integrations_sets():
    from accounts.otp import SSO_SESSION_KEY
    from integrations import sso

    assert sso.SSO_SESSION_KEY == SSO_SESSION_KEY
