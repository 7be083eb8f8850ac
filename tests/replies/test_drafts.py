"""Drafts: kept per thread and author as the reply or message to the citizen is written, restored on
the thread page, gone when the message is sent, seen by nobody but the author, never logged."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessLogEntry, AuditEvent
from replies.models import Draft
from replies.tasks import drafts_expire
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

pytestmark = pytest.mark.django_db

SECRET = "Utkast: skuld till Kronofogden 48 000 kr"


@pytest.fixture
def case(org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan")
    citizen_writes(case)
    return case


def _save(client, url: str, field: str, body: str, **extra):
    return client.post(url, {field: body, **extra}, headers={"HX-Request": "true"})


def _case_draft_url(case) -> str:
    return reverse("replies:case_draft", args=[case.pk])


def test_a_draft_to_the_citizen_is_kept_and_restored_on_the_thread_page(client, org, case):
    login(client, org.handler_a1)
    response = _save(client, _case_draft_url(case), "citizen-body", SECRET)
    assert response.status_code == 200
    assert "Utkast sparat" in response.text
    assert Draft.objects.get(user=org.handler_a1, thread=case.thread).body == SECRET

    page = client.get(reverse("mailboxes:case_thread", args=[case.pk]))
    assert page.status_code == 200
    assert SECRET in page.text  # back in the form
    assert "Utkast sparat" in page.text

    # Saved again: still one draft, with the new text.
    _save(client, _case_draft_url(case), "citizen-body", SECRET + " (rättat)")
    assert Draft.objects.get().body == SECRET + " (rättat)"


def test_a_draft_is_gone_once_the_message_is_sent(client, org, case):
    login(client, org.handler_a1)
    _save(client, _case_draft_url(case), "citizen-body", SECRET)
    response = client.post(reverse("mailboxes:case_send_citizen", args=[case.pk]), {"citizen-body": SECRET})
    assert response.status_code == 302
    assert not Draft.objects.exists()
    assert SECRET not in client.get(reverse("mailboxes:case_thread", args=[case.pk])).text.split("</ol>")[-1]


def test_an_internal_reply_draft_is_kept_and_removed_on_sending(client, org):
    message = internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Fråga")
    box = personal(org.handler_a1)
    login(client, org.handler_a1)
    url = reverse("replies:draft", args=[box.pk, message.thread_id])
    assert _save(client, url, "reply-body", "Jag återkommer").status_code == 200
    page = client.get(reverse("mailboxes:thread", args=[box.pk, message.thread_id]))
    assert "Jag återkommer" in page.text
    client.post(
        reverse("mailboxes:reply", args=[box.pk, message.thread_id]), {"reply-body": "Jag återkommer"}
    )
    assert not Draft.objects.exists()


def test_empty_text_removes_the_draft(client, org, case):
    login(client, org.handler_a1)
    _save(client, _case_draft_url(case), "citizen-body", SECRET)
    response = _save(client, _case_draft_url(case), "citizen-body", "  ")
    assert response.status_code == 200
    assert not Draft.objects.exists()


def test_nobody_else_sees_the_draft(client, org):
    """Not the co-handler writing in the same thread, not the unit manager, not the log reviewer,
    not the admin."""
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, co_handlers=(org.handler_a2,))
    citizen_writes(case)
    login(client, org.handler_a1)
    _save(client, _case_draft_url(case), "citizen-body", SECRET)
    co_handler_page = login(Client(), org.handler_a2).get(reverse("mailboxes:case_thread", args=[case.pk]))
    assert co_handler_page.status_code == 200 and "citizen-body" in co_handler_page.text
    for user in (org.handler_a2, org.manager_a, org.log_reviewer, org.sysadmin):
        other = login(Client(), user)
        for url in (
            reverse("mailboxes:case_thread", args=[case.pk]),
            reverse("audit:search") + f"?citizen={case.citizen.user_id}",
            reverse("audit:events"),
        ):
            assert SECRET not in other.get(url).text
    assert Draft not in admin.site._registry
    # No audit event or access-log entry holds the text either.
    assert not AuditEvent.objects.filter(after__icontains="Kronofogden").exists()
    assert not [e for e in AccessLogEntry.objects.all() if "Kronofogden" in str(e.detail)]


def test_others_cannot_write_a_draft_in_a_thread_they_may_not_send_in(client, org, case):
    # Bo is in unit A but not on the case team: no form, no draft (403); another unit's: 404.
    login(client, org.handler_a2)
    assert _save(client, _case_draft_url(case), "citizen-body", "x").status_code == 404
    group_case = factories.case(eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Olle", "Utan"))
    citizen_writes(group_case)
    url = reverse("replies:draft", args=[group(org.unit_a).pk, group_case.thread_id])
    assert _save(client, url, "citizen-body", "x").status_code == 403
    login(client, org.handler_b1)
    assert _save(client, url, "citizen-body", "x").status_code == 404
    assert not Draft.objects.exists()


def test_the_draft_text_is_never_logged(client, org, case, caplog):
    login(client, org.handler_a1)
    with caplog.at_level(logging.DEBUG):
        _save(client, _case_draft_url(case), "citizen-body", SECRET)
        client.get(reverse("mailboxes:case_thread", args=[case.pk]))
    assert Draft.objects.exists()
    assert not [r for r in caplog.records if "Kronofogden" in r.getMessage()]


def test_old_drafts_are_removed_by_the_daily_task(org, case, settings):
    settings.DRAFT_RETENTION_DAYS = 30
    now = timezone.now()
    Draft.objects.create(
        user=org.handler_a1, thread=case.thread, body="gammalt", saved_at=now - dt.timedelta(days=31)
    )
    Draft.objects.create(
        user=org.handler_a2, thread=case.thread, body="nytt", saved_at=now - dt.timedelta(days=29)
    )
    assert settings.CELERY_BEAT_SCHEDULE["replies-drafts-expire"]["task"] == "replies.drafts_expire"
    assert drafts_expire(now=now.isoformat()) == 1
    assert list(Draft.objects.values_list("body", flat=True)) == ["nytt"]
    assert drafts_expire(now=now.isoformat()) == 0


def test_an_autosave_that_arrives_after_the_message_was_sent_brings_no_draft_back(client, org, case):
    """The page's last autosave may still be under way when Send is pressed: it carries the moment
    the page was shown, and a save older than the author's last message in the thread is refused."""
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:case_thread", args=[case.pk])).text
    since = page.split('name="draft_since" value="')[1].split('"')[0]
    client.post(reverse("mailboxes:case_send_citizen", args=[case.pk]), {"citizen-body": SECRET})
    late = client.post(
        _case_draft_url(case), {"citizen-body": SECRET, "draft_since": since}, headers={"HX-Request": "true"}
    )
    assert late.status_code == 200
    assert "inte sparat" in late.text
    assert not Draft.objects.exists()
    # The reloaded page writes a new draft as usual.
    page = client.get(reverse("mailboxes:case_thread", args=[case.pk])).text
    since = page.split('name="draft_since" value="')[1].split('"')[0]
    _save(client, _case_draft_url(case), "citizen-body", "Nästa", draft_since=since)
    assert Draft.objects.get().body == "Nästa"


def test_an_autosave_without_the_csrf_token_is_refused(org, case):
    client = login(Client(enforce_csrf_checks=True), org.handler_a1)
    assert _save(client, _case_draft_url(case), "citizen-body", SECRET).status_code == 403
    assert not Draft.objects.exists()
