"""Every write to absences: create, change, start, end and the out-of-office reply (the unread
escalation is absence.escalation). Each change is an audit event naming who did it (None: the
system, by the clock).

Lock order: the handler's user row (serialises overlapping plans for one person, and makes an
absence's start and a routing run for that person wait for each other: absence.away.who_is_away),
then the absence row, then — through the routing and mailbox services — message rows and summary rows by id.
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from mailboxes.models import Delivery, Mailbox, Message
from mailboxes.services.messages import message_store
from mailboxes.services.units import mailbox_personal_for

from . import routing
from .models import Absence, AutoReply
from .selectors import active_absences_for, forward_target_choices
from .templatetags.absence_tags import absence_period
from .timeutil import last_day_text

logger = logging.getLogger(__name__)
User = get_user_model()


# --- texts shown to others -----------------------------------------------------------------------


def citizen_away_text(absence: Absence) -> str:
    """What a citizen is told, in the current language. Never the reason; the return date only when
    the handler chose to show it; never anything about the case."""
    parts = [_("This is an automatic reply.")]
    if absence.message_to_citizens.strip():
        parts.append(absence.message_to_citizens.strip())
    else:
        parts.append(
            _(
                "Your case worker is away at the moment. Your message has arrived and will be read by "
                "your case worker's colleagues."
            )
        )
    end = absence.effective_end
    if absence.show_return_date_to_citizens and end is not None:
        parts.append(_("Your case worker is away until and including %(day)s.") % {"day": last_day_text(end)})
    parts.append(_("You do not need to send your message again."))
    return "\n\n".join(parts)


def colleague_away_text(absence: Absence) -> str:
    """What colleagues see in the mail tip (never the reason)."""
    end = absence.effective_end
    if end is None:
        line = _("%(name)s is away until further notice.") % {"name": absence.handler.display_name}
    else:
        line = _("%(name)s is away until and including %(day)s.") % {
            "name": absence.handler.display_name,
            "day": last_day_text(end),
        }
    line += " " + _("Messages also go to %(target)s.") % {"target": absence.forward_to.name}
    if absence.message_to_colleagues.strip():
        line += "\n\n" + absence.message_to_colleagues.strip()
    return line


# --- create, change, start, end ------------------------------------------------------------------


def _snapshot(absence: Absence) -> dict:
    return {
        "handler": absence.handler.username,
        "kind": absence.kind,
        "starts_at": absence.starts_at.isoformat(),
        "ends_at": absence.ends_at.isoformat() if absence.ends_at else None,
        "forward_to": absence.forward_to.name,
        "forward_to_id": absence.forward_to_id,
        "message_to_colleagues": absence.message_to_colleagues,
        "message_to_citizens": absence.message_to_citizens,
        "show_return_date_to_citizens": absence.show_return_date_to_citizens,
    }


def _check_target(*, handler, forward_to: Mailbox) -> None:
    if forward_to.pk not in {m.pk for m in forward_target_choices(handler)}:
        raise ValidationError(
            _(
                "Messages can only be forwarded to a group mailbox of %(name)s's units, or to a named "
                "deputy where the unit allows it."
            )
            % {"name": handler.display_name},
            code="forward_target",
        )


def _check_times(*, starts_at: datetime, ends_at: datetime | None, now: datetime) -> None:
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError(_("The absence must end after it starts."), code="end_before_start")
    if ends_at is not None and ends_at <= now:
        raise ValidationError(_("The end of the absence has already passed."), code="end_passed")


def _overlapping(*, handler, starts_at: datetime, ends_at: datetime | None, now: datetime, exclude=None):
    """The handler's other absences, still in force, that share some time with [starts_at, ends_at)."""
    qs = Absence.objects.filter(handler=handler).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=now))
    qs = qs.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=max(starts_at, now)))
    if ends_at is not None:
        qs = qs.filter(starts_at__lt=ends_at)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.order_by("starts_at")


