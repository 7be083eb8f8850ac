"""Every write to citizens, cases and citizen messages goes through here."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from accounts import personnummer as pnr
from audit.models import AccessLogEntry
from audit.services import access_log_record, audit_event_record
from lifemsg import perf
from mailboxes import hooks
from mailboxes.attachments import attachments_check_attachable, attachments_store
from mailboxes.models import Attachment, Mailbox, Message, Thread, Unit
from mailboxes.services.messages import message_store, message_store_if, sent_copy_add, thread_create
from mailboxes.services.units import mailbox_personal_for

from .models import Case, Citizen, ConversationTopic, EService
from .permissions import CITIZEN_OPEN_CASE_THREAD, can_send_to_citizen, citizen_case_or_none
from .tasks import notify_citizen

SEND_PERM = "eservices.send_to_citizen"
logger = logging.getLogger(__name__)


class CaseClosed(PermissionDenied):
    """Writing in a closed case."""


class CaseNotFound(Exception):
    """A case that is missing or not the writer's own (the two alike, so ids reveal nothing)."""


class NotCaseTeam(PermissionDenied):
    """Writing to the citizen without being the case's handler or a co-handler."""


class AssignmentConflict(Exception):
    """Someone else changed the case's handlers since the form was shown."""


# --- citizens ----------------------------------------------------------------------------------

PROTECT_PERM = "eservices.set_protected_identity"


def _may_protect(actor) -> bool:
    if actor.has_perm(PROTECT_PERM):
        return True
    # An API client's service account never logs in (inactive, so has_perm says no): it holds the
    # permission when an administrator granted it to the account or one of its groups.
    app_label, codename = PROTECT_PERM.split(".")
    grants = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return not actor.is_active and grants.filter(Q(user=actor) | Q(group__user=actor)).exists()


@transaction.atomic
def citizen_protected_identity_set(
    *, citizen: Citizen, protected: bool, actor, reason: str = "", source: str = "ui"
) -> Citizen:
    """Set or clear a citizen's protected identity (skyddad identitet), audited with who, why and
    through what (`source`: ui, api, import). Only a holder of eservices.set_protected_identity may
    (PermissionDenied otherwise); `actor` None is the go-live import run on the server by an operator.
    From then on their threads are read by named staff only and never routed to a group mailbox."""
    if actor is not None and not _may_protect(actor):
        raise PermissionDenied
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if citizen.protected_identity != protected:
        citizen.protected_identity = protected
        citizen.save(update_fields=["protected_identity"])
        audit_event_record(
            actor=actor,
            action="citizen.protected_identity",
            target=citizen,
            before={"protected_identity": not protected},
            after={"protected_identity": protected, "source": source},
            reason=reason,
        )
    return citizen


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


@transaction.atomic
def citizen_from_eid(*, personnummer: str, first_name: str = "", last_name: str = "") -> Citizen:
    """The citizen an e-ID login identifies, created on first login. Names from the e-ID are the
    population register's and replace what we had."""
    citizen = citizen_get_or_create(personnummer=personnummer, first_name=first_name, last_name=last_name)
    changed = {}
    if first_name and citizen.first_name != first_name:
        changed["first_name"] = first_name
    if last_name and citizen.last_name != last_name:
        changed["last_name"] = last_name
    if changed:
        Citizen.objects.filter(pk=citizen.pk).update(**changed)
        type(citizen.user).objects.filter(pk=citizen.user_id).update(**changed)
        citizen.refresh_from_db()
    return citizen


@transaction.atomic
def citizen_notification_settings_update(
    *, citizen: Citizen, channel: str, email: str = "", phone: str = ""
) -> Citizen:
    """The citizen's own choice of channel and addresses. The audit event records the channel and
    whether an address changed, never the addresses themselves."""
    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    before = {"channel": citizen.notify_channel}
    email_changed = citizen.notify_email != email
    phone_changed = citizen.notify_phone != phone
    citizen.notify_channel = channel
    citizen.notify_email = email
    citizen.notify_phone = phone
    citizen.save(update_fields=["notify_channel", "notify_email", "notify_phone"])
    if before["channel"] != channel or email_changed or phone_changed:
        audit_event_record(
            actor=citizen.user,
            action="citizen.notification_settings",
            target=citizen,
            before=before,
            after={"channel": channel, "email_changed": email_changed, "phone_changed": phone_changed},
        )
    return citizen


