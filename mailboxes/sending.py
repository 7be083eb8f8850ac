"""Staff writing in threads, with the access log of what they do in citizen threads: on top of the
mailbox core and the e-service (views call these). Messages are stored through the services and
routing is asked for on commit through the core's seam (mailboxes.hooks.routing_request), so an
internal message to someone away is forwarded exactly as routing decides. Each function is one
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AccessLogEntry
from eservices.services import staff_message_send
from replies.services import draft_discard

from . import hooks
from .models import Attachment, Delivery, Mailbox, Message, UnitMembership
from .permissions import ThreadAccess, is_protected
from .services.deliveries import deliveries_mark_unread
from .services.messages import internal_reply_store, internal_thread_start, note_add
from .services.reads import access_log_citizen_read
from .services.thread_state import (
    thread_forward,
    thread_mark_handled,
    thread_release,
    thread_reopen,
    thread_take,
)


@transaction.atomic
def internal_message_send(
    *, sender, recipients: Sequence[Mailbox], subject: str, body: str, attachments: Iterable[Attachment] = ()
) -> Message:
    message = internal_thread_start(
        sender=sender, recipients=recipients, subject=subject, body=body, attachments=attachments
    )
    hooks.routing_request(message)
    return message


@transaction.atomic
def internal_reply_send(
    *,
    access: ThreadAccess,
    sender,
    recipients: Sequence[Mailbox],
    body: str,
    attachments: Iterable[Attachment] = (),
) -> Message:
    message = internal_reply_store(
        thread=access.thread,
        sender=sender,
        via_mailbox=access.mailbox,
        recipients=recipients,
        body=body,
        attachments=attachments,
    )
    draft_discard(user=sender, thread=access.thread)  # the sent reply replaces the draft
    hooks.routing_request(message)
    return message


@transaction.atomic
def citizen_reply_send(
    *, access: ThreadAccess, sender, body: str, attachments: Iterable[Attachment] = ()
) -> Message:
    """The staff reply's one door: through the e-service's service (staff_message_send), which
    refuses anyone but handler and co-handlers (NotCaseTeam, a PermissionDenied) and, written from a
    group mailbox, keeps that mailbox a read copy; the access log records the reply."""
    # Asked before the message exists: a reply answers something the citizen wrote in the thread.
    answers_citizen = Message.objects.filter(
        thread_id=access.thread.pk, sender_id=access.thread.citizen_id
    ).exists()
    message = staff_message_send(
        case=access.case, sender=sender, body=body, attachments=attachments, via_mailbox=access.mailbox
    )
    draft_discard(user=sender, thread=access.thread)  # the sent message replaces the draft
    _log_action(
        access,
        user=sender,
        action=AccessLogEntry.Action.REPLY if answers_citizen else AccessLogEntry.Action.SEND,
        object_type="message",
        object_id=message.pk,
    )
    return message


@transaction.atomic
def citizen_note_add(*, access: ThreadAccess, author, via_mailbox: Mailbox, body: str) -> Message:
    note = note_add(thread=access.thread, author=author, via_mailbox=via_mailbox, body=body)
    _log_action(
        access, user=author, action=AccessLogEntry.Action.NOTE, object_type="message", object_id=note.pk
    )
    return note


THREAD_STATE_SERVICES = {
    AccessLogEntry.Action.TAKE: thread_take,
    AccessLogEntry.Action.RELEASE: thread_release,
    AccessLogEntry.Action.HANDLED: thread_mark_handled,
    AccessLogEntry.Action.REOPEN: thread_reopen,
}


@transaction.atomic
def thread_state_change(*, access: ThreadAccess, action: str, user) -> None:
    """Take, release, mark handled or reopen a thread in a mailbox; on a citizen thread the access
    log records it in the same transaction (no log entry, no change)."""
    THREAD_STATE_SERVICES[action](mailbox=access.mailbox, thread=access.thread, user=user)
    _log_action(access, user=user, action=action)


@transaction.atomic
def thread_mark_unread(*, access: ThreadAccess, user) -> None:
    """Mark the thread unread again in the mailbox it was opened through; on a citizen thread the
    access log records it in the same transaction (as marking it read is)."""
    deliveries_mark_unread(mailbox=access.mailbox, thread=access.thread)
    _log_action(access, user=user, action=AccessLogEntry.Action.MARK_UNREAD)


def _log_action(access: ThreadAccess, *, user, action: str, **fields) -> None:
    if access.thread.is_citizen:
        access_log_citizen_read(
            user=user,
            action=action,
            route=access.route,
            thread=access.thread,
            mailbox=access.mailbox,
            case=access.case,
            **fields,
        )


@transaction.atomic
def thread_forward_by_hand(*, access: ThreadAccess, target: Mailbox, user, note: str = "") -> Delivery | None:
    """Forward by hand, to a group mailbox of one of the forwarder's own units and with a reason
    (PermissionDenied, ValidationError otherwise); for a citizen thread the access log records who
    passed it on, where and why, in the same transaction (if the log cannot be written, nothing is
    forwarded). The target's members get the thread as it stands (mailboxes.permissions)."""
    if not target.is_group or not UnitMembership.objects.filter(unit_id=target.unit_id, user=user).exists():
        raise PermissionDenied
    if is_protected(access.case):  # protected identity: never a group mailbox
        raise PermissionDenied
    if not note.strip():
        raise ValidationError(_("Say briefly why you forward the thread."), code="reason")
    delivery = thread_forward(
        mailbox=access.mailbox, thread=access.thread, target=target, user=user, note=note
    )
    if delivery is not None:
        _log_action(
            access,
            user=user,
            action=AccessLogEntry.Action.FORWARD,
            object_type="delivery",
            object_id=delivery.pk,
            detail={"to_mailbox": target.pk, "to_mailbox_name": target.name, "reason": note},
        )
    return delivery
