"""Demo absences (called by `manage.py seed_demo` after the base seed). Idempotent: a handler who
already has an absence is left alone, so a second run changes nothing.

- Cecilia Carlsson (IFO Barn och familj) is on planned leave now;
- Olivia Olsson (VO Biståndshandläggare) has leave planned for next week;
- Hassan Haddad (IFO Ekonomiskt bistånd) is on sick leave, switched on by the administrator.
Their unread mail is forwarded to the group mailboxes, and citizens write to two of them while they
are away, so the group mailboxes show "vidarebefordrat – X frånvarande" and the threads show the
automatic reply.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from eservices.models import Case
from mailboxes.services.messages import message_store

from .models import Absence
from .routing import route_message
from .services import absence_create
from .timeutil import end_of, start_of

User = get_user_model()


def _user(username: str):
    return User.objects.filter(username=username).first()


def _group_of(user):
    membership = user.unit_memberships.select_related("unit__group_mailbox").order_by("id").first()
    return membership.unit.group_mailbox


def _citizen_writes(handler, body: str) -> None:
    case = (
        Case.objects.select_related("thread", "citizen__user").filter(handler=handler).order_by("id").first()
    )
    if case is None:
        return
    message = message_store(thread=case.thread, sender=case.citizen.user, body=body)
    route_message(message_id=message.pk)


@transaction.atomic
def seed(seeder) -> None:
    today = timezone.localdate()
    admin = _user("admin.sarskild")

    cecilia = _user("cecilia.carlsson")
    if cecilia is not None and not Absence.objects.filter(handler=cecilia).exists():
        absence_create(
            handler=cecilia,
            actor=cecilia,
            kind=Absence.Kind.PLANNED,
            starts_at=start_of(today - timedelta(days=2)),
            ends_at=end_of(today + timedelta(days=4)),
            forward_to=_group_of(cecilia),
            message_to_colleagues="Jag har semester. Brådskande frågor tas av gruppbrevlådan.",
            show_return_date_to_citizens=True,
            reason="Semester",
        )
        seeder._count("absences")
        _citizen_writes(cecilia, "Hej! Jag har fått ett nytt läkarintyg. Hur skickar jag det till er?")

    olivia = _user("olivia.olsson")
    if olivia is not None and not Absence.objects.filter(handler=olivia).exists():
        monday = today + timedelta(days=7 - today.weekday())
        absence_create(
            handler=olivia,
            actor=olivia,
            kind=Absence.Kind.PLANNED,
            starts_at=start_of(monday),
            ends_at=end_of(monday + timedelta(days=4)),
            forward_to=_group_of(olivia),
            message_to_colleagues="Utbildning hela veckan. Gruppbrevlådan bevakas av kollegorna.",
            reason="Utbildning",
        )
        seeder._count("absences")

    hassan = _user("hassan.haddad")
    if hassan is not None and admin is not None and not Absence.objects.filter(handler=hassan).exists():
        absence_create(
            handler=hassan,
            actor=admin,
            kind=Absence.Kind.UNPLANNED,
            starts_at=None,
            ends_at=None,
            forward_to=_group_of(hassan),
            reason="Sjukanmäld per telefon 07.40",
        )
        seeder._count("absences")
        _citizen_writes(hassan, "Hej, jag undrar när jag får besked om min ansökan?")
