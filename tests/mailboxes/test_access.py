"""Who may open what: 404 alike for missing and forbidden objects, 403 for roles without mailboxes."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mailboxes.attachments import attachments_store, validate_upload
from mailboxes.services import membership_add, membership_remove
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def pdf_attachment(uploader, name="intyg.pdf"):
    upload = SimpleUploadedFile(name, PDF, content_type="application/pdf")
    return attachments_store([(upload, validate_upload(upload))], uploaded_by=uploader)


@pytest.fixture
def group_thread(org):
    """An internal message with a PDF to unit A's group mailbox."""
    from absence.routing import route_message
    from mailboxes.services import internal_thread_start

    files = pdf_attachment(org.handler_b1)
    message = internal_thread_start(
        sender=org.handler_b1,
        recipients=[group(org.unit_a)],
        subject="Hemligt för enhet B",
        body="Underlag om familjen Svensson bifogas.",
        attachments=files,
    )
    route_message(message_id=message.pk)
    return message


def test_a_user_outside_the_group_mailbox_gets_404_for_everything_in_it(client, org, group_thread):
    outsider = factories.staff(units=(org.unit_b,), first_name="Ute", last_name="Stående")
    gbox = group(org.unit_a)
    attachment = group_thread.attachments.get()
    login(client, outsider)

    assert client.get(reverse("mailboxes:mailbox", args=[gbox.pk])).status_code == 404
    assert client.get(reverse("mailboxes:thread", args=[gbox.pk, group_thread.thread_id])).status_code == 404
    assert client.get(reverse("mailboxes:attachment", args=[gbox.pk, attachment.pk])).status_code == 404
    # Through the outsider's own mailbox the thread is not there either.
    own = personal(outsider)
    assert client.get(reverse("mailboxes:thread", args=[own.pk, group_thread.thread_id])).status_code == 404
    assert client.get(reverse("mailboxes:attachment", args=[own.pk, attachment.pk])).status_code == 404
    for action in ("take", "handled", "reply", "forward"):
        url = reverse(f"mailboxes:{action}", args=[gbox.pk, group_thread.thread_id])
        assert client.post(url, {"reply-body": "x"}).status_code == 404, action
    search = client.get(reverse("mailboxes:search"), {"q": "Svensson"})
    assert search.status_code == 200
    assert "Hemligt för enhet B" not in search.content.decode()
    # Not listed among their mailboxes either.
    assert gbox.name not in client.get(reverse("mailboxes:index")).content.decode()


def test_missing_and_forbidden_look_the_same(client, org, group_thread):
    login(client, org.handler_b1)  # unit B: not a member of A's group mailbox
    gbox = group(org.unit_a)
    forbidden = client.get(reverse("mailboxes:mailbox", args=[gbox.pk]))
    missing = client.get(reverse("mailboxes:mailbox", args=[999999]))
    assert forbidden.status_code == missing.status_code == 404
    assert without_tokens(forbidden.content) == without_tokens(missing.content)


def without_tokens(content: bytes) -> bytes:
    return re.sub(
        rb'(csrf-token" content="|csrfmiddlewaretoken" value="|name="next" value=")[^"]*', rb"\1", content
    )


