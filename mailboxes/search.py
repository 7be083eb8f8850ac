"""Search over the mailboxes a member of staff may open: Swedish full-text search of message texts
on PostgreSQL (a substring match on the embedded SQLite default), and a substring match of subjects
and counterparts' names, or a citizen's personal identity number.

A hit is a (mailbox, thread) summary of a mailbox the user may open, whose subject or counterpart
matches, or one of whose messages the user may read there (the need-to-know cut-off) matches; hits
are in the order of a mailbox, latest activity first. `Search.reference()` says that in one
queryset; the page reads only as many hits as it shows, by one of two paths that give the same
hits in the same order (tests/mailboxes/test_search_paths.py holds them to the reference):

- **walk**, for a word in many messages: each of the user's mailboxes is read newest first (index
  mailbox, last activity) and each summary tested until there are enough hits, so the work follows
  the page, not the installation. A message is tested with `ts_match_vq`, the function behind `@@`,
  so that PostgreSQL checks the thread's few messages (index thread) rather than intersecting the
  word's whole GIN posting list with each thread.
- **index**, for a word in few messages: the threads that can match come from indexes (the GIN index
  on the stored tsvector, migration 0006; trigram indexes on subjects and counterparts, 0008; the
  personal identity number), then only those are tested and sorted.

Which word is which comes from PostgreSQL's statistics of the stored tsvector (`_FACTS`). Hits are
counted exactly up to SEARCH_COUNTED; beyond, the page says "more than" and pages on, up to
SEARCH_HIT_LIMIT, each page reading the hits up to its own end."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import BooleanField, Exists, Expression, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL

from accounts import personnummer as pnr
from lifemsg.perf.compiled import CompiledQuery

from .models import MailboxThread, Message, Thread
from .permissions import (
    PROTECTED,
    accessible_mailboxes,
    mailboxes_may_open,
    may_open_args,
    not_protected_in_group,
    search_upto,
)

# Hits a search lists at most; the page asks for a narrower search beyond.
SEARCH_HIT_LIMIT = 1000
# Hits counted exactly ("17 hits") at least this far (and always to the end of the page shown);
# beyond, "more than 25 hits" and pages on up to SEARCH_HIT_LIMIT. One page's worth: counting further
# would have every search for a common word test more of the user's threads than it shows, and take
# longer the more threads there are.
SEARCH_COUNTED = 25
# A query PostgreSQL estimates in at least this share of all messages is searched by walking the
# user's mailboxes; a rarer one from the indexes (see the module docstring).
COMMON_SHARE = 0.01
# Trigram indexes need three characters; a shorter query walks.
TRIGRAM_MIN = 3


class StoredSwedishVector(Expression):
    """The message's stored to_tsvector('swedish', body) (migration 0006): a column the model does
    not declare, as SQLite has none. Only used where the message table is the one in the FROM clause
    having such a column."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        return connection.ops.quote_name("search_vector"), []


def _words(query: str) -> SearchQuery:
    return SearchQuery(query, config="swedish", search_type="websearch")


def _message_matches(words: str) -> Q:
    """A message's text matches, tested row by row (never through the GIN index: see the docstring)."""
    test = Func(StoredSwedishVector(), _words(words), function="ts_match_vq", output_field=BooleanField())
    return Q(test)


