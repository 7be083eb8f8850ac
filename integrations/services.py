"""Writes of the integrations app: API clients, cases through the API, exports to the case file.

Cases are created and assigned through eservices.services (case_create, case_assign), exactly as the
UI does, so that routing and the send permission follow at once. eservices has no service yet for
closing a case, moving it to another unit or renaming its thread; `case_close` and `case_update`
below are those writes, kept small, locked and audited like the rest (see integrations/README.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AccessLogEntry
from audit.services import access_log_record, audit_event_record
from eservices.models import Case, Citizen, EService
from eservices.services import case_assign, case_create, citizen_get_or_create, citizen_protected_identity_set
from mailboxes.models import Message, Thread, Unit

from . import webhooks
from .models import ApiClient, ThreadExport

TOKEN_PREFIX = "lm"


# --- API clients ------------------------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 is enough (no dictionary to guard against).
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedClient:
    client: ApiClient
    token: str
    webhook_secret: str


@transaction.atomic
def api_client_create(*, name: str, scopes: Iterable[str], webhook_url: str = "", actor=None) -> IssuedClient:
    """Create a client and its service account. The token (and webhook secret) exist in clear only in
    the returned value: show them once."""
    valid = set(ApiClient.Scope.values)
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in valid]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}")
    User = get_user_model()
    user = User(username=f"api-{name}", first_name=name, last_name="(API)", kind=User.Kind.STAFF)
    user.set_unusable_password()
    user.is_active = False  # a service account: never logs in, only acts through its token
    user.save()
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    webhook_secret = webhooks.secret_new() if webhook_url else ""
    client = ApiClient.objects.create(
        name=name,
        user=user,
        key_id=key_id,
        token_hash=_secret_hash(secret),
        scopes=scopes,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
    )
    audit_event_record(
        actor=actor,
        action="api_client.create",
        target=client,
        after={"scopes": scopes, "webhook_url": webhook_url},
    )
    return IssuedClient(
        client=client, token=f"{TOKEN_PREFIX}.{key_id}.{secret}", webhook_secret=webhook_secret
    )


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor=None) -> ApiClient:
    ApiClient.objects.filter(pk=client.pk).update(is_active=False)
    client.is_active = False
    audit_event_record(actor=actor, action="api_client.revoke", target=client, before={"active": True})
    return client


def api_client_for_token(token: str) -> tuple[ApiClient | None, bool]:
    """(client, secret matches). The client is returned even for a wrong secret so that the failed
    attempt can be audited against it; (None, False) when the key id is unknown or malformed."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None, False
    client = ApiClient.objects.select_related("user").filter(key_id=parts[1]).first()
    if client is None:
        return None, False
    return client, hmac.compare_digest(client.token_hash, _secret_hash(parts[2]))


def api_client_touch(*, client: ApiClient) -> None:
    """Remember when the client was last seen; at most one write a minute per client."""
    now = timezone.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now


def api_call_record(*, client: ApiClient, method: str, path: str, status: int, detail: dict | None = None):
    """Every API call, whatever its outcome, is an audit event of the client's service account."""
    return audit_event_record(
        actor=client.user,
        action="api.call",
        target=client,
        after={"method": method, "path": path[:300], "status": status, **(detail or {})},
    )


# --- cases through the API --------------------------------------------------------------------