def test_a_member_opens_the_group_mailbox_its_thread_and_attachment(client, org, group_thread):
    gbox = group(org.unit_a)
    attachment = group_thread.attachments.get()
    login(client, org.handler_a2)
    assert client.get(reverse("mailboxes:mailbox", args=[gbox.pk])).status_code == 200
    page = client.get(reverse("mailboxes:thread", args=[gbox.pk, group_thread.thread_id]))
    assert "Underlag om familjen Svensson bifogas." in page.content.decode()
    download = client.get(reverse("mailboxes:attachment", args=[gbox.pk, attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert 'attachment; filename="intyg.pdf"' in download["Content-Disposition"]
    search = client.get(reverse("mailboxes:search"), {"q": "Svensson"})
    assert "Hemligt för enhet B" in search.content.decode()


def test_removing_a_member_revokes_access_at_once_and_adding_grants_it(client, org, group_thread):
    gbox = group(org.unit_a)
    url = reverse("mailboxes:thread", args=[gbox.pk, group_thread.thread_id])
    login(client, org.handler_a2)
    assert client.get(url).status_code == 200
    membership_remove(unit=org.unit_a, user=org.handler_a2)
    assert client.get(url).status_code == 404
    membership_add(unit=org.unit_a, user=org.handler_a2)
    assert client.get(url).status_code == 200


def test_the_mailbox_list_is_the_same_whether_or_not_the_groups_were_read_first(org):
    """Group-mailbox access follows the groups the request's permission check read (accounts.backends)
    or, before any check, the groups in SQL: the same mailboxes either way, own first, then by name."""
    from django.contrib.auth import get_user_model

    from accounts.roles import known_group_ids
    from mailboxes.selectors import mailboxes_with_unread

    membership_add(unit=org.unit_b, user=org.handler_a1)
    internal_thread(org.handler_a2, [group(org.unit_b)], body="Till B")
    expected = [
        personal(org.handler_a1).pk,
        *sorted([group(org.unit_a), group(org.unit_b)], key=lambda m: m.name),
    ]
    expected = [expected[0], *(m.pk for m in expected[1:])]

    before_check = get_user_model().objects.get(pk=org.handler_a1.pk)
    assert known_group_ids(before_check) is None
    after_check = get_user_model().objects.get(pk=org.handler_a1.pk)
    assert after_check.has_perm("accounts.use_mailboxes")
    assert known_group_ids(after_check)
    for user in (before_check, after_check):
        mailboxes = list(mailboxes_with_unread(user))
        assert [m.pk for m in mailboxes] == expected
        assert {m.pk: m.unread for m in mailboxes}[group(org.unit_b).pk] == 1

    membership_remove(unit=org.unit_b, user=org.handler_a1)
    membership_remove(unit=org.unit_a, user=org.handler_a1)
    outside = get_user_model().objects.get(pk=org.handler_a1.pk)
    assert outside.has_perm("accounts.use_mailboxes")  # the role stays; no unit, no group mailbox
    assert [m.pk for m in mailboxes_with_unread(outside)] == [personal(org.handler_a1).pk]


def test_personal_mailbox_is_its_owners_only(client, org):
    message = internal_thread(org.handler_a1, [personal(org.handler_a2)], body="Bara till Bo")
    url = reverse("mailboxes:thread", args=[personal(org.handler_a2).pk, message.thread_id])
    login(client, org.manager_a)  # same unit, but not the owner
    assert client.get(reverse("mailboxes:mailbox", args=[personal(org.handler_a2).pk])).status_code == 404
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", ["admin", "superuser", "sysadmin", "log_reviewer"])
def test_roles_without_mailboxes_are_refused_every_page(client, org, group_thread, role):
    """Administrators and system administrators manage membership but do not read content: even as
    members of the unit they get 403."""
    user = getattr(org, role)
    membership_add(unit=org.unit_a, user=user)
    gbox = group(org.unit_a)
    attachment = group_thread.attachments.get()
    login(client, user)
    urls = [
        reverse("mailboxes:index"),
        reverse("mailboxes:unread"),
        reverse("mailboxes:mailbox", args=[gbox.pk]),
        reverse("mailboxes:thread", args=[gbox.pk, group_thread.thread_id]),
        reverse("mailboxes:attachment", args=[gbox.pk, attachment.pk]),
        reverse("mailboxes:compose"),
        reverse("mailboxes:search") + "?q=Svensson",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Underlag om familjen" not in response.content.decode()
    take = reverse("mailboxes:take", args=[gbox.pk, group_thread.thread_id])
    assert client.post(take).status_code == 403


def test_anonymous_is_sent_to_login_and_citizens_are_refused(client, org, group_thread):
    url = reverse("mailboxes:mailbox", args=[group(org.unit_a).pk])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    citizen = factories.citizen()
    login(client, citizen.user)
    assert client.get(url).status_code == 403


def test_the_case_route_is_for_handler_and_co_handlers_only(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, co_handlers=[org.handler_a2])
    citizen_writes(case, body="Hej handläggare")
    url = reverse("mailboxes:case_thread", args=[case.pk])
    for user, expected in (
        (org.handler_a1, 200),
        (org.handler_a2, 200),
        (org.manager_a, 404),
        (org.handler_b1, 404),
    ):
        login(client, user)
        assert client.get(url).status_code == expected, user


def test_no_one_attaches_someone_elses_upload_or_an_attached_one_whatever_the_caller(org):
    """The forms offer only the sender's own unattached uploads; the service that stores every message
    holds the same rule for any caller, and stores nothing when refused."""
    from django.core.exceptions import PermissionDenied

    from mailboxes.models import Message
    from mailboxes.services import internal_thread_start

    theirs = pdf_attachment(org.handler_b1, "deras.pdf")
    [mine] = pdf_attachment(org.handler_a1, "min.pdf")
    before = Message.objects.count()
    with pytest.raises(PermissionDenied):
        internal_thread_start(
            sender=org.handler_a1,
            recipients=[personal(org.handler_a2)],
            subject="S",
            body="B",
            attachments=theirs,
        )
    sent = internal_thread_start(
        sender=org.handler_a1,
        recipients=[personal(org.handler_a2)],
        subject="S",
        body="B",
        attachments=[mine],
    )
    mine.refresh_from_db()
    assert mine.message_id == sent.pk
    with pytest.raises(PermissionDenied):  # already sent once
        internal_thread_start(
            sender=org.handler_a1,
            recipients=[personal(org.handler_a2)],
            subject="S2",
            body="B",
            attachments=[mine],
        )
    assert Message.objects.count() == before + 1
    assert [a.message_id for a in theirs] == [None]