# --- cases -------------------------------------------------------------------------------------


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
    route: str = AccessLogEntry.Route.CASE_MANAGEMENT,
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
        case = case_assign(case=case, handler=handler, co_handlers=co_handlers, actor=actor, route=route)
    return case


def _case_state(case: Case) -> dict:
    return {
        "handler": case.handler.username if case.handler_id else None,
        "co_handlers": sorted(case.co_handlers.values_list("username", flat=True)),
    }


def assignment_token(case: Case) -> str:
    """A fingerprint of the current handler and co-handlers; the assignment form sends it back so a
    concurrent change by someone else is noticed instead of silently overwritten."""
    co = sorted(case.co_handlers.values_list("pk", flat=True))
    return f"{case.handler_id or ''}:{','.join(str(pk) for pk in co)}"


@transaction.atomic
def case_assign(
    *,
    case: Case,
    handler,
    co_handlers: Iterable,
    actor=None,
    reason: str = "",
    expected_token: str | None = None,
    route: str = AccessLogEntry.Route.CASE_MANAGEMENT,
) -> Case:
    """Set handler and co-handlers; the send permission follows at once. Audited with before/after,
    and (when a person or API client did it) in the access log as an action on the citizen's data.

    With `expected_token` (from assignment_token when the form was shown) a change someone else made
    in between raises AssignmentConflict and nothing is written."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if expected_token is not None and assignment_token(case) != expected_token:
        raise AssignmentConflict
    co_handlers = list(co_handlers)
    for user in [handler, *co_handlers]:
        if user is not None and user.is_citizen:
            raise ValidationError("Handlers and co-handlers must be staff.")
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
        audit_event_record(
            actor=actor, action="case.assign", target=case, before=before, after=after, reason=reason
        )
        if getattr(actor, "pk", None):
            _case_assign_log(case=case, actor=actor, route=route, new_co=sorted(new_co))
    return case


def _case_assign_log(*, case: Case, actor, route: str, new_co: list[int]) -> None:
    # The citizen is filled in from the thread by the log service.
    access_log_record(
        user=actor,
        action=AccessLogEntry.Action.ASSIGN,
        route=route,
        object_type="case",
        object_id=case.pk,
        thread_id=case.thread_id,
        case_id=case.pk,
        unit_id=case.unit_id,
        detail={"handler": case.handler_id, "co_handlers": new_co},
    )


def case_mark_read_by_citizen(*, case: Case, up_to: datetime) -> None:
    """Everything the citizen has been shown up to `up_to` is read: one UPDATE (a transaction of its
    own), never moving back."""
    Case.objects.filter(pk=case.pk).filter(
        Q(citizen_last_read_at__isnull=True) | Q(citizen_last_read_at__lt=up_to)
    ).update(citizen_last_read_at=up_to)


# --- messages ----------------------------------------------------------------------------------


def citizen_message_send(*, case: Case, citizen_user, body: str, attachments: Iterable = ()) -> Message:
    """A citizen writes in their case: stored (and shown to them as sent) at once; routing runs on
    commit through the one routing entry point."""
    if case.citizen.user_id != citizen_user.pk:
        raise PermissionDenied
    if not case.is_open:
        raise CaseClosed
    # message_store writes in one transaction (a plain message: in one statement, which needs none
    # of its own); routing is asked for once that has committed, or at once outside a transaction.
    message = message_store(thread=case.thread, sender=citizen_user, body=body, attachments=attachments)
    hooks.routing_request(message)
    return message


def citizen_case_message_post(
    *,
    case_id: int,
    citizen_user,
    body: str,
    files: Sequence[tuple] = (),
    kept: Sequence[Attachment] = (),
    case: Case | None = None,
) -> Message:
    """The portal's send to a case known by its id: the one door for it. `files` are validated new
    uploads, `kept` uploads kept from a form shown again (citizen_message_write); `case`, when the
    caller has read it already (access_citizen_case), saves reading it again.

    A plain message (no files, new or kept) on PostgreSQL is stored in one statement together with
    the check that the case is the citizen's own and open: the portal's send is the product's most
    frequent write. Anything else, or when that statement stores nothing, goes the general way:
    the case is read and checked, then written. Raises CaseNotFound (missing or someone else's:
    alike) or CaseClosed; routing is asked for on commit either way."""
    if case is None and not files and not kept:
        message = _citizen_message_send_if_open(case_id=case_id, citizen_user=citizen_user, body=body)
        if message is not None:
            return message
    if case is None:
        case = citizen_case_or_none(user=citizen_user, case_id=case_id, for_page=False)
        if case is None:
            raise CaseNotFound
    return citizen_message_write(case=case, citizen_user=citizen_user, body=body, files=files, kept=kept)


def _citizen_message_send_if_open(*, case_id: int, citizen_user, body: str) -> Message | None:
    """The fast path: None when nothing was stored (the case is someone else's, missing or closed;
    or the user is no citizen; or the fast path is off: lifemsg.perf)."""
    if not perf.fast_sql() or not citizen_user.is_citizen:
        return None
    message = message_store_if(
        thread_of=CITIZEN_OPEN_CASE_THREAD,
        sender=citizen_user,
        body=body,
        case_id=int(case_id),
        user_id=citizen_user.pk,
    )
    if message is not None:
        hooks.routing_request(message)
    return message


def citizen_message_write(
    *,
    case: Case,
    citizen_user,
    body: str,
    files: Sequence[tuple] = (),
    kept: Sequence[Attachment] = (),
) -> Message:
    """The portal's "send": store the validated new uploads (mailboxes.attachments.AttachmentsField)
    and the message in one transaction; `kept` are uploads the citizen stored earlier through a form
    that came back with an error (mailboxes.forms.AttachmentsMixin.kept_uploads), attached as well."""
    if case.citizen.user_id != citizen_user.pk:
        raise PermissionDenied
    if not case.is_open:
        raise CaseClosed
    # message_store holds the same rule; checked here too before the new files are written to storage.
    attachments_check_attachable(kept, sender=citizen_user)
    if not files:
        return citizen_message_send(case=case, citizen_user=citizen_user, body=body, attachments=kept)
    with transaction.atomic():
        attachments = [*kept, *attachments_store(files, uploaded_by=citizen_user)]
        return citizen_message_send(case=case, citizen_user=citizen_user, body=body, attachments=attachments)


@transaction.atomic
def citizen_conversation_start(
    *,
    citizen: Citizen,
    eservice: EService,
    topic: ConversationTopic | None,
    subject: str,
    body: str,
    files: Sequence[tuple] = (),
    kept: Sequence[Attachment] = (),
) -> Case:
    """A citizen starts a conversation through an e-service that allows it: a new case without a
    handler in the chosen topic's unit, so routing puts the message in that unit's group mailbox."""
    if not eservice.citizen_can_start:
        raise PermissionDenied
    has_topics = eservice.topics.exists()
    if has_topics and (topic is None or topic.eservice_id != eservice.pk):
        raise ValidationError("A topic of this e-service is required.")
    unit = topic.unit if topic is not None else eservice.unit
    case = case_create(citizen=citizen, eservice=eservice, unit=unit, subject=subject, actor=citizen.user)
    citizen_message_write(case=case, citizen_user=citizen.user, body=body, files=files, kept=kept)
    return case


@transaction.atomic
def staff_message_send(
    *, case: Case, sender, body: str, attachments: Iterable = (), via_mailbox: Mailbox | None = None
) -> Message:
    """Handler or co-handler writes to the citizen: the one door for it. Anyone else is refused
    (NotCaseTeam), whatever the UI showed. The sender's personal mailbox keeps the sent copy; written
    from a group mailbox (`via_mailbox`), that mailbox gets a read copy too so its members see the
    answer. The citizen is notified (without content) on commit; routing marks the message routed
    (a staff message to the citizen reaches no staff inbox, but routing's hooks still run)."""
    if not can_send_to_citizen(user=sender, case=case):
        raise NotCaseTeam
    message = message_store(
        thread=case.thread,
        sender=sender,
        sender_mailbox=mailbox_personal_for(sender),
        body=body,
        attachments=attachments,
    )
    sent_copy_add(message=message, mailbox=via_mailbox, user=sender)
    hooks.routing_request(message)
    transaction.on_commit(lambda: _enqueue(notify_citizen, message_id=message.pk))
    return message


def _enqueue(task, **kwargs) -> None:
    try:
        task.delay(**kwargs)
    except Exception:  # broker down: the message is stored; eservices.notify_sweep sends it later
        logger.warning("could not enqueue %s", task.name)
