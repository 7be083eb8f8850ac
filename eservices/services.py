from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from audit.services import audit_event_record
from mailboxes.models import Message, Thread, Unit
from mailboxes.services import mailbox_personal_for, message_store, thread_create

from . import personnummer as pnr
from .models import Case, Citizen, EService

SEND_PERM = "eservices.send_to_citizen"
logger = logging.getLogger(__name__)


@transaction.atomic
def citizen_get_or_create(*, personnummer: str, first_name: str = "", last_name: str = "") -> Citizen:
    number = pnr.normalise(personnummer)
    citizen = Citizen.objects.select_related("user").filter(personnummer=number).first()
    if citizen is not None:
        return citizen
    User = get_user_model()
    user = User(
        username=f"citizen-{number}", first_name=first_name, last_name=last_name, kind=User.Kind.CITIZEN
    )
    user.set_unusable_password()
    user.save()
    return Citizen.objects.create(user=user, personnummer=number, first_name=first_name, last_name=last_name)


def _next_reference(unit: Unit) -> str:
    year = timezone.localdate().year
    prefix = f"{year}-{unit.slug.upper()[:12]}-"
    last = (
        Case.objects.select_for_update()
        .filter(reference__startswith=prefix)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:05d}"


@transaction.atomic
def case_create(
    *,
    citizen: Citizen,
    eservice: EService,
    unit: Unit | None = None,
    subject: str,
    handler=None,
    co_handlers: Iterable = (),
    external_id: str | None = None,
    actor=None,
) -> Case:
    unit = unit or eservice.unit
    thread = thread_create(subject=subject, kind=Thread.Kind.CITIZEN, citizen=citizen.user)
    case = Case.objects.create(
        citizen=citizen,
        eservice=eservice,
        unit=unit,
        thread=thread,
        reference=_next_reference(unit),
        external_id=external_id,
    )
    audit_event_record(
        actor=actor, action="case.create", target=case, after={"eservice": eservice.slug, "unit": unit.slug}
    )
    if handler is not None or co_handlers:
        case_assign(case=case, handler=handler, co_handlers=co_handlers, actor=actor)
    return case


def _case_state(case: Case) -> dict:
    return {
        "handler": case.handler.username if case.handler_id else None,
        "co_handlers": sorted(case.co_handlers.values_list("username", flat=True)),
    }


@transaction.atomic
def case_assign(*, case: Case, handler, co_handlers: Iterable, actor=None) -> Case:
    """Set handler and co-handlers; the send permission follows at once. Audited with before/after."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    before = _case_state(case)
    new_co = {u.pk: u for u in co_handlers if handler is None or u.pk != handler.pk}
    old_senders = set(case.co_handlers.values_list("pk", flat=True))
    if case.handler_id:
        old_senders.add(case.handler_id)
    case.handler = handler
    case.save(update_fields=["handler"])
    case.co_handlers.set(list(new_co.values()))
    new_senders = set(new_co)
    if handler is not None:
        new_senders.add(handler.pk)
    User = get_user_model()
    for user in User.objects.filter(pk__in=old_senders - new_senders):
        remove_perm(SEND_PERM, user, case)
    for user in User.objects.filter(pk__in=new_senders - old_senders):
        assign_perm(SEND_PERM, user, case)
    after = _case_state(case)
    if before != after:
        audit_event_record(actor=actor, action="case.assign", target=case, before=before, after=after)
    return case


@transaction.atomic
def citizen_message_send(*, case: Case, citizen_user, body: str, attachments: Iterable = ()) -> Message:
    """A citizen writes in their case: stored (and shown to them as sent) at once; routing runs on
    commit through the one routing entry point."""
    from absence.routing import message_route_on_commit

    if case.citizen.user_id != citizen_user.pk:
        raise PermissionDenied
    message = message_store(thread=case.thread, sender=citizen_user, body=body, attachments=attachments)
    message_route_on_commit(message)
    return message


@transaction.atomic
def staff_message_send(*, case: Case, sender, body: str, attachments: Iterable = ()) -> Message:
    """Handler or co-handler writes to the citizen. Anyone else is refused here, whatever the UI
    showed. The citizen is notified (without content) on commit."""
    from .permissions import can_send_to_citizen
    from .tasks import notify_citizen

    if not can_send_to_citizen(user=sender, case=case):
        raise PermissionDenied
    message = message_store(
        thread=case.thread,
        sender=sender,
        sender_mailbox=mailbox_personal_for(sender),
        body=body,
        attachments=attachments,
    )
    transaction.on_commit(lambda: _enqueue(notify_citizen, message_id=message.pk))
    return message


def _enqueue(task, **kwargs) -> None:
    try:
        task.delay(**kwargs)
    except Exception:  # broker down: the message is stored; the notification sweep retries
        logger.warning("could not enqueue %s", task.name)
