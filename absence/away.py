"""Who is away, as routing sees it: every absence with forwarding in the span from the earliest
moment of writing in a batch to the moment of routing, read once (`AbsencesAt`), under the locks
that keep an absence's start from slipping in between (`who_is_away`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from mailboxes.models import Mailbox, UnitMembership

from .models import Absence


class AbsencesAt:
    """Who is away, read once for a whole batch (guarantee 8): at `when`, the moment of routing, and,
    for messages written earlier, at the moment each was written (`since`: the earliest of those;
    `until`: the latest, where a clock was ahead).
    One query loads every absence active at some moment between the two (a few hundred rows at
    most: the staff away in that span, with their forwarding targets); home group mailboxes are read
    on first need."""

    def __init__(self, when: datetime, since: datetime | None = None, until: datetime | None = None):
        self.when = when
        self.since = when if since is None else min(since, when)
        self.until = when if until is None else max(until, when)
        self._absences: dict[int, list[Absence]] | None = None
        self._home_groups: dict[int, Mailbox | None] = {}

    def _by_handler(self) -> dict[int, list[Absence]]:
        if self._absences is None:
            self._absences = {}
            for absence in (
                Absence.objects.active_between(self.since, self.until)
                .select_related("forward_to")
                .order_by("starts_at", "id")
            ):
                self._absences.setdefault(absence.handler_id, []).append(absence)
        return self._absences

    def of(self, user_id: int, written_at: datetime | None = None) -> Absence | None:
        """The absence that forwards `user_id`'s mail: the one under way at routing, else the one that
        was under way when the message was written (`written_at`); None if neither."""
        absences = self._by_handler().get(user_id, [])
        for moment in (self.when, written_at):
            if moment is None:
                continue
            for absence in absences:
                if absence.is_active(moment):
                    return absence
        return None

    def deputies_of(self, user_ids: Iterable[int]) -> set[int]:
        """The people whose personal mailboxes the absences of `user_ids` forward to."""
        by_handler = self._by_handler()
        return {
            absence.forward_to.owner_id
            for user_id in user_ids
            for absence in by_handler.get(user_id, [])
            if absence.forward_to.kind == Mailbox.Kind.PERSONAL and absence.forward_to.owner_id
        }

    def home_group(self, user_id: int) -> Mailbox | None:
        if user_id not in self._home_groups:
            self._home_groups[user_id] = home_group_mailbox(user_id)
        return self._home_groups[user_id]


def home_group_mailbox(user_id: int) -> Mailbox | None:
    """The group mailbox of the user's (first) unit: where a forwarding chain ends when it must."""
    membership = (
        UnitMembership.objects.filter(user_id=user_id)
        .select_related("unit__group_mailbox")
        .order_by("id")
        .first()
    )
    return membership.unit.group_mailbox if membership else None


def who_is_away(intended: dict[int, list[Mailbox]], *, written_since: datetime) -> AbsencesAt:
    """Who is away for a batch, read under locks that keep a sick call out (guarantee 8).

    Starting an absence (absence.services: absence_create, absence_update, absence_start) locks the
    handler's user row FOR UPDATE before it forwards the unread mail in the handler's mailbox. Here
    every person whose personal mailbox the batch will deliver to is locked FOR KEY SHARE before
    absences are read, and held until the deliveries are committed. So one of the two waits for the
    other: either the absence is committed before this reading (the message is forwarded here), or
    the deliveries are committed before the absence's start reads the unread mail (it forwards them
    there). Nothing is left, even for a moment, only with the absent handler; no sweep is needed.
    A lock rather than a re-check after commit: a worker killed between its commit and the re-check
    would leave the message to the sweep. Deputies are known only once absences are read, so they
    are locked after and the reading repeated until it names nobody new (one round without
    deputies: one lock query, one read; a batch only for group mailboxes: neither).

    No deadlock, though deputies are locked after the others: KEY SHARE locks never conflict with
    each other or with ordinary updates of a user row (last login), only with FOR UPDATE; those who
    take FOR UPDATE on a user row (absence and role changes) wait for nothing a router holds at this
    point — routers hold only unrouted message rows, which no absence start touches, and take
    summary rows only after these locks."""
    people = {
        mailbox.owner_id for mailboxes in intended.values() for mailbox in mailboxes if mailbox.owner_id
    }
    locked: set[int] = set()
    absences = AbsencesAt(timezone.now(), since=written_since)
    while people - locked:
        lock_people(people - locked)
        locked |= people
        # Read after the lock, at a moment after it: an absence committed while we waited is seen.
        absences = AbsencesAt(timezone.now(), since=written_since)
        people |= absences.deputies_of(locked)
    return absences


def lock_people(user_ids: set[int]) -> None:
    """FOR KEY SHARE on the users' rows, in id order, until the transaction ends (see above). Django
    has no FOR KEY SHARE, hence the SQL. SQLite (the embedded first run) is left to its
    database-wide write lock, and the sweep."""
    if connection.vendor != "postgresql":
        return
    user_model = get_user_model()
    table = connection.ops.quote_name(user_model._meta.db_table)
    column = connection.ops.quote_name(user_model._meta.pk.column)
    with connection.cursor() as cursor:
        # Names from the model, the ids a parameter.
        sql = f"SELECT {column} FROM {table} WHERE {column} = ANY(%s) ORDER BY {column} FOR KEY SHARE"  # noqa: S608
        cursor.execute(sql, [sorted(user_ids)])
