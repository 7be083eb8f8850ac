"""Upload retention: files stored for a form that was then given up (never attached to a message) go
once they are UPLOAD_UNATTACHED_HOURS old, row and file; a message's attachments are never touched."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.retention import uploads_prune
from mailboxes.models import Attachment
from mailboxes.services import internal_thread_start, uploads_delete_abandoned
from tests.conftest import login
from tests.mailboxes.conftest import personal
from tests.mailboxes.test_access import pdf_attachment

pytestmark = pytest.mark.django_db

HOURS = settings.UPLOAD_UNATTACHED_HOURS


def upload(user, *, at: datetime, name: str = "intyg.pdf") -> Attachment:
    """An upload kept for a re-shown form and never sent, stored at `at`."""
    (attachment,) = pdf_attachment(user, name=name)
    # uploaded_at's default is timezone.now itself, captured when the model was defined: set it here.
    Attachment.objects.filter(pk=attachment.pk).update(uploaded_at=at)
    attachment.refresh_from_db()
    return attachment


@pytest.fixture
def cutoff() -> datetime:
    return timezone.now() - timedelta(hours=HOURS)


def test_the_setting_defaults_to_a_day():
    assert HOURS == 24


def test_an_old_upload_never_sent_goes_and_its_file_only_after_commit(
    org, cutoff, django_capture_on_commit_callbacks
):
    old = upload(org.handler_a1, at=cutoff - timedelta(minutes=1))
    assert default_storage.exists(old.file.name)

    with django_capture_on_commit_callbacks() as callbacks:
        result = uploads_delete_abandoned(cutoff=cutoff)
        # Until the batch commits the file is still there (a rollback would need it).
        assert default_storage.exists(old.file.name)

    assert (result.uploads, result.batches) == (1, 1)
    assert not Attachment.objects.filter(pk=old.pk).exists()
    assert callbacks
    for callback in callbacks:
        callback()
    assert not default_storage.exists(old.file.name)


def test_a_recent_upload_and_one_stored_exactly_at_the_cutoff_stay(
    org, cutoff, django_capture_on_commit_callbacks
):
    recent = upload(org.handler_a1, at=timezone.now() - timedelta(minutes=5))
    at_cutoff = upload(org.handler_a2, at=cutoff)
    just_before = upload(org.handler_a2, at=cutoff - timedelta(microseconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        result = uploads_delete_abandoned(cutoff=cutoff)

    assert result.uploads == 1
    assert set(Attachment.objects.values_list("pk", flat=True)) == {recent.pk, at_cutoff.pk}
    assert default_storage.exists(recent.file.name) and default_storage.exists(at_cutoff.file.name)
    assert not default_storage.exists(just_before.file.name)


def test_an_old_attachment_of_a_message_stays_field_by_field(org, cutoff, django_capture_on_commit_callbacks):
    files = pdf_attachment(org.handler_a1, name="skickad.pdf")
    message = internal_thread_start(
        sender=org.handler_a1,
        recipients=[personal(org.handler_a2)],
        subject="Intyg",
        body="Se bilagan.",
        attachments=files,
    )
    # Uploaded and sent a month ago: older than the cutoff, like the abandoned one.
    Attachment.objects.filter(message=message).update(uploaded_at=cutoff - timedelta(days=30))
    sent = [model_to_dict(a) for a in Attachment.objects.filter(message__isnull=False).order_by("pk")]
    assert len(sent) == 1
    abandoned = upload(org.handler_a1, at=cutoff - timedelta(days=30), name="övergiven.pdf")

    with django_capture_on_commit_callbacks(execute=True):
        result = uploads_delete_abandoned(cutoff=cutoff)

    assert result.uploads == 1  # the run did remove what it should ...
    assert not Attachment.objects.filter(pk=abandoned.pk).exists()
    # ... and the message's attachment is exactly as it was, file included.
    assert [model_to_dict(a) for a in Attachment.objects.filter(message__isnull=False).order_by("pk")] == sent
    assert default_storage.exists(sent[0]["file"].name)


def test_a_file_already_gone_from_storage_does_not_stop_the_run(
    org, cutoff, caplog, django_capture_on_commit_callbacks
):
    gone = upload(org.handler_a1, at=cutoff - timedelta(hours=1), name="a.pdf")
    other = upload(org.handler_a1, at=cutoff - timedelta(hours=1), name="b.pdf")
    default_storage.delete(gone.file.name)

    with (
        caplog.at_level(logging.WARNING, logger="mailboxes.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = uploads_delete_abandoned(cutoff=cutoff)

    assert result.uploads == 2
    assert not Attachment.objects.filter(pk__in=[gone.pk, other.pk]).exists()
    assert not default_storage.exists(other.file.name)
    assert [r.levelno for r in caplog.records if gone.file.name in r.getMessage()] == [logging.WARNING]


def test_each_batch_records_its_counts_and_the_cutoff_never_file_names(org, cutoff):
    for i in range(5):
        upload(org.handler_a1, at=cutoff - timedelta(hours=i + 1), name=f"Greta Gammal utredning {i}.pdf")
    names = list(Attachment.objects.values_list("file", flat=True))

    result = uploads_delete_abandoned(cutoff=cutoff, batch_size=2, unattached_hours=HOURS)

    events = list(AuditEvent.objects.filter(action="retention.uploads").order_by("pk"))
    assert result.batches == len(events) == 3
    assert [e.after for e in events] == [
        {"cutoff": cutoff.isoformat(), "retention_hours": HOURS, "attachments": n} for n in (2, 2, 1)
    ]
    for event in events:
        assert event.actor is None and event.target_type == "mailboxes.attachment" and event.target_id == ""
        text = json.dumps(event.after) + event.target_repr + event.reason
        assert "Greta" not in text and "utredning" not in text and ".pdf" not in text
        assert not any(name in text for name in names)


def test_the_change_log_shows_the_removal_in_swedish(client, org, cutoff):
    upload(org.handler_a1, at=cutoff - timedelta(hours=1))
    upload(org.handler_a2, at=cutoff - timedelta(hours=1))
    uploads_prune()
    login(client, org.log_reviewer)
    body = client.get(reverse("audit:events"), {"area": "retention"}).content.decode()
    assert "Bilagor som aldrig skickades gallrade" in body
    assert "bilagor: 2" in body and f"gallringsfrist (timmar): {HOURS}" in body


def test_a_second_run_removes_and_records_nothing(org, cutoff):
    upload(org.handler_a1, at=cutoff - timedelta(hours=1))
    kept = upload(org.handler_a1, at=timezone.now())
    assert uploads_delete_abandoned(cutoff=cutoff).uploads == 1
    events = AuditEvent.objects.count()

    again = uploads_delete_abandoned(cutoff=cutoff)

    assert (again.uploads, again.batches) == (0, 0)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [kept.pk]
    assert AuditEvent.objects.count() == events


def test_the_period_comes_from_the_setting(org, settings):
    settings.UPLOAD_UNATTACHED_HOURS = 2
    now = timezone.now()
    three_hours = upload(org.handler_a1, at=now - timedelta(hours=3))
    one_hour = upload(org.handler_a1, at=now - timedelta(hours=1))

    result = uploads_prune(now=now)

    assert result.cutoff == now - timedelta(hours=2)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [one_hour.pk]
    assert not Attachment.objects.filter(pk=three_hours.pk).exists()
    assert AuditEvent.objects.get(action="retention.uploads").after["retention_hours"] == 2


def test_the_dry_run_counts_and_removes_nothing(org, cutoff, django_capture_on_commit_callbacks):
    old = [upload(org.handler_a1, at=cutoff - timedelta(hours=1)) for _ in range(3)]
    upload(org.handler_a1, at=timezone.now())
    before = [model_to_dict(a) for a in Attachment.objects.order_by("pk")]

    with django_capture_on_commit_callbacks() as callbacks:
        preview = uploads_prune(dry_run=True)

    assert (preview.uploads, preview.dry_run) == (3, True)
    assert [model_to_dict(a) for a in Attachment.objects.order_by("pk")] == before
    assert not callbacks and all(default_storage.exists(a.file.name) for a in old)
    assert not AuditEvent.objects.filter(action="retention.uploads").exists()
    assert uploads_prune().uploads == preview.uploads


def test_the_command_reports_a_dry_run_without_removing_then_removes(org, cutoff):
    upload(org.handler_a1, at=cutoff - timedelta(hours=1))
    upload(org.handler_a2, at=cutoff - timedelta(hours=2))

    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "Uploads: would remove 2 never sent with a message, stored before " in out.getvalue()
    assert Attachment.objects.count() == 2
    assert not AuditEvent.objects.filter(action__startswith="retention.").exists()

    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "Uploads: removed 2 never sent with a message, stored before " in out.getvalue()
    assert not Attachment.objects.exists()
    assert AuditEvent.objects.filter(action="retention.uploads").count() == 1

    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "Uploads: nothing unsent stored before " in out.getvalue()


def test_the_nightly_task_removes_old_uploads_and_reports_the_count(org, cutoff):
    from lifemsg.celery import app

    upload(org.handler_a1, at=cutoff - timedelta(hours=1))
    upload(org.handler_a1, at=cutoff - timedelta(hours=1))
    kept = upload(org.handler_a1, at=timezone.now())
    assert settings.CELERY_BEAT_SCHEDULE["retention"]["task"] == "audit.retention"
    app.loader.import_default_modules()
    task = app.tasks["audit.retention"]

    result = task.run()

    assert result["uploads"] == 2
    assert datetime.fromisoformat(result["uploads_cutoff"]) <= timezone.now() - timedelta(hours=HOURS)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [kept.pk]
    assert json.loads(json.dumps(result)) == result  # what the result backend stores
    assert task.run()["uploads"] == 0


def test_a_run_takes_as_many_queries_for_many_uploads_as_for_one(org, cutoff):
    def queries_to_remove(count: int) -> int:
        for _ in range(count):
            upload(org.handler_a1, at=cutoff - timedelta(hours=1))
        with CaptureQueriesContext(connection) as queries:
            result = uploads_delete_abandoned(cutoff=cutoff, unattached_hours=HOURS)
        assert (result.uploads, result.batches) == (count, 1)
        return len(queries)

    assert queries_to_remove(1) == queries_to_remove(30)


def test_a_form_shown_again_after_its_kept_upload_went_says_the_file_is_gone(org, cutoff):
    from django.http import QueryDict

    from mailboxes.forms import ReplyForm

    kept = upload(org.handler_a1, at=cutoff - timedelta(hours=1))
    data = QueryDict(mutable=True)
    data.update({"body": "Här är intyget."})
    data.setlist("kept_attachments", [str(kept.pk)])
    assert ReplyForm(data, user=org.handler_a1).is_valid()  # offered again until the run

    uploads_delete_abandoned(cutoff=cutoff)

    form = ReplyForm(data, user=org.handler_a1)
    assert not form.is_valid()
    assert form.errors["kept_attachments"] == [
        "En fil som du lade till tidigare finns inte längre kvar. Välj den igen om den ska skickas med."
    ]