class _Contains(Func):
    """`field` contains `pattern` (a LIKE pattern, escaped), whatever the case: Django's `icontains`
    on PostgreSQL, UPPER(field::text) LIKE UPPER(pattern), the expression the trigram indexes of
    migration 0008 index; but with the pattern a parameter as given, so that the query can be
    compiled once (lifemsg.perf.compiled)."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection):
        (field, field_params), (pattern, pattern_params) = (
            compiler.compile(e) for e in self.source_expressions
        )
        params = [*field_params, *pattern_params]
        if connection.vendor == "postgresql":
            return f"UPPER(({field})::text) LIKE UPPER({pattern})", params
        return f"{field} LIKE {pattern} ESCAPE '\\'", params  # as Django's icontains on SQLite


def _contains(field: str, pattern: str) -> Q:
    return Q(_Contains(F(field), Value(pattern)))


def _personnummer(text: str) -> str | None:
    if sum(c.isdigit() for c in text) < 10:
        return None
    try:
        return pnr.normalise(text)
    except ValidationError:  # not a personal identity number: search as text only
        return None


def _values(*, user_id: int, query: str) -> dict:
    """What the search queries are built of: the searcher, the LIKE pattern of the query, the words
    for full-text search (PostgreSQL; SQLite matches message texts by the pattern too) and a
    personal identity number, if the query is one."""
    values = {"user_id": user_id, "pattern": f"%{connection.ops.prep_for_like_query(query)}%"}
    if connection.vendor == "postgresql":
        values["words"] = query
    number = _personnummer(query)
    if number:
        values["number"] = number
    return values


def _hits(*, user_id: int, pattern: str, words: str | None = None, number: str | None = None) -> QuerySet:
    """Every summary row, of any mailbox, that is a hit for this user if they may open its mailbox:
    the row's subject, counterpart or personal identity number matches, or a message the user may
    read through it (guarantee 9: up to the row's cut-off)."""
    messages = Message.objects.filter(thread_id=OuterRef("thread_id"), id__lte=OuterRef("upto"))
    text = _message_matches(words) if words is not None else _contains("body", pattern)
    condition = (
        _contains("thread__subject", pattern)
        | _contains("counterpart_name", pattern)
        | Exists(messages.filter(text))
    )
    if number is not None:
        condition |= Q(thread__case__citizen__personnummer=number)
    return (
        MailboxThread.objects.alias(upto=search_upto(user_id=user_id))
        .filter(condition)
        .filter(not_protected_in_group(user_id=user_id))
    )


@dataclass(frozen=True)
class Search:
    """A search by `user` for `query`. Iterating gives the hits (up to SEARCH_HIT_LIMIT) in order."""

    user: object
    query: str

    @cached_property
    def _values(self) -> dict:
        return _values(user_id=self.user.pk, query=self.query)

    def reference(self) -> QuerySet[MailboxThread]:
        """All hits, in order: the definition both paths are held to (slow on a common word)."""
        rows = _hits(**self._values).filter(mailbox__in=accessible_mailboxes(self.user))
        return rows.order_by("-last_activity_at", "-id")

    @cached_property
    def _facts(self) -> tuple[list[int], float | None]:
        """(the ids of the mailboxes the user may open, the estimated share of messages matching),
        read in one query (_FACTS); no estimate on SQLite or without statistics."""
        shape, values = may_open_args(self.user)
        boxes = _BOXES.as_sql(shape, **values)
        if boxes is None:
            return [], None
        sql, params = boxes
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.execute(sql, params)
                return [row[0] for row in cursor.fetchall()], None
            cursor.execute(_FACTS.format(boxes=sql), [*params, self.query])  # noqa: S608 (compiled SQL)
            ids, share = cursor.fetchone()
        return list(ids), share

    def path(self) -> str:
        """ "walk" or "index" (module docstring)."""
        if connection.vendor != "postgresql" or len(self.query) < TRIGRAM_MIN:
            return "walk"
        if "number" in self._values:
            return "index"
        share = self._facts[1]
        return "walk" if share is None or share >= COMMON_SHARE else "index"

    def ids(self, limit: int, *, path: str | None = None) -> list[int]:
        """The first `limit` hits' ids, in order."""
        boxes = self._facts[0]
        if not boxes:
            return []
        values = {**self._values, **{f"box_{i}": box for i, box in enumerate(boxes)}}
        if (path or self.path()) == "walk":
            compiled = _WALK.as_sql({"boxes": len(boxes), "limit": limit}, **values)
        else:
            compiled = _INDEX.as_sql({"boxes": len(boxes)}, **values)
        if compiled is None:
            return []
        sql, params = compiled
        ordered = f'SELECT "id" FROM ({sql}) AS "hit" ORDER BY "last_activity_at" DESC, "id" DESC LIMIT %s'  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(ordered, [*params, limit])
            return [row[0] for row in cursor.fetchall()]

    def __iter__(self):
        ids = self.ids(SEARCH_HIT_LIMIT)
        by_id = MailboxThread.objects.select_related("mailbox", "thread").in_bulk(ids)
        return iter([by_id[pk] for pk in ids if pk in by_id])


def _box_ids(count: int, values: dict) -> list[int]:
    return [values.pop(f"box_{i}") for i in range(count)]


def _walk(*, boxes: int, limit: int, **values) -> QuerySet:
    """Each mailbox read newest first (index mailbox, -last_activity_at, -id) and each row tested as
    it comes until `limit` hits; then the mailboxes' hits merged. A subquery a mailbox, as
    PostgreSQL 15 does not merge index scans of a UNION ALL in order (its Merge Append needs the
    mailbox as a condition of the whole query). The test is a scalar subquery, run row by row:
    joined into the query, or as an EXISTS (which PostgreSQL turns into a join), PostgreSQL would
    rather test and sort all the mailbox's rows than read them in order and stop."""
    ids = _box_ids(boxes, values)
    if connection.vendor != "postgresql":  # SQLite takes no LIMIT in a UNION; its sizes need no walk
        return _hits(**values).filter(mailbox_id__in=ids).values("id", "last_activity_at")
    hit = _hits(**values).filter(pk=OuterRef("pk")).values("pk")[:1]
    per_box = [
        MailboxThread.objects.filter(mailbox_id=box)
        .alias(hit=Subquery(hit))
        .filter(hit__isnull=False)
        .order_by("-last_activity_at", "-id")
        .values("id", "last_activity_at")[:limit]
        for box in ids
    ]
    return per_box[0].union(*per_box[1:], all=True) if len(per_box) > 1 else per_box[0]


def _index(*, boxes: int, **values) -> QuerySet:
    """The rows that can match, from indexes, then tested (and sorted)."""
    ids = _box_ids(boxes, values)
    pattern, words, number = values["pattern"], values.get("words"), values.get("number")
    threads = [Thread.objects.filter(_contains("subject", pattern)).values("id")]
    if words is not None:
        matching = Message.objects.alias(search_vector=StoredSwedishVector()).filter(
            search_vector=_words(words)
        )
        threads.append(matching.values("thread_id"))
    if number is not None:
        threads.append(Thread.objects.filter(case__citizen__personnummer=number).values("id"))
    parts = [q.order_by().query.sql_with_params() for q in threads]
    counterpart = MailboxThread.objects.filter(_contains("counterpart_name", pattern)).order_by().values("id")
    counterpart_sql, counterpart_params = counterpart.query.sql_with_params()
    # Arrays, not IN (subquery): the candidates are read first and then looked up by index, where
    # PostgreSQL, misjudging how few they are, would hash-join them with a scan.
    threads_sql = " UNION ".join(sql for sql, _ in parts)
    where = f'WHERE "c"."thread_id" = ANY(ARRAY({threads_sql}))'
    candidates = f'SELECT "c"."id" FROM "mailboxes_mailboxthread" AS "c" {where} UNION {counterpart_sql}'  # noqa: S608
    params = [p for _, ps in parts for p in ps] + list(counterpart_params)
    among = RawSQL(  # noqa: S611 (compiled SQL; values are parameters)
        f'"mailboxes_mailboxthread"."id" = ANY(ARRAY({candidates}))', params, BooleanField()
    )
    return _hits(**values).filter(among, mailbox_id__in=ids).values("id", "last_activity_at")


def _boxes(**may_open_args) -> QuerySet:
    return mailboxes_may_open(**may_open_args).order_by().values("id")


# Built and compiled once a shape (lifemsg.perf.compiled): building them cost more than running them.
_WALK = CompiledQuery(_walk)
_INDEX = CompiledQuery(_index)
_BOXES = CompiledQuery(_boxes)


def search_threads(*, user, query: str) -> Search:
    """The (mailbox, thread) summaries the user may open whose subject, counterpart or messages match,
    or whose citizen has this personal identity number; latest activity first."""
    return Search(user=user, query=query.strip())


# The mailboxes the user may open, and the share of messages PostgreSQL's statistics expect the
# query's words to be in (the least common word's: the words of a search must all be there). A
# lexeme ANALYZE found among the most common elements of the stored tsvector has its frequency;
# another is rarer than all of those, and is given what PostgreSQL's own estimate gives it
# (tsquery_opr_selec): half the least frequency listed, at most 0.005. No statistics: NULL.
_FACTS = """
SELECT ARRAY({boxes}),
  (SELECT min(COALESCE(
      s.most_common_elem_freqs[array_position(s.most_common_elems::text::text[], w)],
      LEAST(0.005, s.most_common_elem_freqs[array_length(s.most_common_elem_freqs, 1) - 2] / 2)))
   FROM pg_stats AS s, unnest(tsvector_to_array(to_tsvector('swedish'::regconfig, %s))) AS w
   WHERE s.schemaname = current_schema() AND s.tablename = 'mailboxes_message'
     AND s.attname = 'search_vector')
"""


class SearchPaginator(Paginator):
    """Pages over a Search's hits, reading only as many as the page needs: all of them up to
    SEARCH_COUNTED (then counted exactly), else up to the end of the page asked for (at most
    SEARCH_HIT_LIMIT), one more telling whether there are more. Each page reads its rows by id.
    `more`: hits beyond `limit` were left unread; the next page reads on."""

    def __init__(self, object_list: Search, per_page: int, limit: int | None = None):
        self.search = object_list
        self.hit_limit = limit or SEARCH_HIT_LIMIT
        self.more = False
        self.limit = 0
        super().__init__([], per_page)

    def get_page(self, number) -> Page:
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            wanted = 1
        self.limit = min(self.hit_limit, max(SEARCH_COUNTED, max(wanted, 1) * self.per_page))
        ids = self.search.ids(self.limit + 1)
        self.more = len(ids) > self.limit
        self.object_list = ids[: self.limit]
        self.__dict__.pop("count", None)
        self.__dict__.pop("num_pages", None)
        read = max(1, math.ceil(len(self.object_list) / self.per_page))
        return self.page(wanted if 1 <= wanted <= read else read)

    @property
    def num_pages(self) -> int:
        read = max(1, math.ceil(len(self.object_list) / self.per_page))
        return read + 1 if self.more and self.limit < self.hit_limit else read

    def _get_page(self, ids, number, paginator) -> Page:
        rows = MailboxThread.objects.select_related("mailbox", "thread", "taken_by", "handled_by").annotate(
            protected=PROTECTED
        )
        by_id = rows.in_bulk(list(ids)) if ids else {}
        return Page([by_id[pk] for pk in ids if pk in by_id], number, paginator)
