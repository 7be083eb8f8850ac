from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery

from eservices.models import Case
from lifemsg.perf.compiled import CompiledQuery
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


def _exports_for_thread(*, thread_id: int) -> QuerySet[ThreadExport]:
    return ThreadExport.objects.filter(thread_id=thread_id).select_related("exported_by")


# Compiled once (lifemsg.perf.compiled): every citizen thread page shows the thread's exports.
_EXPORTS_FOR_THREAD = CompiledQuery(_exports_for_thread)


def exports_for_thread(thread: Thread) -> list[ThreadExport]:
    """Exports of the thread to the case file, newest first, with who made them (one query)."""
    return _EXPORTS_FOR_THREAD.fetch(thread_id=thread.pk)


def _case_file_entries_for_thread(*, thread_id: int) -> QuerySet[CaseFileEntry]:
    # The PDF itself is not needed to show an entry's state.
    return (
        CaseFileEntry.objects.filter(thread_id=thread_id)
        .select_related("requested_by", "case")
        .defer("pdf")
        .order_by("-requested_at")
    )


_CASE_FILE_ENTRIES_FOR_THREAD = CompiledQuery(_case_file_entries_for_thread)


def case_file_entries_for_thread(thread: Thread) -> list[CaseFileEntry]:
    """The thread's journalföring to the case system, newest first, with its state (one query)."""
    return _CASE_FILE_ENTRIES_FOR_THREAD.fetch(thread_id=thread.pk)
