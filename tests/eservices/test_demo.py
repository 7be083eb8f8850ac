from io import StringIO

import pytest
from django.core.management import call_command

from eservices.models import Case, Citizen, ConversationTopic, EService, NotificationLog
from mailboxes.models import Message

pytestmark = pytest.mark.django_db


def _state():
    return {
        "topics": sorted(ConversationTopic.objects.values_list("eservice__slug", "topic", "unit__slug")),
        "descriptions": sorted(EService.objects.values_list("slug", "description")),
        "notify": sorted(
            Citizen.objects.values_list("personnummer", "notify_channel", "notify_email", "notify_phone")
        ),
        "read": sorted(Case.objects.values_list("reference", "citizen_last_read_at")),
        "messages": Message.objects.count(),
        "cases": Case.objects.count(),
        "logs": NotificationLog.objects.count(),
    }


def test_demo_data_makes_the_portal_look_real_and_a_second_run_changes_nothing(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests-only")
    call_command("seed_demo", stdout=StringIO())
    first = _state()
    call_command("seed_demo", stdout=StringIO())
    assert _state() == first

    assert ("meddelande-ifo", "adults", "ifo-vuxen") in first["topics"]
    assert ("meddelande-ifo", "children_family", "ifo-barn-familj") in first["topics"]
    assert all(description for _, description in first["descriptions"])
    channels = {channel for _, channel, _, _ in first["notify"]}
    assert {"email", "sms", "both", "none"} <= channels
    for eservice in EService.objects.all():
        assert eservice.cases.exists(), eservice
    assert Case.objects.filter(handler__isnull=True).exists()
    assert Case.objects.filter(co_handlers__isnull=False).exists()
    assert Case.objects.filter(citizen_last_read_at__isnull=False).exists()
    assert Case.objects.filter(citizen_last_read_at__isnull=True).exists()
    assert Message.objects.filter(kind=Message.Kind.AUTOMATIC).exists()
    started = Case.objects.get(eservice__slug="meddelande-ifo", unit__slug="ifo-vuxen")
    assert started.handler is None
    assert not Message.objects.filter(routed_at__isnull=True).exists()