def _overlap_error(other: Absence) -> ValidationError:
    return ValidationError(
        _("%(name)s already has an absence at that time (%(period)s). Change or end that one instead.")
        % {"name": other.handler.display_name, "period": absence_period(other)},
        code="overlap",
    )


def _lock_handler(handler) -> None:
    _lock_handler_id(handler.pk)


def _lock_handler_id(handler_id: int) -> None:
    User.objects.select_for_update().filter(pk=handler_id).values_list("pk", flat=True).first()


@transaction.atomic
def absence_create(
    *,
    handler,
    actor,
    kind: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    forward_to: Mailbox,
    message_to_colleagues: str = "",
    message_to_citizens: str = "",
    show_return_date_to_citizens: bool = False,
    reason: str = "",
    now: datetime | None = None,
) -> Absence:
    """Plan an absence (kind planned) or switch forwarding on at once (kind unplanned, from now).
    If it is already under way, unread mail in the handler's mailbox is forwarded before returning."""
    now = now or timezone.now()
    if kind == Absence.Kind.UNPLANNED:
        starts_at = now
    if kind == Absence.Kind.PLANNED and ends_at is None:
        raise ValidationError(_("A planned absence needs an end date."), code="end_required")
    if handler.is_citizen:
        raise ValidationError(_("Only staff can be away."), code="not_staff")
    _check_target(handler=handler, forward_to=forward_to)
    _check_times(starts_at=starts_at, ends_at=ends_at, now=now)
    _lock_handler(handler)
    other = _overlapping(handler=handler, starts_at=starts_at, ends_at=ends_at, now=now).first()
    if other is not None and (kind == Absence.Kind.PLANNED or other.is_active(now)):
        # A sick call may precede an absence planned for later; never two at once.
        raise _overlap_error(other)
    absence = Absence.objects.create(
        handler=handler,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        forward_to=forward_to,
        message_to_colleagues=message_to_colleagues,
        message_to_citizens=message_to_citizens,
        show_return_date_to_citizens=show_return_date_to_citizens,
        set_by=actor,
        reason=reason,
        created_at=now,
        updated_at=now,
    )
    audit_event_record(
        actor=actor, action="absence.create", target=absence, after=_snapshot(absence), reason=reason
    )
    if absence.is_active(now):
        absence_start(absence_id=absence.pk, now=now, actor=actor)
    return absence


EDITABLE = (
    "starts_at",
    "ends_at",
    "forward_to",
    "message_to_colleagues",
    "message_to_citizens",
    "show_return_date_to_citizens",
    "reason",
)


@transaction.atomic
def absence_update(*, absence: Absence, actor, now: datetime | None = None, **changes) -> Absence:
    """Change an absence that has not ended. Once under way its start stays as it was. Mail already
    forwarded stays where it is; new mail follows the new settings."""
    now = now or timezone.now()
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    _lock_handler(absence.handler)
    absence = Absence.objects.select_for_update().select_related("handler", "forward_to").get(pk=absence.pk)
    end = absence.effective_end
    if absence.ended_at is not None or (end is not None and end <= now):
        raise ValidationError(_("This absence has ended and can no longer be changed."), code="ended")
    started = absence.starts_at <= now
    if started:
        changes.pop("starts_at", None)
    before = _snapshot(absence)
    for field, value in changes.items():
        setattr(absence, field, value)
    if "forward_to" in changes:
        _check_target(handler=absence.handler, forward_to=absence.forward_to)
    if absence.kind == Absence.Kind.PLANNED and absence.ends_at is None:
        raise ValidationError(_("A planned absence needs an end date."), code="end_required")
    _check_times(starts_at=absence.starts_at, ends_at=absence.ends_at, now=now)
    other = _overlapping(
        handler=absence.handler,
        starts_at=absence.starts_at,
        ends_at=absence.ends_at,
        now=now,
        exclude=absence,
    ).first()
    if other is not None and (absence.kind == Absence.Kind.PLANNED or other.is_active(now)):
        raise _overlap_error(other)
    absence.updated_at = now
    absence.save(update_fields=[*changes, "starts_at", "updated_at"])
    after = _snapshot(absence)
    changed_before = {k: v for k, v in before.items() if after.get(k) != v}
    changed_after = {k: after[k] for k in changed_before}
    if changed_after or "reason" in changes:
        audit_event_record(
            actor=actor,
            action="absence.change",
            target=absence,
            before=changed_before,
            after=changed_after,
            reason=absence.reason,
        )
    if absence.is_active(now) and absence.started_processed_at is None:
        absence_start(absence_id=absence.pk, now=now, actor=actor)
    return absence


