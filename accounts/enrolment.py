"""Enrolment of a staff member's second factor: only with a one-time link an administrator issued.

A password alone never enrols a device (whoever has the password is not thereby the person), so
the first TOTP device comes through a link: issued by someone who may manage roles (never for
themselves), audited, valid for STAFF_OTP_ENROLMENT_LINK_HOURS, used once. Enrolling replaces the
user's earlier devices (a lost phone) and gives ten recovery codes (django-otp's static device), shown
once. Bootstrap (the first administrator): `manage.py otp_enrolment_link <username>`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_event_record

from .models import OtpEnrolmentLink

MANAGE_ROLES_PERM = "accounts.manage_roles"
RECOVERY_CODES = 10


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def enrolment_link_issue(*, user, actor, reason: str = "") -> tuple[OtpEnrolmentLink, str]:
    """A new enrolment link for `user` (earlier unused ones stop working). Returns the link and its
    token, which is not stored and must be handed to the user now. `actor` None: a management
    command run by an operator."""
    if actor is not None and (not actor.has_perm(MANAGE_ROLES_PERM) or actor.pk == user.pk):
        raise PermissionDenied
    if not user.is_staff_user or not user.is_active:
        raise ValidationError(
            _("Only active staff accounts can enrol two-step verification."), code="not_staff"
        )
    now = timezone.now()
    OtpEnrolmentLink.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    token = secrets.token_urlsafe(32)
    link = OtpEnrolmentLink.objects.create(
        user=user,
        issued_by=actor,
        token_hash=_hash(token),
        expires_at=now + timedelta(hours=settings.STAFF_OTP_ENROLMENT_LINK_HOURS),
    )
    audit_event_record(
        actor=actor,
        action="otp.enrolment_link_issue",
        target=user,
        after={"user": user.username, "link": link.pk, "expires_at": link.expires_at.isoformat()},
        reason=reason or ("" if actor else "management command"),
    )
    return link, token


def enrolment_link_valid(*, user, token: str) -> OtpEnrolmentLink | None:
    """The user's unused, unexpired link with this token, or None (wrong user, used, expired)."""
    return OtpEnrolmentLink.objects.filter(
        user=user, token_hash=_hash(token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def pending_device(user) -> TOTPDevice:
    """The TOTP device being enrolled (unconfirmed until the user enters a code from it)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name="lifemsg", confirmed=False)


@transaction.atomic
def enrolment_complete(*, user, token: str, device: TOTPDevice) -> list[str]:
    """Confirm `device` (its code already checked) with the link, which is used up; the user's other
    devices go. Returns the recovery codes, which are not shown again."""
    link = (
        OtpEnrolmentLink.objects.select_for_update()
        .filter(user=user, token_hash=_hash(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if link is None:
        raise ValidationError("The enrolment link is not valid.", code="link")
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=user).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    recovery = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=recovery, token=code) for code in codes])
    audit_event_record(
        actor=user,
        action="otp.enrol",
        target=user,
        after={"user": user.username, "link": link.pk, "recovery_codes": RECOVERY_CODES},
    )
    return codes


def recovery_code_used(*, user) -> int:
    """Record that the user logged in with a recovery code; returns how many are left."""
    left = StaticToken.objects.filter(device__user=user).count()
    audit_event_record(
        actor=user, action="otp.recovery_code_use", target=user, after={"user": user.username, "left": left}
    )
    return left
