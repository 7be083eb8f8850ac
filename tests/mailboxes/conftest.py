"""Shared builders for the mailbox tests: threads made through the real services and routing."""

from __future__ import annotations

import pytest

from absence.routing import route_message
from eservices.services import citizen_message_send
from mailboxes.models import Mailbox
from mailboxes.services import internal_reply_store, internal_thread_start, mailbox_personal_for
from tests import factories


def personal(user) -> Mailbox:
    return mailbox_personal_for(user)


def group(unit) -> Mailbox:
    return unit.group_mailbox


def internal_thread(sender, recipients, subject="Fråga om rutinen", body="Hej! Hur gör vi med detta?"):
    """A routed internal message from `sender` to the mailboxes `recipients`."""
    message = internal_thread_start(sender=sender, recipients=recipients, subject=subject, body=body)
    route_message(message_id=message.pk)
    return message


def internal_reply(thread, sender, via, recipients, body="Svar: så här gör vi."):
    message = internal_reply_store(
        thread=thread, sender=sender, via_mailbox=via, recipients=recipients, body=body
    )
    route_message(message_id=message.pk)
    return message


def citizen_writes(case, body="Hej, jag har en fråga om mitt ärende."):
    message = citizen_message_send(case=case, citizen_user=case.citizen.user, body=body)
    route_message(message_id=message.pk)
    return message


@pytest.fixture
def citizen_case(org):
    """A case in unit A handled by handler_a1, with one unread message from the citizen."""
    case = factories.case(
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
        citizen_obj=factories.citizen("Greta", "Medborgarsson"),
        subject="Ansökan om stöd",
    )
    citizen_writes(case)
    return case


@pytest.fixture
def unassigned_case(org):
    """A case without handler: the citizen's message goes to unit A's group mailbox."""
    case = factories.case(
        eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Olle", "Utan"), subject="Ny ansökan"
    )
    citizen_writes(case, body="Hej! Jag vill ansöka om stöd.")
    return case
