"""Second factor for staff: django-otp's TOTP devices, with recovery codes (static device).

With STAFF_OTP_ENABLED (on by default in production) every staff member needs it before any page:
everyone who reads citizen data. A staff single sign-on login counts instead when the identity
provider asserted multi-factor (STAFF_OIDC_REQUIRED_AMR, checked at login by integrations.sso).
Enrolment: accounts.enrolment (only with an administrator's one-time link)."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

# Set by integrations.sso in the session of a staff single sign-on login.
SSO_SESSION_KEY = "staff_sso_login"


def otp_required_for(user) -> bool:
    return settings.STAFF_OTP_ENABLED and user.is_authenticated and not user.is_citizen


def sso_satisfies(request) -> bool:
    """A single sign-on session counts as the second factor only when the login was refused without
    the IdP's multi-factor claim."""
    return bool(request.session.get(SSO_SESSION_KEY)) and bool(settings.STAFF_OIDC_REQUIRED_AMR)


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def recovery_device(user) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def qr_data_uri(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def secret_base32(device: TOTPDevice) -> str:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
