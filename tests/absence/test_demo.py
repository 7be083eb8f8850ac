from io import StringIO

import pytest
from django.core.management import call_command

from absence.models import Absence, AutoReply
from audit.models import AuditEvent
from mailboxes.models import Delivery, Mailbox, Message

pytestmark = pytest.mark.django_db


def _counts():
    return (
        Absence.objects.count(),
        Delivery.objects.count(),
        Message.objects.count(),
        AuditEvent.objects.count(),
    )


def test_demo_has_the_three_absences_with_forwarded_mail_and_is_idempotent(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests-only")
    call_command("seed_demo", stdout=StringIO())
    now_away = Absence.objects.get(handler__username="cecilia.carlsson")
    next_week = Absence.objects.get(handler__username="olivia.olsson")
    sick = Absence.objects.get(handler__username="hassan.haddad")
    assert now_away.kind == Absence.Kind.PLANNED and now_away.is_active()
    assert next_week.kind == Absence.Kind.PLANNED and next_week.is_upcoming()
    assert sick.kind == Absence.Kind.UNPLANNED and sick.ends_at is None and sick.is_active()
    assert sick.set_by.username == "admin.sarskild"
    for absence in (now_away, sick):
        forwarded = Delivery.objects.filter(
            reason=Delivery.Reason.FORWARDED_ABSENCE,
            forwarded_for=absence.handler,
            mailbox__kind=Mailbox.Kind.GROUP,
        )
        assert forwarded.exists(), absence
    assert AutoReply.objects.count() == 2

    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first
