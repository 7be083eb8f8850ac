"""Message retention: messages received before the cutoff go with everything that refers to them;
what is newer stays exactly as it was, and the inboxes count what is left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from absence.escalation import group_unread_escalate
from absence.models import Absence, AutoReply, GroupUnreadEscalation
from absence.routing import route_message
from accounts import roles
from audit.message_retention import messages_delete_expired, messages_expired_count
from audit.models import AccessLogEntry, AuditEvent
from audit.services import access_log_record, access_log_verify
from eservices.models import Case, Citizen, NotificationLog
from eservices.notifications import message_notify
from eservices.services import citizen_message_send, staff_message_send
from mailboxes.models import Attachment, Delivery, Mailbox, MailboxThread, Message, Thread
from mailboxes.selectors import mailboxes_with_unread
from mailboxes.services import thread_forward
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_reply, internal_thread, personal
from tests.mailboxes.test_access import pdf_attachment

pytestmark = pytest.mark.django_db

DAYS = settings.MESSAGE_RETENTION_DAYS


@contextmanager
def clock(when: datetime) -> Iterator[None]:
    """Services run as if it were `when` (they stamp messages and deliveries with timezone.now())."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: when)
        yield


@dataclass
class History:
    cutoff: datetime
    case: Case  # handled by handler_a1: old messages, then a new one
    old_case: Case  # unassigned, only old messages
    old_internal: Thread  # only old messages, no case
    new_internal: Message
    m1: Message  # old citizen message with a PDF, forwarded (away), forwarded on by hand
    m2: Message  # old staff message to the citizen (notified by e-mail)
    m3: Message  # new citizen message with a PDF, forwarded by hand to unit A
    old_file: str
    new_file: str


def citizen_writes_with_pdf(case: Case, body: str) -> Message:
    message = citizen_message_send(
        case=case,
        citizen_user=case.citizen.user,
        body=body,
        attachments=pdf_attachment(case.citizen.user),
    )
    route_message(message_id=message.pk)
    return message


@pytest.fixture
def history(org) -> History:
    """Ten years and a month ago: a citizen writes with a PDF while the handler is away (forwarded to
    unit A with an out-of-office reply, then forwarded on by hand to unit B), the handler answers
    (the citizen is notified), two colleagues talk in an internal thread, and another citizen writes
    in an unassigned case. Ten days ago: the citizen writes again with a PDF, the handler forwards
    it by hand to unit A, and two colleagues start a new internal thread. Then the group mailboxes'
    unread messages are escalated."""
    now = timezone.now()
    old, new = now - timedelta(days=DAYS + 30), now - timedelta(days=10)
    a1, a2 = org.handler_a1, org.handler_a2
    citizen = factories.citizen("Greta", "Gammal")
    citizen.notify_channel, citizen.notify_email = Citizen.Channel.EMAIL, "greta@example.invalid"
    citizen.save(update_fields=["notify_channel", "notify_email"])
    case = factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a, handler=a1, subject="Stöd")
    old_case = factories.case(
        eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Olle", "Ohanterad"), subject="Gammal"
    )
    Absence.objects.create(
        handler=a1,
        kind=Absence.Kind.UNPLANNED,
        starts_at=old - timedelta(hours=1),
        ends_at=old + timedelta(days=1),
        forward_to=group(org.unit_a),
        set_by=a1,
    )
    with clock(old):
        m1 = citizen_writes_with_pdf(case, "Gammal fråga om försörjningsstöd")
        old_internal = internal_thread(
            a2, [personal(org.handler_b1)], subject="Gammal intern", body="Gammalt internt"
        )
        citizen_writes(old_case, body="Gammalt meddelande i ett ärende utan handläggare")
    with clock(old + timedelta(hours=1)):
        thread_forward(mailbox=group(org.unit_a), thread=case.thread, target=group(org.unit_b), user=a2)
        internal_reply(
            old_internal.thread,
            org.handler_b1,
            personal(org.handler_b1),
            [personal(a2)],
            body="Gammalt internt svar",
        )
    with clock(old + timedelta(hours=2)):
        m2 = staff_message_send(case=case, sender=a1, body="Gammalt svar till medborgaren")
        route_message(message_id=m2.pk)
        message_notify(message_id=m2.pk)
    with clock(new):
        m3 = citizen_writes_with_pdf(case, "Ny fråga om försörjningsstöd")
        new_internal = internal_thread(a2, [personal(a1)], subject="Ny intern", body="Nytt internt")
    with clock(new + timedelta(hours=1)):
        thread_forward(mailbox=personal(a1), thread=case.thread, target=group(org.unit_a), user=a1)
    group_unread_escalate(now=now)
    return History(
        cutoff=now - timedelta(days=DAYS),
        case=case,
        old_case=old_case,
        old_internal=old_internal.thread,
        new_internal=new_internal,
        m1=m1,
        m2=m2,
        m3=m3,
        old_file=m1.attachments.get().file.name,
        new_file=m3.attachments.get().file.name,
    )


