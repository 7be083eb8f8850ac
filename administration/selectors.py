"""Reads for the administration pages: units with members, who reaches a group mailbox, staff with
roles, and the changes recorded about them. Each list is a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.models import OtpEnrolmentLink
from accounts.roles import ALL_ROLES
from audit.models import AuditEvent
from eservices.models import Case
from mailboxes.models import Mailbox, Unit, UnitMembership

User = get_user_model()


def _role_groups() -> Prefetch:
    return Prefetch(
        "groups", queryset=Group.objects.filter(name__in=ALL_ROLES).order_by("name"), to_attr="role_groups"
    )


def units_overview() -> QuerySet[Unit]:
    members = UnitMembership.objects.select_related("user").order_by(
        "user__last_name", "user__first_name", "user__username"
    )
    return (
        Unit.objects.select_related("group_mailbox")
        .annotate(member_count=Count("memberships"))
        .prefetch_related(Prefetch("memberships", queryset=members))
        .order_by("name")
    )


def unit_members(*, unit: Unit) -> QuerySet[UnitMembership]:
    other_units = UnitMembership.objects.exclude(unit=unit).select_related("unit").order_by("unit__name")
    users = User.objects.prefetch_related(_role_groups(), Prefetch("unit_memberships", queryset=other_units))
    return (
        UnitMembership.objects.filter(unit=unit)
        .prefetch_related(Prefetch("user", queryset=users))
        .order_by("user__last_name", "user__first_name", "user__username")
    )


def staff_addable(*, unit: Unit) -> QuerySet:
    return (
        User.objects.filter(kind=User.Kind.STAFF, is_active=True)
        .exclude(unit_memberships__unit=unit)
        .order_by("last_name", "first_name", "username")
    )


@dataclass
class StrayAccess:
    """Ways into a group mailbox other than membership of its unit (none, normally)."""

    users_in_group: list = field(default_factory=list)
    users_with_direct_permission: list = field(default_factory=list)
    groups_with_permission: list[str] = field(default_factory=list)
    members_without_access: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.users_in_group
            or self.users_with_direct_permission
            or self.groups_with_permission
            or self.members_without_access
        )


def unit_stray_access(*, unit: Unit) -> StrayAccess:
    mailbox = Mailbox.objects.select_related("access_group").get(unit=unit)
    group = mailbox.access_group
    members = UnitMembership.objects.filter(unit=unit).values("user_id")
    rows = {
        "content_type": ContentType.objects.get_for_model(Mailbox),
        "object_pk": str(mailbox.pk),
        "permission__codename": "access_mailbox",
    }
    direct_ids = UserObjectPermission.objects.filter(**rows).values("user_id")
    return StrayAccess(
        users_in_group=list(User.objects.filter(groups=group).exclude(pk__in=members).order_by("username")),
        users_with_direct_permission=list(User.objects.filter(pk__in=direct_ids).order_by("username")),
        groups_with_permission=sorted(
            GroupObjectPermission.objects.filter(**rows)
            .exclude(group=group)
            .values_list("group__name", flat=True)
        ),
        members_without_access=list(
            User.objects.filter(pk__in=members).exclude(groups=group).order_by("username")
        ),
    )


def open_cases_of(*, unit: Unit, user) -> int:
    """Open cases in the unit the person handles or co-handles (they keep those rights until the
    cases are reassigned)."""
    return (
        Case.objects.filter(unit=unit, status=Case.Status.OPEN)
        .filter(Q(handler=user) | Q(co_handlers=user))
        .distinct()
        .count()
    )


def unit_changes(*, unit: Unit, limit: int = 50) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(target_type="mailboxes.unit", target_id=str(unit.pk))
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


def staff_list(*, text: str = "", role: str = "") -> QuerySet:
    qs = User.objects.filter(kind=User.Kind.STAFF)
    for word in text.split():
        qs = qs.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(username__icontains=word)
        )
    if role:
        qs = qs.filter(groups__name=role)
    memberships = UnitMembership.objects.select_related("unit").order_by("unit__name")
    return qs.prefetch_related(_role_groups(), Prefetch("unit_memberships", queryset=memberships)).order_by(
        "last_name", "first_name", "username"
    )


def staff_member(*, user_id: int):
    """A staff account, or None (citizens are never managed here)."""
    return staff_list().filter(pk=user_id).first()


def staff_changes(*, user, limit: int = 50) -> list[AuditEvent]:
    about_user = Q(target_type=User._meta.label_lower, target_id=str(user.pk))
    membership = Q(action__startswith="membership.") & (
        Q(after__user=user.username) | Q(before__user=user.username)
    )
    return list(
        AuditEvent.objects.filter(about_user | membership)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


@dataclass(frozen=True)
class SecondFactorState:
    enrolled: bool
    link_expires_at: datetime | None  # of an unused, unexpired enrolment link


def staff_second_factor(*, user) -> SecondFactorState:
    """Whether the staff member has enrolled a second factor, and an open enrolment link's expiry."""
    link = (
        OtpEnrolmentLink.objects.filter(user=user, used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )
    return SecondFactorState(
        enrolled=TOTPDevice.objects.filter(user=user, confirmed=True).exists(), link_expires_at=link
    )
