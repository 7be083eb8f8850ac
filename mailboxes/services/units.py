"""Units, their group mailboxes, personal mailboxes and membership (which is group-mailbox access)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from audit.services import audit_event_record

from ..models import Mailbox, Unit, UnitMembership


@transaction.atomic
def unit_create(*, name: str, slug: str, actor=None) -> Unit:
    unit = Unit.objects.create(name=name, slug=slug)
    group = Group.objects.create(name=f"mailbox:{slug}")
    mailbox = Mailbox.objects.create(kind=Mailbox.Kind.GROUP, name=name, unit=unit, access_group=group)
    assign_perm("mailboxes.access_mailbox", group, mailbox)
    audit_event_record(actor=actor, action="unit.create", target=unit, after={"name": name})
    return unit


def mailbox_personal_for(user) -> Mailbox:
    """The user's personal mailbox, created on first need."""
    try:
        return user.personal_mailbox
    except Mailbox.DoesNotExist:
        mailbox, _ = Mailbox.objects.get_or_create(
            owner=user, defaults={"kind": Mailbox.Kind.PERSONAL, "name": user.display_name}
        )
        return mailbox


@transaction.atomic
def membership_add(*, unit: Unit, user, actor=None) -> UnitMembership:
    membership, created = UnitMembership.objects.get_or_create(unit=unit, user=user)
    if created:
        user.groups.add(unit.group_mailbox.access_group)
        mailbox_personal_for(user)
        audit_event_record(
            actor=actor, action="membership.add", target=unit, before=None, after={"user": user.username}
        )
    return membership


@transaction.atomic
def membership_remove(*, unit: Unit, user, actor=None) -> None:
    deleted, _ = UnitMembership.objects.filter(unit=unit, user=user).delete()
    if deleted:
        # Access to the group mailbox is this group membership and nothing else: removing it revokes
        # access for the next query (guardian does not cache across requests).
        user.groups.remove(unit.group_mailbox.access_group)
        audit_event_record(
            actor=actor, action="membership.remove", target=unit, before={"user": user.username}, after=None
        )


# --- group-mailbox access is exactly the unit's membership (added with the administration UI) ------


@transaction.atomic
def group_mailbox_access_reset(
    *, unit: Unit, actor=None, user=None, reason: str = ""
) -> dict[str, list[str]]:
    """Make access to the unit's group mailbox exactly the unit's membership: take away access held any
    other way (in the access group without membership, a direct guardian permission on the mailbox,
    another group's permission on it) and give it back to members who lost it. With `user`, only
    that person's access is set right. Audited as mailbox_access.revoke / .restore with who and what.

    membership_add/membership_remove keep this true on their own; this repairs what was changed
    around them (the Django admin, a script) so cross-unit access is only ever an explicit membership.
    """
    mailbox = Mailbox.objects.select_related("access_group").get(unit=unit)
    group = mailbox.access_group
    members = set(UnitMembership.objects.filter(unit=unit).values_list("user_id", flat=True))
    in_group = set(group.user_set.values_list("pk", flat=True))
    perm_rows = {
        "content_type": ContentType.objects.get_for_model(Mailbox),
        "object_pk": str(mailbox.pk),
        "permission__codename": "access_mailbox",
    }
    direct = UserObjectPermission.objects.filter(**perm_rows)
    other_groups = GroupObjectPermission.objects.filter(**perm_rows).exclude(group=group)
    if user is not None:
        members &= {user.pk}
        in_group &= {user.pk}
        direct = direct.filter(user=user)
        other_groups = other_groups.none()
    strays = in_group - members
    missing = members - in_group
    direct_ids = set(direct.values_list("user_id", flat=True))
    group_names = sorted(other_groups.values_list("group__name", flat=True))
    names = dict(
        get_user_model().objects.filter(pk__in=strays | missing | direct_ids).values_list("pk", "username")
    )
    if strays:
        group.user_set.remove(*strays)
    if direct_ids:
        direct.delete()
    if group_names:
        other_groups.delete()
    if missing:
        group.user_set.add(*missing)
    summary = {
        "removed_from_access_group": sorted(names[i] for i in strays),
        "direct_permissions_removed": sorted(names[i] for i in direct_ids),
        "group_permissions_removed": group_names,
        "restored_to_members": sorted(names[i] for i in missing),
    }
    _access_reset_audit(unit=unit, actor=actor, reason=reason, summary=summary)
    return summary


def _access_reset_audit(*, unit: Unit, actor, reason: str, summary: dict[str, list[str]]) -> None:
    revoked = {k: v for k, v in summary.items() if v and k != "restored_to_members"}
    if revoked:
        audit_event_record(
            actor=actor,
            action="mailbox_access.revoke",
            target=unit,
            before=revoked,
            after=None,
            reason=reason,
        )
    if summary["restored_to_members"]:
        audit_event_record(
            actor=actor,
            action="mailbox_access.restore",
            target=unit,
            before=None,
            after={"users": summary["restored_to_members"]},
            reason=reason,
        )