def summary(mailbox: Mailbox, thread: Thread) -> MailboxThread:
    return MailboxThread.objects.get(mailbox=mailbox, thread=thread)


def newer_rows(h: History) -> dict:
    """Every row that belongs to something received after the cutoff, field by field."""
    new = Message.objects.filter(created_at__gte=h.cutoff)
    return {
        "messages": [model_to_dict(m) for m in new.order_by("pk")],
        "deliveries": [model_to_dict(d) for d in Delivery.objects.filter(message__in=new).order_by("pk")],
        "attachments": [model_to_dict(a) for a in Attachment.objects.filter(message__in=new).order_by("pk")],
        "escalations": [
            model_to_dict(e)
            for e in GroupUnreadEscalation.objects.filter(delivery__message__in=new).order_by("pk")
        ],
        "threads": [
            model_to_dict(t) for t in Thread.objects.filter(messages__in=new).distinct().order_by("pk")
        ],
    }


def test_the_history_has_what_retention_must_remove(org, history):
    """The fixture builds every kind of row that refers to a message, on both sides of the cutoff."""
    h = history
    old = Message.objects.filter(created_at__lt=h.cutoff)
    assert old.count() == 6  # m1, its out-of-office reply, m2, two internal messages, old_case's one
    assert AutoReply.objects.filter(in_reply_to=h.m1).exists()
    assert NotificationLog.objects.filter(message=h.m2).exists()
    chain = Delivery.objects.get(message=h.m1, mailbox=group(org.unit_b))
    assert chain.forwarded_from.forwarded_from.mailbox == personal(org.handler_a1)
    assert GroupUnreadEscalation.objects.filter(delivery__message=h.m1).count() == 2
    assert GroupUnreadEscalation.objects.filter(delivery__message=h.m3).count() == 1
    assert default_storage.exists(h.old_file) and default_storage.exists(h.new_file)


def test_old_messages_go_with_everything_that_refers_to_them(org, history):
    h = history
    old_ids = list(Message.objects.filter(created_at__lt=h.cutoff).values_list("pk", flat=True))
    through = Message.recipients.through

    result = messages_delete_expired(cutoff=h.cutoff)

    assert not Message.objects.filter(pk__in=old_ids).exists()
    assert not Delivery.objects.filter(message_id__in=old_ids).exists()
    assert not Attachment.objects.filter(message_id__in=old_ids).exists()
    assert not through.objects.filter(message_id__in=old_ids).exists()
    assert not NotificationLog.objects.exists()
    assert not AutoReply.objects.exists()
    assert list(GroupUnreadEscalation.objects.values_list("delivery__message", flat=True)) == [h.m3.pk]
    assert result.counts.as_dict() == {
        "messages": 6,
        "deliveries": 9,  # m1: 3 (own, unit A, unit B), m2: 1, internal: 2 + 2, old_case: 1
        "attachments": 1,
        "recipients": 2,
        "notifications": 1,
        "auto_replies": 1,
        "escalations": 3,
        "summaries_updated": 2,  # handler_a1's and unit A's summaries of the case thread
        "summaries_deleted": 4,  # unit B's of the case thread, unit A's of old_case, both internal
        "threads_deleted": 1,
        "threads_kept": 1,
    }


def test_a_forwarded_chain_is_removed_without_protect_errors(org, history):
    h = history
    messages_delete_expired(cutoff=h.cutoff)
    assert not Delivery.objects.filter(message=h.m1).exists()
    # The new message's forward by hand still points at the copy it came from.
    forwarded = Delivery.objects.get(message=h.m3, mailbox=group(org.unit_a))
    assert forwarded.forwarded_from == Delivery.objects.get(message=h.m3, mailbox=personal(org.handler_a1))


def test_attachment_files_are_removed_from_storage_only_after_commit(
    history, django_capture_on_commit_callbacks
):
    h = history
    with django_capture_on_commit_callbacks() as callbacks:
        messages_delete_expired(cutoff=h.cutoff)
        # Until the batch commits, the file is still there (a rollback would need it).
        assert default_storage.exists(h.old_file)
    assert callbacks
    for callback in callbacks:
        callback()
    assert not default_storage.exists(h.old_file)
    assert default_storage.exists(h.new_file)