@transaction.atomic
def absence_start(*, absence_id: int, now: datetime | None = None, actor=None) -> int:
    """The start of an absence: every unread message already in the handler's personal mailbox is
    forwarded the way a new one would be (one bulk insert). Idempotent through started_processed_at
    and the unique delivery: starting twice forwards once. Returns how many copies were made."""
    now = now or timezone.now()
    handler_id = Absence.objects.filter(pk=absence_id).values_list("handler_id", flat=True).first()
    if handler_id is None:
        return 0
    # The handler's row first (the lock order above): routing runs for this handler wait for the
    # forwarding below, or it waits for them and sees their deliveries (absence.away.who_is_away).
    _lock_handler_id(handler_id)
    absence = Absence.objects.select_for_update().filter(pk=absence_id).first()
    if absence is None or absence.started_processed_at is not None or not absence.is_active(now):
        return 0
    mailbox = mailbox_personal_for(absence.handler)
    created = routing.forward_unread_in_mailbox(mailbox=mailbox, when=now)
    absence.started_processed_at = now
    absence.save(update_fields=["started_processed_at"])
    audit_event_record(
        actor=actor,
        action="absence.start",
        target=absence,
        after={"forwarded_unread": len(created), "forward_to": absence.forward_to.name},
    )
    return len(created)


@transaction.atomic
def absence_end(*, absence: Absence, actor, now: datetime | None = None) -> Absence:
    """End an absence now (the handler or someone who takes sick calls), or cancel one that has not
    begun. Forwarded copies stay in the target mailbox; from now on new mail reaches the handler."""
    now = now or timezone.now()
    absence = Absence.objects.select_for_update().select_related("handler", "forward_to").get(pk=absence.pk)
    end = absence.effective_end
    if absence.ended_at is not None or (end is not None and end <= now):
        raise ValidationError(_("This absence has already ended."), code="ended")
    cancelled = absence.starts_at > now
    absence.ended_at = now
    absence.ended_by = actor
    absence.end_processed_at = now
    absence.updated_at = now
    absence.save(update_fields=["ended_at", "ended_by", "end_processed_at", "updated_at"])
    audit_event_record(
        actor=actor,
        action="absence.cancel" if cancelled else "absence.end",
        target=absence,
        before={"ends_at": absence.ends_at.isoformat() if absence.ends_at else None},
        after={"ended_at": now.isoformat()},
    )
    return absence


@transaction.atomic
def absence_finish(*, absence_id: int, now: datetime | None = None) -> bool:
    """Record that an absence ended by itself at its end time (audit, once). Nothing to undo: routing
    reads the period, so forwarding has already stopped."""
    now = now or timezone.now()
    absence = Absence.objects.select_for_update().filter(pk=absence_id).first()
    if absence is None or absence.end_processed_at is not None:
        return False
    end = absence.effective_end
    if end is None or end > now:
        return False
    absence.end_processed_at = now
    absence.save(update_fields=["end_processed_at"])
    audit_event_record(
        actor=None,
        action="absence.end",
        target=absence,
        after={"ended_at": end.isoformat(), "automatic": True},
    )
    return True


