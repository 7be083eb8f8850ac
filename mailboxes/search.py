"""Search over the mailboxes a member of staff may open: Swedish full-text search of message texts
on PostgreSQL (a substring match on the embedded SQLite default), and a substring match of subjects
and counterparts' names, or a citizen's personal identity number.

The search starts from the user's own threads (the summaries of the mailboxes they may open) and
asks of each whether it matches, so a hit is never something the user could not open and the work
follows what the user can see, not the whole installation: for a word in most threads PostgreSQL
checks the user's threads newest first against each message's stored tsvector (migration 0006),
for a rare word it takes the few matching messages from the GIN index. Hits are in the order of a
mailbox (latest activity first), and at most SEARCH_HIT_LIMIT of them are listed and counted:
beyond that the page says there are more and asks for a narrower search, rather than having
PostgreSQL find and sort every hit of a common word."""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Exists, Expression, OuterRef, Q, QuerySet

from eservices import personnummer as pnr

from .models import MailboxThread, Message
from .permissions import PROTECTED, accessible_mailboxes, not_protected_in_group, search_upto

SEARCH_HIT_LIMIT = 1000


class StoredSwedishVector(Expression):
    """The message's stored to_tsvector('swedish', body) (migration 0006): a column the model does
    not declare, as SQLite has none. Only used where the message table is the one in the FROM clause
    having such a column."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        return connection.ops.quote_name("search_vector"), []


def search_threads(*, user, query: str) -> QuerySet[MailboxThread]:
    """The (mailbox, thread) summaries the user may open whose subject, counterpart or messages match,
    or whose citizen has this personal identity number; latest activity first."""
    query = query.strip()
    messages = Message.objects.filter(thread_id=OuterRef("thread_id"))
    if connection.vendor == "postgresql":
        words = SearchQuery(query, config="swedish", search_type="websearch")
        messages = messages.alias(vector=StoredSwedishVector()).filter(vector=words)
    else:  # the embedded SQLite default: a plain substring match
        messages = messages.filter(body__icontains=query)
    # A message matches only where the reader may read it (guarantee 9): up to the row's cut-off.
    messages = messages.filter(id__lte=OuterRef("upto"))
    condition = Q(thread__subject__icontains=query) | Q(counterpart_name__icontains=query) | Exists(messages)
    number = _personnummer(query)
    if number:
        condition |= Q(thread__case__citizen__personnummer=number)
    return (
        MailboxThread.objects.filter(mailbox__in=accessible_mailboxes(user))
        .alias(upto=search_upto(user_id=user.pk))
        .filter(condition, not_protected_in_group(user_id=user.pk))
        .order_by("-last_activity_at", "-id")
    )


class SearchPaginator(Paginator):
    """Pages over the first `limit` hits of an ordered search: one query reads their ids (one more,
    to tell whether there are more), and each page reads its own rows by id. `more` says that hits
    beyond the limit were left uncounted."""

    def __init__(self, object_list: QuerySet, per_page: int, limit: int | None = None):
        limit = limit or SEARCH_HIT_LIMIT
        ids = list(object_list.values_list("pk", flat=True)[: limit + 1])
        self.more = len(ids) > limit
        self.limit = limit
        super().__init__(ids[:limit], per_page)

    def _get_page(self, ids, number, paginator) -> Page:
        rows = MailboxThread.objects.select_related("mailbox", "thread", "taken_by", "handled_by").annotate(
            protected=PROTECTED
        )
        by_id = rows.in_bulk(list(ids)) if ids else {}
        return Page([by_id[pk] for pk in ids if pk in by_id], number, paginator)


def _personnummer(text: str) -> str | None:
    if sum(c.isdigit() for c in text) < 10:
        return None
    try:
        return pnr.normalise(text)
    except ValidationError:  # not a personal identity number: search as text only
        return None
