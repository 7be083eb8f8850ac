"""Every write to units, membership, mailboxes, threads, messages and deliveries goes through here.

Lock order, so that two workers never deadlock: message row, then summary rows by ascending id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit.services import audit_event_record

from .models import Attachment, Delivery, Mailbox, MailboxThread, Message, Thread, Unit, UnitMembership

SNIPPET_LENGTH = 140


# --- units, mailboxes, membership -------------------------------------------------------------


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


# --- threads and messages -------------------------------------------------------------------


def thread_create(*, subject: str, kind: str = Thread.Kind.INTERNAL, citizen=None) -> Thread:
    return Thread.objects.create(subject=subject, kind=kind, citizen=citizen)


@transaction.atomic
def message_store(
    *,
    thread: Thread,
    sender,
    body: str,
    sender_mailbox: Mailbox | None = None,
    recipients: Sequence[Mailbox] = (),
    kind: str = Message.Kind.NORMAL,
    attachments: Iterable[Attachment] = (),
    created_at=None,
) -> Message:
    """Store a message (immutable from here on). Delivery to recipients is routing's job
    (absence.routing.route_message, enqueued on commit by the caller's service); the sender's own
    mailbox gets its read copy at once so the thread shows there as sent."""
    now = created_at or timezone.now()
    message = Message.objects.create(
        thread=thread, sender=sender, sender_mailbox=sender_mailbox, body=body, kind=kind, created_at=now
    )
    if recipients:
        message.recipients.set(recipients)
    attachment_ids = [a.pk for a in attachments]
    if attachment_ids:
        Attachment.objects.filter(pk__in=attachment_ids, message__isnull=True).update(message=message)
    Thread.objects.filter(pk=thread.pk, last_message_at__lt=now).update(last_message_at=now)
    if sender_mailbox is not None:
        deliveries_create(
            message=message,
            plans=[DeliveryPlan(mailbox_id=sender_mailbox.pk, reason=Delivery.Reason.SENT)],
            read_by=sender,
        )
    return message


@dataclass(frozen=True)
class DeliveryPlan:
    mailbox_id: int
    reason: str = Delivery.Reason.DIRECT
    forwarded_for_id: int | None = None
    # The mailbox whose copy this one was forwarded from (its delivery of the same message).
    forwarded_from_mailbox_id: int | None = None
    forwarded_by_id: int | None = None
    forward_note: str = ""


def _display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


@transaction.atomic
def deliveries_create(*, message: Message, plans: Sequence[DeliveryPlan], read_by=None) -> list[Delivery]:
    """Place `message` in each planned mailbox that does not hold it yet, and update the summaries.

    Idempotent: the unique (message, mailbox) constraint and the lock on the message row make a
    second call (or a concurrent one) create nothing. Returns the deliveries created by this call.
    """
    Message.objects.select_for_update().filter(pk=message.pk).values_list("pk", flat=True).first()
    existing = dict(Delivery.objects.filter(message=message).values_list("mailbox_id", "pk"))
    now = timezone.now()
    seen: set[int] = set(existing)
    new: list[Delivery] = []
    for plan in plans:
        if plan.mailbox_id in seen:
            continue
        seen.add(plan.mailbox_id)
        is_read = read_by is not None
        new.append(
            Delivery(
                message=message,
                mailbox_id=plan.mailbox_id,
                thread_id=message.thread_id,
                reason=plan.reason,
                forwarded_for_id=plan.forwarded_for_id,
                forwarded_by_id=plan.forwarded_by_id,
                forward_note=plan.forward_note,
                created_at=now,
                read_at=now if is_read else None,
                read_by=read_by if is_read else None,
            )
        )
    if not new:
        return []
    Delivery.objects.bulk_create(new)
    # Link forwarded copies to the copy they stand for (created now or earlier).
    plan_for = {}
    for plan in plans:
        plan_for.setdefault(plan.mailbox_id, plan)
    by_mailbox = existing | {d.mailbox_id: d.pk for d in new}
    links = []
    for delivery in new:
        origin = plan_for[delivery.mailbox_id].forwarded_from_mailbox_id
        if origin and origin in by_mailbox:
            delivery.forwarded_from_id = by_mailbox[origin]
            links.append(delivery)
    if links:
        Delivery.objects.bulk_update(links, ["forwarded_from"])
    away_origins = [d.forwarded_from_id for d in new if d.reason == Delivery.Reason.FORWARDED_ABSENCE]
    if away_origins:
        Delivery.objects.filter(pk__in=away_origins, away_forwarded_at__isnull=True).update(
            away_forwarded_at=now
        )
    _summaries_add(message=message, deliveries=new)
    return new


def _summaries_add(*, message: Message, deliveries: Sequence[Delivery]) -> None:
    sender_name = _display_name(message.sender) if message.sender_id else ""
    snippet = " ".join(message.body.split())[:SNIPPET_LENGTH]
    mailbox_ids = sorted({d.mailbox_id for d in deliveries})
    MailboxThread.objects.bulk_create(
        [
            MailboxThread(mailbox_id=mid, thread_id=message.thread_id, last_activity_at=message.created_at)
            for mid in mailbox_ids
        ],
        ignore_conflicts=True,
    )
    unread_by_mailbox = Counter(d.mailbox_id for d in deliveries if d.read_at is None)
    forwarded_for = {
        d.mailbox_id: d.forwarded_for_id for d in deliveries if d.reason == Delivery.Reason.FORWARDED_ABSENCE
    }
    names = {}
    if forwarded_for:
        from django.contrib.auth import get_user_model

        names = {
            u.pk: _display_name(u)
            for u in get_user_model().objects.filter(pk__in=set(forwarded_for.values()))
        }
    # One UPDATE per distinct (unread, forwarded) shape, rows locked in mailbox order.
    groups: dict[tuple[int, str], list[int]] = {}
    for mid in mailbox_ids:
        key = (unread_by_mailbox.get(mid, 0), names.get(forwarded_for.get(mid), ""))
        groups.setdefault(key, []).append(mid)
    for (unread, fwd_name), mids in sorted(groups.items(), key=lambda kv: kv[1][0]):
        list(
            MailboxThread.objects.select_for_update()
            .filter(thread_id=message.thread_id, mailbox_id__in=mids)
            .order_by("id")
            .values_list("id", flat=True)
        )
        updates = {
            "message_count": F("message_count") + 1,
            "unread_count": F("unread_count") + unread,
        }
        if fwd_name:
            updates["forwarded_for_name"] = fwd_name
        MailboxThread.objects.filter(
            thread_id=message.thread_id, mailbox_id__in=mids, last_activity_at__lte=message.created_at
        ).update(
            last_activity_at=message.created_at,
            latest_sender_name=sender_name,
            latest_snippet=snippet,
            **updates,
        )
        MailboxThread.objects.filter(
            thread_id=message.thread_id, mailbox_id__in=mids, last_activity_at__gt=message.created_at
        ).update(**updates)
        if unread:
            # A new unread message reopens the thread in that mailbox.
            MailboxThread.objects.filter(
                thread_id=message.thread_id, mailbox_id__in=mids, handled_at__isnull=False
            ).update(handled_at=None, handled_by=None)


@transaction.atomic
def deliveries_mark_read(*, mailbox: Mailbox, thread: Thread, user) -> int:
    """Mark this mailbox's unread copies of the thread read by `user`: one UPDATE plus the summary."""
    summary = MailboxThread.objects.select_for_update().filter(mailbox=mailbox, thread=thread).first()
    now = timezone.now()
    count = Delivery.objects.filter(mailbox=mailbox, thread=thread, read_at__isnull=True).update(
        read_at=now, read_by=user
    )
    if summary is not None and count:
        MailboxThread.objects.filter(pk=summary.pk).update(
            unread_count=Greatest(F("unread_count") - count, 0)
        )
    return count


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
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission, UserObjectPermission

    mailbox = Mailbox.objects.select_related("access_group").get(unit=unit)
    group = mailbox.access_group
    User = get_user_model()
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
    names = dict(User.objects.filter(pk__in=strays | missing | direct_ids).values_list("pk", "username"))
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
    if missing:
        audit_event_record(
            actor=actor,
            action="mailbox_access.restore",
            target=unit,
            before=None,
            after={"users": summary["restored_to_members"]},
            reason=reason,
        )
    return summary