def absences_tick(*, now: datetime | None = None) -> dict[str, int]:
    """The clock: start absences whose time has come, record those whose time is up. Each absence in
    its own transaction, so one failure does not hold back the others."""
    now = now or timezone.now()
    started = finished = 0
    to_start = list(
        Absence.objects.active_at(now)
        .filter(started_processed_at__isnull=True)
        .order_by("starts_at", "id")
        .values_list("id", flat=True)
    )
    for absence_id in to_start:
        try:
            absence_start(absence_id=absence_id, now=now)
            started += 1
        except Exception:
            logger.exception("could not start absence %s", absence_id)
    to_finish = list(
        Absence.objects.filter(end_processed_at__isnull=True)
        .filter(Q(ended_at__lte=now) | Q(ends_at__lte=now))
        .order_by("id")
        .values_list("id", flat=True)
    )
    for absence_id in to_finish:
        try:
            finished += int(absence_finish(absence_id=absence_id, now=now))
        except Exception:
            logger.exception("could not finish absence %s", absence_id)
    return {"started": started, "finished": finished}


# --- out-of-office reply to citizens ---------------------------------------------------------------


def autoreply_after_routing(*, routed) -> list[AutoReply]:
    """AFTER_ROUTING hook: a citizen's message forwarded because the handler is away gets, at most
    once per thread per absence, an automatic reply in the thread. Never in reply to an automatic
    message (only citizens' own messages qualify), never with case details. A fixed number of
    queries per routing batch, plus the replies actually sent."""
    wanted = []  # (message, the intended handler, when the copy was forwarded)
    for message, deliveries in routed:
        from_citizen = message.sent_by_citizen and message.thread.is_citizen
        if message.kind != Message.Kind.NORMAL or not from_citizen:
            continue
        forwarded = [d for d in deliveries if d.reason == Delivery.Reason.FORWARDED_ABSENCE]
        if forwarded:
            # The first forwarded copy stands for the intended handler (plans keep chain order).
            wanted.append((message, forwarded[0].forwarded_for_id, forwarded[0].created_at))
    if not wanted:
        return []
    # The copies of one batch are made at one moment: one reading of who is away.
    absences = active_absences_for({handler_id for _m, handler_id, _at in wanted}, wanted[0][2])
    replied = set(
        AutoReply.objects.filter(
            absence__in=[a.pk for a in absences.values()],
            thread_id__in={message.thread_id for message, _h, _at in wanted},
        ).values_list("absence_id", "thread_id")
    )
    records = []
    for message, handler_id, _at in wanted:
        absence = absences.get(handler_id)
        if absence is None or (absence.pk, message.thread_id) in replied:
            continue
        replied.add((absence.pk, message.thread_id))  # two messages of one thread in a batch: one reply
        record = _autoreply_send(absence=absence, message=message)
        if record is not None:
            records.append(record)
    if records:
        # Automatic messages reach no inbox; routing them together marks them routed (the sweep
        # leaves them alone) in one batch.
        routing.route_messages(message_ids=[record.message_id for record in records])
    return records


def _autoreply_send(*, absence: Absence, message: Message) -> AutoReply | None:
    with translation.override(settings.LANGUAGE_CODE):
        body = citizen_away_text(absence)
    try:
        with transaction.atomic():
            reply = message_store(thread=message.thread, sender=None, body=body, kind=Message.Kind.AUTOMATIC)
            record = AutoReply.objects.create(
                absence=absence, thread_id=message.thread_id, message=reply, in_reply_to=message
            )
    except IntegrityError:
        return None  # a concurrent routing of another message in this thread replied first
    return record


def _staff_url(path: str) -> str:
    # STAFF_BASE_URL if the deployment sets one, else the host the citizen portal is served from.
    base = getattr(settings, "STAFF_BASE_URL", "") or urljoin(settings.CITIZEN_PORTAL_URL, "/")
    return base.rstrip("/") + path
