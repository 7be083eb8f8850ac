"""Demo data for the staff inbox (called by `manage.py seed_demo` after the base seed).

Adds internal threads between colleagues and to group mailboxes, and works some citizen threads in
the group mailboxes, so that a first trial shows every state: unread, read, taken ("tas om hand
av"), handled ("hanterat av") and forwarded by hand. Everything goes through the services and the
routing entry point, like real data. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from absence.routing import route_message

from .models import Mailbox, MailboxThread, Thread, Unit
from .services.deliveries import deliveries_mark_read
from .services.messages import internal_reply_store, message_store, thread_create
from .services.thread_state import thread_forward, thread_mark_handled, thread_take
from .services.units import mailbox_personal_for

MARKER_SUBJECT = "Överlämning inför semestern"


def _user(username: str):
    return get_user_model().objects.filter(username=username).first()


def _send(sender, recipients, subject, body, at):
    """Like internal_thread_start, dated in the past so the lists look lived-in."""
    thread = thread_create(subject=subject)
    Thread.objects.filter(pk=thread.pk).update(created_at=at, last_message_at=at)
    message = message_store(
        thread=thread,
        sender=sender,
        sender_mailbox=mailbox_personal_for(sender),
        recipients=recipients,
        body=body,
        created_at=at,
    )
    route_message(message_id=message.pk)
    return message


def _reply(thread, sender, via, recipients, body):
    message = internal_reply_store(
        thread=thread, sender=sender, via_mailbox=via, recipients=recipients, body=body
    )
    route_message(message_id=message.pk)
    return message


@transaction.atomic
def seed(seeder) -> None:
    if Thread.objects.filter(subject=MARKER_SUBJECT).exists():
        return
    names = ["anna.andersson", "bengt.berg", "cecilia.carlsson", "david.dahl", "chef.barn"]
    users = {name: _user(name) for name in names}
    if any(u is None for u in users.values()):
        return  # the base organisation is not there: nothing to add to
    anna, bengt, cecilia, david, chef = (users[n] for n in names)
    barn = Unit.objects.get(slug="ifo-barn-familj").group_mailbox
    now = timezone.now()

    # Unread in Anna's mailbox.
    _send(
        bengt,
        [mailbox_personal_for(anna)],
        MARKER_SUBJECT,
        "Hej Anna! Jag har skrivit ihop läget i mina ärenden inför semestern. Kan vi ses en kvart "
        "på torsdag och gå igenom dem?",
        now - timedelta(hours=3),
    )
    # A conversation Anna has read and answered.
    meeting = _send(
        cecilia,
        [mailbox_personal_for(anna), mailbox_personal_for(bengt)],
        "Samverkansmöte med skolan",
        "Skolan vill ha ett samverkansmöte nästa vecka. Passar tisdag kl. 13 för er båda?",
        now - timedelta(days=2),
    )
    deliveries_mark_read(mailbox=mailbox_personal_for(anna), thread=meeting.thread, user=anna)
    _reply(
        meeting.thread,
        anna,
        mailbox_personal_for(anna),
        [mailbox_personal_for(cecilia), mailbox_personal_for(bengt)],
        "Tisdag kl. 13 passar mig bra. Jag bokar rummet.",
    )
    # To the group mailbox: one taken, one handled, one still open.
    routine = _send(
        chef,
        [barn],
        "Ny rutin för gruppbrevlådan",
        "Från och med måndag går vi igenom gruppbrevlådan varje morgon kl. 9. Den som tar ett "
        "meddelande markerar det med ”Jag tar den”.",
        now - timedelta(days=1, hours=2),
    )
    thread_take(mailbox=barn, thread=routine.thread, user=cecilia)
    report = _send(
        david,
        [barn],
        "Orosanmälan – behöver kontakt",
        "Vi har tagit emot en orosanmälan som rör en familj hos er. Kan någon ringa mig i dag?",
        now - timedelta(days=1),
    )
    thread_take(mailbox=barn, thread=report.thread, user=bengt)
    deliveries_mark_read(mailbox=barn, thread=report.thread, user=bengt)
    thread_mark_handled(mailbox=barn, thread=report.thread, user=bengt)
    _send(
        david,
        [barn],
        "Lediga tider för familjesamtal",
        "Familjeteamet har lediga tider för familjesamtal vecka 12. Hör av er om ni har någon som behöver.",
        now - timedelta(hours=6),
    )

    _work_citizen_threads()
    if hasattr(seeder, "_count"):
        for _ in range(5):  # the five internal threads above
            seeder._count("internal threads")


def _work_citizen_threads() -> None:
    """In each group mailbox holding citizen threads: take the newest, mark the next one handled;
    and forward one citizen thread to a group mailbox by hand, with a note."""
    for mailbox in Mailbox.objects.filter(kind=Mailbox.Kind.GROUP).select_related("unit").order_by("id"):
        rows = list(
            MailboxThread.objects.filter(mailbox=mailbox, thread__kind=Thread.Kind.CITIZEN)
            .select_related("thread")
            .order_by("-last_activity_at", "id")[:2]
        )
        members = list(
            get_user_model()
            .objects.filter(unit_memberships__unit=mailbox.unit, groups__name="Handläggare")
            .order_by("username")
        )
        if not rows or not members:
            continue
        thread_take(mailbox=mailbox, thread=rows[0].thread, user=members[0])
        if len(rows) > 1:
            worker = members[-1]
            deliveries_mark_read(mailbox=mailbox, thread=rows[1].thread, user=worker)
            thread_take(mailbox=mailbox, thread=rows[1].thread, user=worker)
            thread_mark_handled(mailbox=mailbox, thread=rows[1].thread, user=worker)
    # A handler of IFO Barn och familj forwards one of their citizen threads to the group by hand.
    barn = Unit.objects.get(slug="ifo-barn-familj")
    for handler in (
        get_user_model()
        .objects.filter(unit_memberships__unit=barn, groups__name="Handläggare")
        .order_by("username")
    ):
        own = mailbox_personal_for(handler)
        row = (
            MailboxThread.objects.filter(mailbox=own, thread__kind=Thread.Kind.CITIZEN)
            .select_related("thread")
            .order_by("-last_activity_at", "id")
            .first()
        )
        if row is not None:
            thread_forward(
                mailbox=own,
                thread=row.thread,
                target=barn.group_mailbox,
                user=handler,
                note="Jag är på utbildning i morgon – kan någon i gruppen svara om det brådskar?",
            )
            break