def test_nothing_received_after_the_cutoff_is_touched(history):
    h = history
    before = newer_rows(h)
    assert before["messages"] and before["deliveries"] and before["attachments"] and before["escalations"]
    messages_delete_expired(cutoff=h.cutoff)
    assert newer_rows(h) == before
    assert Message.objects.filter(pk__in=[h.m3.pk, h.new_internal.pk]).count() == 2


def test_a_message_received_exactly_at_the_cutoff_stays(org):
    cutoff = timezone.now() - timedelta(days=DAYS)
    with clock(cutoff):
        at_cutoff = internal_thread(org.handler_a1, [personal(org.handler_a2)], subject="Precis")
    with clock(cutoff - timedelta(microseconds=1)):
        just_before = internal_thread(org.handler_a1, [personal(org.handler_a2)], subject="Strax före")
    result = messages_delete_expired(cutoff=cutoff)
    assert result.counts.messages == 1
    assert Message.objects.filter(pk=at_cutoff.pk).exists()
    assert not Message.objects.filter(pk=just_before.pk).exists()


def test_a_batch_takes_as_many_queries_for_many_threads_as_for_one(org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cutoff = timezone.now() - timedelta(days=DAYS)

    def queries_to_remove(threads: int) -> int:
        # Each thread: an old message to two mailboxes and a newer reply, so summaries are recounted.
        for i in range(threads):
            with clock(cutoff - timedelta(days=1)):
                first = internal_thread(
                    org.handler_a1, [personal(org.handler_a2), group(org.unit_b)], f"T{i}"
                )
            internal_reply(first.thread, org.handler_a2, personal(org.handler_a2), [personal(org.handler_a1)])
        with CaptureQueriesContext(connection) as queries:
            result = messages_delete_expired(cutoff=cutoff)
        assert (result.counts.messages, result.counts.summaries_updated) == (threads, 2 * threads)
        return len(queries)

    assert queries_to_remove(1) == queries_to_remove(6)


def test_summaries_count_what_is_left_as_the_inbox_shows_it(client, org, history):
    h = history
    own, unit_a = personal(org.handler_a1), group(org.unit_a)
    assert (summary(own, h.case.thread).message_count, summary(own, h.case.thread).unread_count) == (3, 2)
    assert (summary(unit_a, h.case.thread).message_count, summary(unit_a, h.case.thread).unread_count) == (
        2,
        2,
    )

    messages_delete_expired(cutoff=h.cutoff)

    row = summary(own, h.case.thread)
    assert (row.message_count, row.unread_count) == (1, 1)
    assert row.latest_snippet == "Ny fråga om försörjningsstöd"
    assert row.last_activity_at == h.m3.created_at
    row = summary(unit_a, h.case.thread)
    assert (row.message_count, row.unread_count) == (1, 1)
    # The absence forward went with m1; the forward by hand of m3 is what is left.
    assert (row.forwarded_for_name, row.forwarded_by_name) == ("", "Anna Andersson")
    assert not MailboxThread.objects.filter(mailbox=group(org.unit_b)).exists()

    # The inbox: handler_a1's own mailbox counts one unread thread with one unread message ...
    login(client, org.handler_a1)
    unread = {m.pk: m.unread for m in mailboxes_with_unread(org.handler_a1)}
    assert unread[own.pk] == 2  # the case thread's new message and the new internal thread
    page = client.get(reverse("mailboxes:mailbox", args=[own.pk]))
    rows = {r.thread_id: r for r in page.context["page"].object_list}
    assert set(rows) == {h.case.thread_id, h.new_internal.thread_id}
    assert rows[h.case.thread_id].unread_count == 1
    # ... and unit A lists the case thread alone, one unread, no longer tagged as an absence forward.
    login(client, org.handler_a2)
    page = client.get(reverse("mailboxes:mailbox", args=[unit_a.pk]))
    assert [r.thread_id for r in page.context["page"].object_list] == [h.case.thread_id]
    html = page.content.decode()
    assert "1 oläst" in html
    assert "vidarebefordrat av Anna Andersson" in html
    assert "vidarebefordrat — Anna Andersson" not in html


def test_a_summary_whose_newest_message_went_shows_the_newest_left(org, history):
    """On a consistent summary the newest message is never removed (everything kept is newer). A
    summary that was off anyway is set right rather than left pointing at a removed message."""
    h = history
    own = personal(org.handler_a1)
    MailboxThread.objects.filter(mailbox=own, thread=h.case.thread).update(
        last_activity_at=h.m1.created_at, latest_sender_name="Fel", latest_snippet="Gammal fråga"
    )
    messages_delete_expired(cutoff=h.cutoff)
    row = summary(own, h.case.thread)
    assert row.last_activity_at == h.m3.created_at
    assert (row.latest_sender_name, row.latest_snippet) == ("Greta Gammal", "Ny fråga om försörjningsstöd")


def test_a_thread_left_empty_goes_unless_a_case_points_at_it(org, history):
    h = history
    messages_delete_expired(cutoff=h.cutoff)
    assert not Thread.objects.filter(pk=h.old_internal.pk).exists()
    assert not MailboxThread.objects.filter(thread_id=h.old_internal.pk).exists()
    # The case's thread stays (cases follow the case system's retention), in no inbox.
    kept = Thread.objects.get(pk=h.old_case.thread_id)
    assert Case.objects.get(pk=h.old_case.pk).thread == kept
    assert not kept.messages.exists()
    assert not MailboxThread.objects.filter(thread=kept).exists()
    assert Thread.objects.filter(pk=h.case.thread_id).exists()


def test_access_log_entries_about_removed_messages_stay_and_the_chain_verifies(org, history):
    h = history
    for thread_id, object_type, object_id in (
        (h.case.thread_id, "message", h.m1.pk),
        (h.old_case.thread_id, "thread", h.old_case.thread_id),
        (h.old_internal.pk, "thread", h.old_internal.pk),
    ):
        access_log_record(
            user=org.handler_a1,
            action=AccessLogEntry.Action.READ_THREAD,
            route=AccessLogEntry.Route.OWN_MAILBOX,
            object_type=object_type,
            object_id=object_id,
            thread_id=thread_id,
        )
    before = list(AccessLogEntry.objects.order_by("seq").values())
    messages_delete_expired(cutoff=h.cutoff)
    assert list(AccessLogEntry.objects.order_by("seq").values()) == before
    assert access_log_verify().ok


def test_each_batch_records_its_counts_and_the_cutoff_never_content(history):
    h = history
    result = messages_delete_expired(cutoff=h.cutoff, batch_size=4, retention_days=DAYS)
    events = list(AuditEvent.objects.filter(action="retention.messages").order_by("pk"))
    assert result.batches == len(events) == 2
    assert [e.after["messages"] for e in events] == [4, 2]
    for key, total in result.counts.as_dict().items():
        assert sum(e.after[key] for e in events) == total
    for event in events:
        assert event.after["cutoff"] == h.cutoff.isoformat()
        assert event.after["retention_days"] == DAYS
        assert event.actor is None and event.target_type == "mailboxes.message" and event.target_id == ""
        text = json.dumps(event.after) + event.target_repr + event.reason
        assert "fråga" not in text and "Gammal" not in text
        assert h.case.citizen.personnummer not in text and h.old_case.citizen.personnummer not in text


def test_the_change_log_shows_the_removal_in_swedish(client, org, history):
    messages_delete_expired(cutoff=history.cutoff, retention_days=DAYS)
    login(client, org.log_reviewer)
    body = client.get(reverse("audit:events"), {"area": "retention"}).content.decode()
    assert "Gamla meddelanden gallrade" in body
    assert "meddelanden: 6" in body and "exemplar i brevlådor: 9" in body
    assert f"gallringsfrist (dagar): {DAYS}" in body


def test_a_second_run_removes_and_records_nothing(history):
    h = history
    messages_delete_expired(cutoff=h.cutoff)
    counts = (Message.objects.count(), Delivery.objects.count(), MailboxThread.objects.count())
    events = AuditEvent.objects.count()
    again = messages_delete_expired(cutoff=h.cutoff)
    assert again.batches == 0 and not any(again.counts.as_dict().values())
    assert (Message.objects.count(), Delivery.objects.count(), MailboxThread.objects.count()) == counts
    assert AuditEvent.objects.count() == events


def test_the_command_lists_a_dry_run_then_proposes_and_removes_nothing(history):
    """Messages go only in an approved retention run (tests/retention): the command lists them."""
    h = history
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    # Both cases are open: their old messages are kept past the period, the internal ones listed.
    assert (
        "Messages in citizen threads: 0 listed for removal; kept past the period: 4 open_case."
        in out.getvalue()
    )
    assert "Messages in internal threads: 2 listed for removal" in out.getvalue()
    assert not AuditEvent.objects.filter(action__startswith="retention.").exists()

    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "Messages in internal threads: 2 listed for removal" in out.getvalue()
    assert "proposed; approve or cancel it at" in out.getvalue()
    assert Message.objects.filter(created_at__lt=h.cutoff).count() == 6

    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "a run already waits for approval" in out.getvalue()


def test_an_approved_run_removes_what_the_dry_count_counts(org, history):
    from retention_rules.execution import run_until_done
    from retention_rules.services import run_approve, run_propose

    Case.objects.update(status=Case.Status.CLOSED)
    preview = messages_expired_count(cutoff=history.cutoff).counts.as_dict()
    run = run_propose(proposer=org.sysadmin)
    colleague = factories.staff(roles.SYSTEMFORVALTARE)
    run_approve(run_id=run.pk, approver=colleague)
    run_until_done(run_id=run.pk)
    run.refresh_from_db()
    removed: dict[str, int] = {}
    for kind in ("citizen_thread", "internal_thread"):
        for key, n in run.done_counts[kind].items():
            removed[key] = removed.get(key, 0) + n
    # The dry count does not work out the summaries.
    for key in ("summaries_updated", "summaries_deleted"):
        preview.pop(key), removed.pop(key)
    assert preview == removed
    assert not Message.objects.filter(created_at__lt=history.cutoff).exists()


def test_the_nightly_tasks_remove_no_message_without_approval(history):
    from lifemsg.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["retention"]["task"] == "audit.retention"
    app.loader.import_default_modules()
    result = app.tasks["audit.retention"].run()
    assert "messages" not in result
    assert json.loads(json.dumps(result)) == result  # what the result backend stores
    run_id = app.tasks["retention.propose"].run()
    assert run_id is not None
    assert Message.objects.filter(created_at__lt=history.cutoff).count() == 6


# Every foreign key (and one-to-one, and many-to-many) to these models, anywhere, and what retention
# does with it (mailboxes.services, "retention"). A new one fails here until retention handles it.
HANDLED_RELATIONS = {
    ("mailboxes.attachment", "message"): "deleted, file on commit",
    ("mailboxes.delivery", "message"): "deleted",
    ("mailboxes.delivery", "thread"): "deleted with its message",
    ("mailboxes.delivery", "forwarded_from"): "cleared, then deleted",
    ("mailboxes.message", "thread"): "deleted",
    ("mailboxes.message_recipients", "message"): "deleted",
    ("mailboxes.mailboxthread", "thread"): "recomputed or deleted",
    ("absence.autoreply", "message"): "deleted",
    ("absence.autoreply", "in_reply_to"): "deleted",
    ("absence.autoreply", "thread"): "deleted with its message",
    ("absence.groupunreadescalation", "delivery"): "deleted",
    ("absence.unregisteredabsencealert", "delivery"): "deleted",
    ("eservices.notificationlog", "message"): "deleted",
    ("eservices.case", "thread"): "keeps the thread",
    ("integrations.threadexport", "thread"): "keeps the thread",
    ("integrations.casefileentry", "thread"): "keeps the thread",
    # A draft goes with its thread (cascade), and on its own after DRAFT_RETENTION_DAYS.
    ("replies.draft", "thread"): "deleted with the thread",
}


def test_every_relation_to_messages_threads_and_deliveries_is_handled_by_retention():
    targets = {apps.get_model("mailboxes", name) for name in ("Message", "Thread", "Delivery", "Attachment")}
    found = {
        (model._meta.label_lower, field.name)
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model in targets
    }
    assert found == set(HANDLED_RELATIONS)
    # The access log holds ids, never a key that could block or cascade.
    assert not any(label.startswith("audit.") for label, _ in found)


def test_an_unregistered_absence_alert_goes_with_its_message(org, history):
    """The alert row (absence.unregistered) refers to the delivery: it must not block retention."""
    from absence.models import UnregisteredAbsenceAlert

    h = history
    delivery = Delivery.objects.filter(message=h.m1, mailbox=personal(org.handler_a1)).get()
    before = messages_expired_count(cutoff=h.cutoff).counts.escalations
    UnregisteredAbsenceAlert.objects.create(delivery=delivery, owner=org.handler_a1)
    assert messages_expired_count(cutoff=h.cutoff).counts.escalations == before + 1
    result = messages_delete_expired(cutoff=h.cutoff)
    assert not UnregisteredAbsenceAlert.objects.exists()
    assert not Message.objects.filter(pk=h.m1.pk).exists()
    assert result.counts.escalations == before + 1  # counted with the group escalations
