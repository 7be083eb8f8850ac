import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from audit.models import AuditEvent
from tests.factories import staff

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _password_login(client, user):
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": "test-password-123"}
    )
    assert response.status_code == 302


def test_privileged_role_must_enrol_before_reaching_anything(client, settings):
    settings.STAFF_OTP_ENABLED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the wrong code below would otherwise delay the right one
    user = staff(roles.SUPERANVANDARE, username="super1")
    _password_login(client, user)
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:otp_setup"))

    page = client.get(reverse("accounts:otp_setup"))
    assert "Aktivera tvåstegsverifiering" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(
        reverse("accounts:otp_setup"), {"token": "000000" if _code(device) != "000000" else "111111"}
    )
    assert "Koden är fel" in wrong.content.decode()

    done = client.post(reverse("accounts:otp_setup"), {"token": _code(device)})
    assert done.status_code == 302
    assert client.get(reverse("accounts:home")).status_code == 200
    assert AuditEvent.objects.filter(action="otp.enrol", actor=user).exists()


def test_enrolled_user_is_asked_for_a_code_at_next_login(client, settings):
    settings.STAFF_OTP_ENABLED = True
    user = staff(roles.LOGGRANSKARE, username="granskare1")
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    _password_login(client, user)
    assert client.get(reverse("accounts:home"))["Location"].startswith(reverse("accounts:otp_verify"))
    assert client.post(reverse("accounts:otp_verify"), {"token": _code(device)}).status_code == 302
    assert client.get(reverse("accounts:home")).status_code == 200


def test_plain_handlaggare_is_not_forced(client, settings):
    settings.STAFF_OTP_ENABLED = True
    user = staff(roles.HANDLAGGARE, username="handl1")
    _password_login(client, user)
    assert client.get(reverse("accounts:home")).status_code == 200


def test_second_factor_off_by_default(client):
    user = staff(roles.SUPERANVANDARE, username="super2")
    _password_login(client, user)
    assert client.get(reverse("accounts:home")).status_code == 200
    assert client.get(reverse("accounts:otp_setup")).status_code == 404
