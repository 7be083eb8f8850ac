"""Journalföring: a citizen thread's PDF/A delivered to the case system, until its receipt.

1. A handler asks for it (the export page's "Journalför"): `case_file_entry_create` stores the PDF
   with a CaseFileEntry (pending), writes the access log (action export, delivery "case_system") and
   enqueues `integrations.deliver_case_file` on commit.
2. The task POSTs the PDF (base64 in JSON) to the case system's webhook URL, signed like every
   webhook (Standard Webhooks: `webhook-id` is the entry's id, the same on every attempt, so the case
   system files a document once whatever is retried).
3. The case system acknowledges: in its answer (2xx with `{"document_id": "..."}`), or later through
   the API (`POST /api/v1/case-file/<entry id>/receipt/`, then a 2xx without a document id first
   leaves the entry "received, waiting for receipt"). Either may carry the SHA-256 it computed; one
   that differs from ours is not a receipt. Only a receipt marks the thread "journalförd".
4. Any other answer, a timeout or a refused connection is retried with the webhooks' backoff up to
   WEBHOOK_MAX_ATTEMPTS; then the entry has failed and the thread says so. The webhook sweep also
   re-enqueues entries whose task was lost (each attempt claims its row first).

The receiver is the one active API client with the scope `casefile:write` and a webhook URL.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from datetime import timedelta

import requests
from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessLogEntry
from audit.services import access_log_record, audit_event_record
from eservices.models import Case
from mailboxes.models import Message

from .export import PDFA_CONFORMANCE
from .models import ApiClient, CaseFileEntry
from .webhooks import backoff_seconds, body_bytes, signed_headers

logger = logging.getLogger(__name__)

EVENT_DOCUMENT = "case_file.document"


class ReceiptRefused(Exception):
    """A receipt that cannot be taken: `code` says why (for the API's answer)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def case_file_receiver() -> ApiClient | None:
    """The case system that takes documents: an active client with `casefile:write` and a webhook URL
    (the oldest, should there be several). A handful of rows: filtered here, as webhooks._receivers."""
    clients = ApiClient.objects.filter(is_active=True).exclude(webhook_url="").order_by("created_at", "pk")
    return next((c for c in clients if c.has_scope(ApiClient.Scope.CASE_FILE)), None)


def case_file_entry_create(
    *,
    case: Case,
    user,
    client: ApiClient,
    messages: list[Message],
    whole_thread: bool,
    route: str,
    mailbox_id: int | None,
    pdf_bytes: bytes,
    request_key: uuid.UUID,
) -> CaseFileEntry:
    """Record the request and enqueue the delivery on commit. The same `request_key` again (a double
    click, a resent form) returns the first entry and logs nothing more."""
    digest = hashlib.sha256(pdf_bytes).hexdigest()
    message_ids = [m.pk for m in messages]
    with transaction.atomic():
        try:
            with transaction.atomic():
                entry = CaseFileEntry.objects.create(
                    thread_id=case.thread_id,
                    case=case,
                    client=client,
                    requested_by=user,
                    request_key=request_key,
                    message_ids=message_ids,
                    whole_thread=whole_thread,
                    pdf=pdf_bytes,
                    sha256=digest,
                    size=len(pdf_bytes),
                )
        except IntegrityError:
            first = CaseFileEntry.objects.filter(request_key=request_key).first()
            if first is None:
                raise  # another constraint than the form's key
            if first.requested_by_id == user.pk:
                return first
            # Another user's key is no resent form of this user's: their own request, with a key of its own.
            return case_file_entry_create(
                case=case,
                user=user,
                client=client,
                messages=messages,
                whole_thread=whole_thread,
                route=route,
                mailbox_id=mailbox_id,
                pdf_bytes=pdf_bytes,
                request_key=uuid.uuid4(),
            )
        _log_export(entry, user=user, route=route, mailbox_id=mailbox_id)
        entry_id = str(entry.pk)
        transaction.on_commit(lambda: _enqueue(entry_id))
    return entry


def _log_export(entry: CaseFileEntry, *, user, route: str, mailbox_id: int | None) -> None:
    """The journalföring as an export in the access log, written with the entry it records."""
    case = entry.case
    access_log_record(
        user=user,
        action=AccessLogEntry.Action.EXPORT,
        route=route,
        object_type="thread",
        object_id=case.thread_id,
        thread_id=case.thread_id,
        mailbox_id=mailbox_id,
        case_id=case.pk,
        unit_id=case.unit_id,
        citizen_id=case.citizen.user_id,
        detail={
            "delivery": "case_system",
            "api_client": entry.client.name,
            "entry": str(entry.pk),
            "message_ids": entry.message_ids,
            "whole_thread": entry.whole_thread,
            "sha256": entry.sha256,
        },
    )


def _enqueue(entry_id: str) -> None:
    try:
        deliver_case_file.delay(entry_id=entry_id)
    except Exception:  # broker down: the sweep sends it
        logger.warning("could not enqueue case-file entry %s; the sweep will send it", entry_id)


@shared_task(
    name="integrations.deliver_case_file",
    bind=True,
    acks_late=True,
    # Attempts are counted on the row (WEBHOOK_MAX_ATTEMPTS); this only bounds Celery's own loop.
    max_retries=50,
    # The PDF can be a few megabytes: more time to send than a webhook's ids.
    time_limit=180,
    soft_time_limit=160,
)
def deliver_case_file(self, *, entry_id: str) -> str:
    wait = case_file_attempt(entry_id=entry_id)
    if wait is None:
        return "done"
    raise self.retry(countdown=wait)


def _claim(entry_id: str) -> CaseFileEntry | None:
    """Take the entry for one attempt (see webhooks._claim): two runners never send one attempt twice."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    with transaction.atomic():
        entry = (
            CaseFileEntry.objects.select_for_update(of=("self",))
            .select_related("client", "case", "requested_by")
            .filter(
                pk=entry_id,
                status=CaseFileEntry.Status.PENDING,
                next_attempt_at__lte=now + timedelta(seconds=2),
            )
            .first()
        )
        if entry is None:
            return None
        entry.attempts += 1
        entry.next_attempt_at = now + lease
        entry.save(update_fields=["attempts", "next_attempt_at"])
    return entry


def _payload(entry: CaseFileEntry) -> dict:
    case = entry.case
    requested_at = timezone.localtime(entry.requested_at)
    return {
        "event": EVENT_DOCUMENT,
        "entry_id": str(entry.pk),
        "case": {"external_id": case.external_id, "reference": case.reference},
        "thread_id": entry.thread_id,
        "message_ids": entry.message_ids,
        "whole_thread": entry.whole_thread,
        "requested_by": {"username": entry.requested_by.username, "name": entry.requested_by.display_name},
        "requested_at": requested_at.isoformat(),
        "document": {
            "filename": f"{case.reference}-{requested_at:%Y%m%d-%H%M}.pdf",
            "content_type": "application/pdf",
            "conformance": PDFA_CONFORMANCE,
            "sha256": entry.sha256,
            "size": entry.size,
            **(
                {"path": reverse("integrations:api_case_file_document", args=[entry.pk])}
                if settings.CASE_FILE_DELIVERY == "pull"
                else {"content_base64": base64.b64encode(bytes(entry.pdf)).decode()}
            ),
        },
    }


def _receipt(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _check_receipt(entry: CaseFileEntry, *, document_id, sha256) -> None:
    if not isinstance(document_id, str) or not 0 < len(document_id) <= 128:
        raise ReceiptRefused("document_id", "document_id: 1 to 128 characters")
    if sha256 and sha256 != entry.sha256:
        raise ReceiptRefused("sha256", "sha256 differs from the document sent")


def case_file_attempt(*, entry_id: str) -> float | None:
    """One attempt to deliver an entry. None when there is nothing more to do (acknowledged,
    received, given up, or not due), else the seconds to wait before the next attempt."""
    entry = _claim(entry_id)
    if entry is None:
        return None
    client = entry.client
    status_code, error, receipt = None, "", {}
    if not client.is_active or not client.webhook_url:
        error = "client inactive or without webhook URL"
    else:
        body = body_bytes(_payload(entry))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "lifemsg-webhooks/1",
            "X-Lifemsg-Event": EVENT_DOCUMENT,
            **signed_headers(
                secret=client.webhook_secret, delivery_id=str(entry.pk), body=body, now=timezone.now()
            ),
        }
        try:
            response = requests.post(
                client.webhook_url,
                data=body,
                headers=headers,
                timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            status_code = response.status_code
            if 200 <= status_code < 300:
                receipt = _receipt(response)
            else:
                error = f"HTTP {status_code}"
        except requests.RequestException as exc:
            error = type(exc).__name__
    if not error and "document_id" in receipt:
        try:
            _check_receipt(entry, document_id=receipt["document_id"], sha256=receipt.get("sha256", ""))
        except ReceiptRefused as refused:
            error = f"receipt refused: {refused.message}"
    return _record_attempt(entry, status_code=status_code, error=error, receipt=receipt)


def _record_attempt(entry: CaseFileEntry, *, status_code, error: str, receipt: dict) -> float | None:
    now = timezone.now()
    updates: dict = {"last_status_code": status_code, "last_error": error[:300]}
    wait = None
    if not error:
        updates.update(status=CaseFileEntry.Status.DELIVERED, delivered_at=now)
    elif entry.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or not entry.client.is_active:
        updates.update(status=CaseFileEntry.Status.FAILED, pdf=None)
        logger.error("case-file entry %s given up after %s attempts: %s", entry.pk, entry.attempts, error)
    else:
        wait = backoff_seconds(entry.attempts)
        updates["next_attempt_at"] = now + timedelta(seconds=wait)
        logger.warning("case-file entry %s failed (%s); retry in %.0f s", entry.pk, error, wait)
    with transaction.atomic():
        CaseFileEntry.objects.filter(pk=entry.pk, status=CaseFileEntry.Status.PENDING).update(**updates)
        if not error and "document_id" in receipt:
            case_file_acknowledge(
                entry_id=entry.pk,
                client=entry.client,
                document_id=receipt["document_id"],
                sha256=receipt.get("sha256", ""),
            )
    return wait


@transaction.atomic
def case_file_acknowledge(*, entry_id, client: ApiClient, document_id, sha256: str = "") -> CaseFileEntry:
    """The case system's receipt: the thread is journalled from now on and the PDF is let go.
    The same receipt again changes nothing. CaseFileEntry.DoesNotExist for another client's entry;
    ReceiptRefused for a different document id than the one already given, or a checksum that
    differs from the PDF sent."""
    entry = (
        CaseFileEntry.objects.select_for_update(of=("self",))
        .select_related("case")
        .get(pk=entry_id, client=client)
    )
    _check_receipt(entry, document_id=document_id, sha256=sha256)
    if entry.status == CaseFileEntry.Status.ACKNOWLEDGED:
        if entry.document_id != document_id:
            raise ReceiptRefused("conflict", "already acknowledged with another document_id")
        return entry
    entry.status = CaseFileEntry.Status.ACKNOWLEDGED
    entry.document_id = document_id
    entry.acknowledged_at = timezone.now()
    entry.delivered_at = entry.delivered_at or entry.acknowledged_at
    entry.pdf = None
    entry.save(update_fields=["status", "document_id", "acknowledged_at", "delivered_at", "pdf"])
    audit_event_record(
        actor=client.user,
        action="case_file.acknowledge",
        target=entry,
        after={"case": entry.case.reference, "document_id": document_id, "sha256": entry.sha256},
    )
    return entry


def case_file_document_read(*, entry_id, client: ApiClient) -> CaseFileEntry:
    """The entry's PDF for the case system that pulls it (CASE_FILE_DELIVERY=pull): its content is the
    citizen's messages, so the read is in the access log (route api) before it is handed out.
    CaseFileEntry.DoesNotExist for another client's entry; the entry's `pdf` is None once it has
    been acknowledged or has failed."""
    entry = CaseFileEntry.objects.select_related("case__citizen").get(pk=entry_id, client=client)
    if entry.pdf is not None:
        case = entry.case
        access_log_record(
            user=client.user,
            action=AccessLogEntry.Action.READ_THREAD,
            route=AccessLogEntry.Route.API,
            object_type="thread",
            object_id=case.thread_id,
            thread_id=case.thread_id,
            case_id=case.pk,
            unit_id=case.unit_id,
            citizen_id=case.citizen.user_id,
            detail={"api_client": client.name, "entry": str(entry.pk), "message_ids": entry.message_ids},
        )
    return entry


def case_file_due_ids(*, grace_seconds: int, limit: int = 1000) -> list[str]:
    """Pending entries overdue by more than `grace_seconds`: their task was lost."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    return [
        str(pk)
        for pk in CaseFileEntry.objects.filter(
            status=CaseFileEntry.Status.PENDING, next_attempt_at__lte=cutoff
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]
