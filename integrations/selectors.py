from __future__ import annotations

from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast

from accounts.models import User
from eservices.models import Case
from mailboxes.models import Delivery, MailboxThread, Message, Thread

from .models import CaseFileEntry, ThreadExport


def api_case(*, external_id: str) -> Case | None:
    return (
        Case.objects.select_related("citizen", "eservice", "unit", "handler", "thread")
        .prefetch_related("co_handlers")
        .filter(external_id=external_id)
        .first()
    )


def api_thread_messages(*, case: Case, with_attachments: bool = False) -> QuerySet[Message]:
    """The thread's messages with their read state, in one query (plus one for attachments).
    read_at: first time staff read the message in any mailbox (the sender's own copy excluded)."""
    first_read = (
        Delivery.objects.filter(message=OuterRef("pk"), read_at__isnull=False)
        .exclude(reason=Delivery.Reason.SENT)
        .order_by("read_at")
        .values("read_at")[:1]
    )
    first_handled = (
        Delivery.objects.filter(message=OuterRef("pk"), handled_at__isnull=False)
        .order_by("handled_at")
        .values("handled_at")[:1]
    )
    messages = (
        Message.objects.filter(thread_id=case.thread_id)
        .select_related("sender")
        .annotate(
            first_read_at=Subquery(first_read),
            first_handled_at=Subquery(first_handled),
            attachment_count=Count("attachments"),
        )
        .order_by("created_at", "id")
    )
    if with_attachments:
        messages = messages.prefetch_related("attachments")
    return messages


def api_thread_mailboxes(*, case: Case) -> QuerySet[MailboxThread]:
    return (
        MailboxThread.objects.filter(thread_id=case.thread_id)
        .select_related("mailbox__unit", "handled_by")
        .order_by("mailbox__kind", "mailbox_id")
    )


def sender_kind(message: Message) -> str:
    if message.kind == Message.Kind.AUTOMATIC or message.sender is None:
        return "system"
    return "citizen" if message.sender.is_citizen else "staff"


_PANEL_COLUMNS = (
    "row_kind", "row_id", "row_seq", "row_at", "row_status", "row_attempts", "row_error", "row_next",
    "row_delivered", "row_acknowledged", "row_document", "row_messages", "row_case_id", "row_case_ref",
    "row_case_external", "row_user_id", "row_username", "row_first", "row_last",
)  # fmt: skip


def _panel_rows(queryset, *, kind: int, at: str, user: str, **entry_columns):
    none = {
        "row_status": Value("", output_field=CharField()),
        "row_attempts": Value(0, output_field=IntegerField()),
        "row_error": Value("", output_field=CharField()),
        "row_next": Value(None, output_field=DateTimeField()),
        "row_delivered": Value(None, output_field=DateTimeField()),
        "row_acknowledged": Value(None, output_field=DateTimeField()),
        "row_document": Value("", output_field=CharField()),
    }
    return (
        queryset.annotate(
            row_kind=Value(kind, output_field=IntegerField()),
            row_id=Cast("pk", output_field=CharField()),
            row_seq=Value(0, output_field=IntegerField()) if kind == 0 else F("pk"),
            row_at=F(at),
            row_messages=F("message_ids"),
            row_case_id=F("case_id"),
            row_case_ref=F("case__reference"),
            row_case_external=F("case__external_id"),
            row_user_id=F(f"{user}_id"),
            row_username=F(f"{user}__username"),
            row_first=F(f"{user}__first_name"),
            row_last=F(f"{user}__last_name"),
            **{**none, **entry_columns},
        )
        .order_by()
        .values_list(*_PANEL_COLUMNS)
    )  # ordered as a whole: SQLite refuses ORDER BY in its parts


def export_panel_rows(thread: Thread) -> tuple[list[CaseFileEntry], list[ThreadExport]]:
    """The thread's journalföring to the case system and its downloaded copies, each newest first,
    read together (one query, a UNION ALL): every citizen thread page shows them."""
    entries = _panel_rows(
        CaseFileEntry.objects.filter(thread_id=thread.pk),
        kind=0,
        at="requested_at",
        user="requested_by",
        row_status=F("status"),
        row_attempts=F("attempts"),
        row_error=F("last_error"),
        row_next=F("next_attempt_at"),
        row_delivered=F("delivered_at"),
        row_acknowledged=F("acknowledged_at"),
        row_document=F("document_id"),
    )
    exports = _panel_rows(
        ThreadExport.objects.filter(thread_id=thread.pk), kind=1, at="exported_at", user="exported_by"
    )
    found: tuple[list, list] = ([], [])
    for row in entries.union(exports, all=True).order_by("row_kind", "-row_at", "-row_seq"):
        r = dict(zip(_PANEL_COLUMNS, row, strict=True))
        case = Case(pk=r["row_case_id"], reference=r["row_case_ref"], external_id=r["row_case_external"])
        user = User(
            pk=r["row_user_id"],
            username=r["row_username"],
            first_name=r["row_first"],
            last_name=r["row_last"],
        )
        if r["row_kind"] == 0:
            found[0].append(
                CaseFileEntry(
                    pk=r["row_id"],
                    thread=thread,
                    case=case,
                    requested_by=user,
                    requested_at=r["row_at"],
                    status=r["row_status"],
                    attempts=r["row_attempts"],
                    last_error=r["row_error"],
                    next_attempt_at=r["row_next"],
                    delivered_at=r["row_delivered"],
                    acknowledged_at=r["row_acknowledged"],
                    document_id=r["row_document"],
                    message_ids=r["row_messages"],
                )
            )
        else:
            found[1].append(
                ThreadExport(
                    pk=int(r["row_id"]),
                    thread=thread,
                    case=case,
                    exported_by=user,
                    exported_at=r["row_at"],
                    message_ids=r["row_messages"],
                )
            )
    return found
