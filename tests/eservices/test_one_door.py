"""One door per action: the citizen's send and the staff reply are each one service that picks its
own path and raises domain errors (eservices.services)."""

import pytest
from django.db import connection

from eservices import services
from eservices.models import Case
from eservices.services import (
    CaseClosed,
    CaseNotFound,
    NotCaseTeam,
    citizen_case_message_post,
    staff_message_send,
)
from mailboxes.attachments import validate_upload
from mailboxes.models import Attachment, Delivery, Message
from mailboxes.services.units import mailbox_personal_for
from tests import factories
from tests.eservices.conftest import pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["fast", "general"])
def path(request, monkeypatch):
    """Every behaviour holds on both paths: the one-statement send, and the general one (SQLite's,
    and a send with files)."""
    if request.param == "general":
        monkeypatch.setattr(services, "_citizen_message_send_if_open", lambda **kwargs: None)
    return request.param


@pytest.mark.fast_path
def test_a_plain_send_is_one_statement_on_postgresql(org, case_a, django_assert_num_queries):
    citizen_user = case_a.citizen.user
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 4):
        message = citizen_case_message_post(case_id=case_a.pk, citizen_user=citizen_user, body="Hej")
    assert message.thread_id == case_a.thread_id
    assert Message.objects.get(pk=message.pk).body == "Hej"


def test_the_citizen_writes_in_their_own_open_case(org, case_a, path):
    message = citizen_case_message_post(case_id=case_a.pk, citizen_user=case_a.citizen.user, body="Hej")
    assert list(Message.objects.filter(thread=case_a.thread).values_list("pk", "body")) == [
        (message.pk, "Hej")
    ]


def test_someone_elses_case_and_a_missing_one_are_alike_not_found(org, case_a, path):
    intruder = factories.citizen()
    with pytest.raises(CaseNotFound):
        citizen_case_message_post(case_id=case_a.pk, citizen_user=intruder.user, body="Hej")
    with pytest.raises(CaseNotFound):
        citizen_case_message_post(case_id=case_a.pk + 1000, citizen_user=case_a.citizen.user, body="Hej")
    assert not Message.objects.exists()


def test_a_closed_case_refuses(org, case_a, path):
    Case.objects.filter(pk=case_a.pk).update(status=Case.Status.CLOSED)
    with pytest.raises(CaseClosed):
        citizen_case_message_post(case_id=case_a.pk, citizen_user=case_a.citizen.user, body="Hej")
    assert not Message.objects.exists()


def test_a_send_with_files_takes_the_general_path_and_attaches_them(org, case_a):
    upload = pdf_upload()
    files = [(upload, validate_upload(upload))]
    message = citizen_case_message_post(
        case_id=case_a.pk, citizen_user=case_a.citizen.user, body="Se bilaga", files=files
    )
    assert Attachment.objects.get(message=message).filename == "intyg.pdf"


def test_staff_reply_from_a_group_mailbox_keeps_both_read_copies(org, case_a):
    group = org.unit_a.group_mailbox
    message = staff_message_send(case=case_a, sender=org.handler_a1, body="Svar", via_mailbox=group)
    copies = dict(Delivery.objects.filter(message=message).values_list("mailbox_id", "read_by_id"))
    assert copies == {mailbox_personal_for(org.handler_a1).pk: org.handler_a1.pk, group.pk: org.handler_a1.pk}


def test_staff_reply_refuses_anyone_but_the_case_team(org, case_a):
    with pytest.raises(NotCaseTeam):
        staff_message_send(
            case=case_a, sender=org.handler_a2, body="Svar", via_mailbox=org.unit_a.group_mailbox
        )
    assert not Message.objects.filter(thread=case_a.thread).exists()