class CaseConflict(Exception):
    """The request asks to change what cannot change on an existing case (citizen, e-service)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CaseInput:
    personnummer: str
    eservice: EService
    subject: str
    unit: Unit | None = None
    first_name: str = ""
    last_name: str = ""
    handler: object | None = None
    co_handlers: tuple = ()
    protected_identity: bool | None = None  # None: leave as it is


def case_put(*, external_id: str, data: CaseInput, actor) -> tuple[Case, bool]:
    """Create the case with this external id, or bring the existing one to exactly `data` (PUT).
    Idempotent: the same call twice changes nothing the second time. Returns (case, created)."""
    existing = Case.objects.filter(external_id=external_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                citizen = citizen_get_or_create(
                    personnummer=data.personnummer, first_name=data.first_name, last_name=data.last_name
                )
                _protection_put(citizen=citizen, data=data, actor=actor)
                case = case_create(
                    citizen=citizen,
                    eservice=data.eservice,
                    unit=data.unit,
                    subject=data.subject,
                    handler=data.handler,
                    co_handlers=data.co_handlers,
                    external_id=external_id,
                    actor=actor,
                    route=AccessLogEntry.Route.API,
                )
            return case, True
        except IntegrityError:
            # A concurrent PUT created it first: continue as an update of that case.
            existing = Case.objects.filter(external_id=external_id).first()
            if existing is None:
                raise
    with transaction.atomic():
        case = _case_locked(existing.pk)
        citizen = Citizen.objects.get(pk=case.citizen_id)
        if citizen.personnummer != data.personnummer:
            raise CaseConflict("personnummer", "citizen")
        if case.eservice_id != data.eservice.pk:
            raise CaseConflict("eservice", "eservice")
        _protection_put(citizen=citizen, data=data, actor=actor)
        case = case_update(
            case=case,
            unit=data.unit or data.eservice.unit,
            subject=data.subject,
            actor=actor,
        )
        case = case_assign(
            case=case,
            handler=data.handler,
            co_handlers=data.co_handlers,
            actor=actor,
            route=AccessLogEntry.Route.API,
        )
    return case, False


def _protection_put(*, citizen: Citizen, data: CaseInput, actor) -> None:
    """The citizen's protected identity as the case system states it (before the case is written,
    so routing of the case's first message already follows it); PermissionDenied for a service
    account without eservices.set_protected_identity."""
    if data.protected_identity is not None and data.protected_identity != citizen.protected_identity:
        citizen_protected_identity_set(
            citizen=citizen,
            protected=data.protected_identity,
            actor=actor,
            reason="API",
            source="api",
        )


def _case_locked(case_id: int) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("thread").get(pk=case_id)


@transaction.atomic
def case_update(*, case: Case, unit: Unit | None = None, subject: str | None = None, actor=None) -> Case:
    """Move a case to another unit and/or rename its thread. Audited with before/after when anything
    changed. Lock order: case row, then its thread."""
    case = _case_locked(case.pk)
    before, after = {}, {}
    if unit is not None and case.unit_id != unit.pk:
        before["unit"], after["unit"] = case.unit.slug, unit.slug
        case.unit = unit
        case.save(update_fields=["unit"])
    if subject is not None and case.thread.subject != subject:
        before["subject"], after["subject"] = case.thread.subject, subject
        Thread.objects.filter(pk=case.thread_id).update(subject=subject)
        case.thread.subject = subject
    if after:
        audit_event_record(actor=actor, action="case.update", target=case, before=before, after=after)
    return case


@transaction.atomic
def case_close(*, case: Case, actor=None) -> Case:
    """Close a case; closing a closed case changes nothing."""
    case = _case_locked(case.pk)
    if case.status != Case.Status.CLOSED:
        case.status = Case.Status.CLOSED
        case.save(update_fields=["status"])
        audit_event_record(
            actor=actor,
            action="case.close",
            target=case,
            before={"status": "open"},
            after={"status": "closed"},
        )
    return case


def _case_thread_log(
    *, case: Case, user, action: str, route: str, detail: dict, mailbox_id: int | None = None
) -> None:
    access_log_record(
        user=user,
        action=action,
        route=route,
        object_type="thread",
        object_id=case.thread_id,
        thread_id=case.thread_id,
        mailbox_id=mailbox_id,
        case_id=case.pk,
        unit_id=case.unit_id,
        citizen_id=case.citizen.user_id,
        detail=detail,
    )


def case_content_read_record(*, client: ApiClient, case: Case, message_ids: list[int]) -> None:
    """Access log entry for an API read of message content: written before the content is sent."""
    _case_thread_log(
        case=case,
        user=client.user,
        action=AccessLogEntry.Action.READ_THREAD,
        route=AccessLogEntry.Route.API,
        detail={"api_client": client.name, "message_ids": message_ids},
    )


# --- export to the case file ------------------------------------------------------------------


def thread_export_form_read_record(*, case: Case, user, route: str, mailbox_id: int | None) -> None:
    """The export form shows the citizen's name, masked personal identity number, the subject and
    every message's sender: logged as a read of the thread before it is rendered."""
    _case_thread_log(
        case=case,
        user=user,
        action=AccessLogEntry.Action.READ_THREAD,
        route=route,
        mailbox_id=mailbox_id,
        detail={"page": "export"},
    )


@transaction.atomic
def thread_export_create(
    *,
    case: Case,
    user,
    messages: list[Message],
    whole_thread: bool,
    route: str,
    mailbox_id: int | None,
    pdf_bytes: bytes,
) -> ThreadExport:
    """Record an export: access log entry (action export) and the row the thread shows. Called before
    the PDF is handed out, in the same transaction, so no export happens unlogged."""
    message_ids = [m.pk for m in messages]
    digest = hashlib.sha256(pdf_bytes).hexdigest()
    _case_thread_log(
        case=case,
        user=user,
        action=AccessLogEntry.Action.EXPORT,
        route=route,
        mailbox_id=mailbox_id,
        detail={
            "delivery": "download",
            "message_ids": message_ids,
            "whole_thread": whole_thread,
            "sha256": digest,
        },
    )
    return ThreadExport.objects.create(
        thread_id=case.thread_id,
        case=case,
        exported_by=user,
        message_ids=message_ids,
        whole_thread=whole_thread,
        sha256=digest,
    )
