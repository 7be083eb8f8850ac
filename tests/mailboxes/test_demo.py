from io import StringIO

import pytest
from django.core.management import call_command

from mailboxes.models import Delivery, MailboxThread, Message, Thread

pytestmark = pytest.mark.django_db


def state():
    return {
        "threads": Thread.objects.count(),
        "messages": Message.objects.count(),
        "deliveries": Delivery.objects.count(),
        "summaries": list(
            MailboxThread.objects.order_by("id").values_list(
                "unread_count", "taken_by_id", "handled_by_id", "forwarded_by_name"
            )
        ),
    }


def test_demo_shows_every_inbox_state_and_a_second_run_changes_nothing(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests-only")
    call_command("seed_demo", stdout=StringIO())
    rows = MailboxThread.objects.select_related("mailbox", "thread")
    internal = rows.filter(thread__kind=Thread.Kind.INTERNAL)
    citizen = rows.filter(thread__kind=Thread.Kind.CITIZEN)
    for subset in (internal, citizen):
        assert subset.filter(unread_count__gt=0).exists()
        assert subset.filter(unread_count=0).exists()
        assert subset.filter(mailbox__kind="group", taken_by__isnull=False, handled_by__isnull=True).exists()
        assert subset.filter(mailbox__kind="group", handled_by__isnull=False).exists()
    assert citizen.exclude(forwarded_by_name="").exists()
    # Every demo message reached a mailbox.
    assert (
        not Message.objects.filter(routed_at__isnull=True, kind=Message.Kind.NORMAL)
        .exclude(deliveries__isnull=False)
        .exists()
    )

    before = state()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert state() == before
    assert "nothing changed" in out.getvalue()
