"""Second factor for staff with django-otp's TOTP devices."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

# Roles whose permissions reach many citizens' data or other people's access: the second factor is
# required for them when STAFF_OTP_ENABLED is on.
PRIVILEGED_PERMISSIONS = ("take_sick_calls", "manage_membership", "manage_roles", "review_access_log")


def otp_required_for(user) -> bool:
    if not settings.STAFF_OTP_ENABLED or not user.is_authenticated or user.is_citizen:
        return False
    return (
        any(user.has_perm(f"accounts.{p}") for p in PRIVILEGED_PERMISSIONS)
        or confirmed_device(user) is not None
    )


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def pending_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name="lifemsg", confirmed=False)


def qr_data_uri(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def secret_base32(device: TOTPDevice) -> str:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
