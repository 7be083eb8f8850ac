from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from stdnum import luhn

from accounts import roles
from eservices.models import Case
from mailboxes.models import Message
from tests import factories
from tests.mailboxes.conftest import citizen_writes, internal_thread, personal
from tests.mailboxes.test_access import pdf_attachment

DAYS = settings.MESSAGE_RETENTION_DAYS


@contextmanager
def clock(when: datetime) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: when)
        yield


def number(yymmdd: str, serial: int) -> str:
    """A valid 12-digit personnummer (or coordination number: day + 60) born in 19YY."""
    body = f"{yymmdd}{serial:03d}"
    return "19" + body + luhn.calc_check_digit(body)


@dataclass
class Records:
    plain: Message  # old, closed case, citizen born on the 1st: goes
    plain_attachment_file: str
    research: Message  # old, closed case, citizen born on the 15th: research sample
    coordination: Message  # old, closed case, coordination number, day 75 (15th + 60)
    open_case: Message  # old, case still open
    internal: Message  # old internal message: goes
    new: Message  # ten days old, closed case: not due
    new_internal: Message  # ten days old internal


def closed_case(org, citizen):
    case = factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1)
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    return case


def write_with_pdf(case, body: str) -> Message:
    from absence.routing import route_message
    from eservices.services import citizen_message_send

    message = citizen_message_send(
        case=case, citizen_user=case.citizen.user, body=body, attachments=pdf_attachment(case.citizen.user)
    )
    route_message(message_id=message.pk)
    return message


@pytest.fixture
def records(org) -> Records:
    now = timezone.now()
    old, new = now - timedelta(days=DAYS + 30), now - timedelta(days=10)
    plain = closed_case(org, factories.citizen("Per", "Vanlig", number("800101", 11)))
    research = closed_case(org, factories.citizen("Rut", "Femton", number("800115", 12)))
    coordination = closed_case(org, factories.citizen("Sam", "Ordning", number("800175", 13)))
    still_open = factories.case(
        citizen_obj=factories.citizen("Otto", "Öppen", number("800102", 14)),
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
    )
    with clock(old):
        m_plain = write_with_pdf(plain, "Gammal fråga")
        m_research = citizen_writes(research, body="Gammal fråga i urvalet")
        m_coordination = citizen_writes(coordination, body="Gammal fråga, samordningsnummer")
        m_open = citizen_writes(still_open, body="Gammal fråga i öppet ärende")
        m_internal = internal_thread(org.handler_a2, [personal(org.handler_b1)], subject="Gammal intern")
    with clock(new):
        m_new = citizen_writes(plain, body="Ny fråga")
        m_new_internal = internal_thread(org.handler_a2, [personal(org.handler_b1)], subject="Ny intern")
    return Records(
        plain=m_plain,
        plain_attachment_file=m_plain.attachments.get().file.name,
        research=m_research,
        coordination=m_coordination,
        open_case=m_open,
        internal=m_internal,
        new=m_new,
        new_internal=m_new_internal,
    )


@pytest.fixture
def archivist(org):
    """A second Systemförvaltare: the four-eyes colleague."""
    return factories.staff(roles.SYSTEMFORVALTARE, username="arkiv.ansvarig", email="arkiv@example.invalid")
