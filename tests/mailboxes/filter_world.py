"""A group mailbox with one thread in each state the list's filters tell apart, built through the
real services and routing (shared by the filter, bulk and browser tests)."""

from __future__ import annotations

from dataclasses import dataclass

from mailboxes.models import Mailbox, Thread
from mailboxes.services import deliveries_mark_read, thread_mark_handled, thread_take
from tests import factories
from tests.absence.helpers import sick_leave
from tests.mailboxes.conftest import citizen_writes, group, internal_thread


@dataclass
class FilterWorld:
    """Unit A's group mailbox holds, newest last:
    - "A oläst": an unassigned case of e-service A, unread;
    - "X oläst": an unassigned case of e-service X (also unit A's), unread;
    - "A läst": e-service A, read by handler_a1;
    - "X tagen": e-service X, read and taken by handler_a1;
    - "A hanterad": e-service A, read and marked handled by handler_a2;
    - "A frånvaro": e-service A, handler_a2's case, forwarded here because handler_a2 is away (unread);
    - "Intern fråga": an internal thread to the group mailbox, unread (no e-service)."""

    org: factories.Organisation
    mailbox: Mailbox
    eservice_x: object
    threads: dict[str, Thread]

    def ids(self, *subjects: str) -> list[int]:
        return [self.threads[s].pk for s in subjects]


def _case_thread(org, eservice, subject: str, handler=None) -> Thread:
    case = factories.case(eservice_obj=eservice, handler=handler, subject=subject)
    citizen_writes(case)
    return case.thread


def build_filter_world(org) -> FilterWorld:
    gbox = group(org.unit_a)
    eservice_x = factories.eservice(org.unit_a, name="E-tjänst X")
    threads: dict[str, Thread] = {}
    threads["A oläst"] = _case_thread(org, org.eservice_a, "A oläst")
    threads["X oläst"] = _case_thread(org, eservice_x, "X oläst")
    threads["A läst"] = _case_thread(org, org.eservice_a, "A läst")
    deliveries_mark_read(mailbox=gbox, thread=threads["A läst"], user=org.handler_a1)
    threads["X tagen"] = _case_thread(org, eservice_x, "X tagen")
    deliveries_mark_read(mailbox=gbox, thread=threads["X tagen"], user=org.handler_a1)
    thread_take(mailbox=gbox, thread=threads["X tagen"], user=org.handler_a1)
    threads["A hanterad"] = _case_thread(org, org.eservice_a, "A hanterad")
    deliveries_mark_read(mailbox=gbox, thread=threads["A hanterad"], user=org.handler_a2)
    thread_mark_handled(mailbox=gbox, thread=threads["A hanterad"], user=org.handler_a2)
    sick_leave(org.handler_a2, forward_to=gbox)
    threads["A frånvaro"] = _case_thread(org, org.eservice_a, "A frånvaro", handler=org.handler_a2)
    internal = internal_thread(org.handler_b1, [gbox], subject="Intern fråga")
    threads["Intern fråga"] = internal.thread
    return FilterWorld(org=org, mailbox=gbox, eservice_x=eservice_x, threads=threads)
