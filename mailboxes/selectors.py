"""Reads for the staff inbox. Each takes the acting user (or an object already opened through
mailboxes.permissions), filters in SQL and prefetches, so templates add no queries. Lists come from
the per-(mailbox, thread) summary (MailboxThread) and never scan messages."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import (
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lifemsg.perf.compiled import CompiledQuery

from .models import Attachment, Delivery, Mailbox, MailboxThread, Message, Thread, UnitMembership
from .permissions import (
    PROTECTED,
    mailboxes_may_open,
    may_open_args,
)
from .thread_filters import ThreadFilters, summaries_filter

User = get_user_model()

THREADS_PER_PAGE = 25


class ThreadFilter:
    """The single-choice `visa` values of old links (mailboxes.thread_filters reads them)."""

    ALL = "alla"
    UNREAD = "olasta"
    TAKEN_BY_ME = "mina"
    HANDLED = "hanterade"
    CHOICES = (ALL, UNREAD, TAKEN_BY_ME, HANDLED)

    @staticmethod
    def as_filters(view: str) -> ThreadFilters:
        return {
            ThreadFilter.UNREAD: ThreadFilters(unread=True),
            ThreadFilter.TAKEN_BY_ME: ThreadFilters(taken_by_me=True),
            ThreadFilter.HANDLED: ThreadFilters(handled=True),
        }.get(view, ThreadFilters())


def _mailboxes_with_unread(**may_open_args) -> QuerySet[Mailbox]:
    unread = (
        MailboxThread.objects.filter(mailbox_id=OuterRef("pk"), unread_count__gt=0)
        .order_by()
        .values("mailbox_id")
        .annotate(total=Sum("unread_count"))
        .values("total")
    )
    return (
        mailboxes_may_open(**may_open_args)
        .annotate(unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)))
        # "personal" sorts after "group": descending kind puts the user's own mailbox first (a
        # CASE expression here cost more to build and compile than the whole query takes to run).
        .order_by("-kind", "name", "id")
    )


_MAILBOXES_WITH_UNREAD = CompiledQuery(_mailboxes_with_unread)


def mailboxes_with_unread(user) -> list[Mailbox]:
    """The user's mailboxes (mailboxes.permissions.accessible_mailboxes), their own first and then
    group mailboxes by name, each with `unread` (unread messages, summed over the summaries' partial
    index on unread_count > 0). Every staff page shows them: compiled once (lifemsg.perf.compiled)."""
    shape, values = may_open_args(user)
    return _MAILBOXES_WITH_UNREAD.fetch(shape, **values)


def unread_fingerprint(mailboxes) -> str:
    """Changes whenever any shown count changes; lets the polling partial answer 204 otherwise."""
    return "-".join(f"{m.pk}.{m.unread}" for m in mailboxes)


def _mailbox_threads(*, mailbox_id: int, **filters) -> QuerySet[MailboxThread]:
    return MailboxThread.objects.filter(summaries_filter(**filters), mailbox_id=mailbox_id)


def _mailbox_threads_page(*, start: int, stop: int, **kwargs) -> QuerySet[MailboxThread]:
    qs = _mailbox_threads(**kwargs).select_related("thread", "taken_by", "handled_by")
    qs = qs.annotate(protected=PROTECTED)
    return qs.order_by("-last_activity_at", "-id")[start:stop]


_MAILBOX_THREADS_PAGE = CompiledQuery(_mailbox_threads_page)


class MailboxThreads:
    """One mailbox's threads from its summaries (index mailbox, -last_activity_at, or a filter's
    partial index: mailboxes.thread_filters), newest first, as Django's Paginator takes them:
    count() and slices, a page one compiled query (lifemsg.perf.compiled; its OFFSET is part of its
    shape)."""

    def __init__(self, *, mailbox: Mailbox, user, filters: ThreadFilters):
        self._shape = filters.shape()
        self._values = {"mailbox_id": mailbox.pk, **filters.values(user)}

    def count(self) -> int:
        # Django's COUNT(*), an index-only scan of (mailbox, thread) or of the filter's partial
        # index: cheap to build, not worth compiling.
        return _mailbox_threads(**self._shape, **self._values).count()

    def __getitem__(self, index: slice) -> list[MailboxThread]:
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("MailboxThreads takes slices without a step")
        start, stop = index.start or 0, index.stop
        if stop is not None and stop <= start:
            return []
        shape = {**self._shape, "start": start, "stop": stop}
        return _MAILBOX_THREADS_PAGE.fetch(shape, **self._values)


def mailbox_threads(
    *, mailbox: Mailbox, user, filters: ThreadFilters | None = None, view: str | None = None
) -> MailboxThreads:
    """One mailbox's threads narrowed by `filters` (or an old single-choice `view`), for Paginator."""
    if filters is None:
        filters = ThreadFilter.as_filters(view or ThreadFilter.ALL)
    return MailboxThreads(mailbox=mailbox, user=user, filters=filters)


def thread_rows_for_display(rows) -> list[MailboxThread]:
    """A page of summaries, ready for the list templates: each row gets its link, its time as text,
    its unread badge and its tags (forwarded, taken, handled) as translated text. Built here once per
    page (one reverse(), one time-zone lookup, each wording translated once) instead of per row with
    {% url %}, date filters and a {% blocktranslate %} per badge, which were most of a list page's
    render time (a group mailbox's rows carry the most tags)."""
    rows = list(rows)
    url = url_pattern("mailboxes:thread", 2)
    tz = timezone.get_current_timezone()
    wording = {
        "away": _("forwarded — %(name)s away"),
        "forwarded_by": _("forwarded by %(name)s"),
        "handled": _("handled by %(name)s"),
        "taken": _("being handled by %(name)s"),
    }
    unread: dict[int, str] = {}
    protected = _("Protected identity")
    for row in rows:
        row.url = url.format(row.mailbox_id, row.thread_id)
        if getattr(row, "protected", False):
            row.counterpart_name = protected
        local = row.last_activity_at.astimezone(tz)
        row.when_iso = local.isoformat()
        row.when_text = local.strftime("%Y-%m-%d %H:%M")
        n = row.unread_count
        if n and n not in unread:
            unread[n] = ngettext("%(n)s unread", "%(n)s unread", n) % {"n": n}
        row.unread_label = unread.get(n, "")
        # (badge modifier, text); the template escapes the text.
        row.tags = []
        if row.forwarded_for_name:
            row.tags.append(("forwarded", wording["away"] % {"name": row.forwarded_for_name}))
        if row.forwarded_by_name:
            row.tags.append(("forwarded", wording["forwarded_by"] % {"name": row.forwarded_by_name}))
        if row.handled_by is not None:
            row.tags.append(("handled", wording["handled"] % {"name": row.handled_by.display_name}))
        elif row.taken_by is not None:
            row.tags.append(("taken", wording["taken"] % {"name": row.taken_by.display_name}))
    return rows


def url_pattern(name: str, nargs: int) -> str:
    """reverse(name) with its integer arguments left as {0}, {1}, ... for str.format."""
    sentinels = [987654321 + i for i in range(nargs)]
    url = reverse(name, args=sentinels)
    for i, sentinel in enumerate(sentinels):
        url = url.replace(str(sentinel), f"{{{i}}}")
    return url


def _thread_messages(
    *, thread_id: int, citizen: bool, mailbox_id: int | None = None, upto: int | None = None
) -> QuerySet[Message]:
    qs = (
        Message.objects.filter(thread_id=thread_id)
        .select_related("sender")
        .annotate(has_attachments=Exists(Attachment.objects.filter(message_id=OuterRef("pk"))))
        .order_by("created_at", "id")
    )
    if mailbox_id is not None:
        qs = qs.annotate(
            here=FilteredRelation("deliveries", condition=Q(deliveries__mailbox_id=mailbox_id)),
        ).annotate(
            here_reason=F("here__reason"),
            here_note=F("here__forward_note"),
            here_forwarded_by_first=F("here__forwarded_by__first_name"),
            here_forwarded_by_last=F("here__forwarded_by__last_name"),
            here_forwarded_for_first=F("here__forwarded_for__first_name"),
            here_forwarded_for_last=F("here__forwarded_for__last_name"),
        )
    if upto is not None:  # the need-to-know cut-off (mailboxes.permissions.ThreadAccess)
        qs = qs.filter(id__lte=upto)
    if not citizen:
        qs = qs.select_related("sender_mailbox").prefetch_related("recipients")
    return qs


_THREAD_MESSAGES = CompiledQuery(_thread_messages)


def thread_messages(
    *, thread: Thread, mailbox: Mailbox | None = None, upto: int | None = None
) -> list[Message]:
    """The thread's messages in order (those up to `upto`, the reader's need-to-know cut-off, when
    given), with sender, recipients, attachments and, when opened through a mailbox, that mailbox's
    copy of each (why it is there, who forwarded it, the note): at most three queries whatever the
    length; the first compiled once (lifemsg.perf.compiled)."""
    values = {"thread_id": thread.pk}
    if mailbox is not None:
        values["mailbox_id"] = mailbox.pk
    if upto is not None:
        values["upto"] = upto
    messages = _THREAD_MESSAGES.fetch({"citizen": thread.is_citizen}, **values)
    with_files = [m.pk for m in messages if m.has_attachments]
    files: dict[int, list[Attachment]] = {}
    if with_files:
        for attachment in Attachment.objects.filter(message_id__in=with_files).order_by("id"):
            files.setdefault(attachment.message_id, []).append(attachment)
    for m in messages:
        m.attachment_list = files.get(m.pk, [])
        if mailbox is not None:
            m.here_forwarded_by = " ".join(
                p for p in (m.here_forwarded_by_first, m.here_forwarded_by_last) if p
            )
            m.here_forwarded_for = " ".join(
                p for p in (m.here_forwarded_for_first, m.here_forwarded_for_last) if p
            )
    return messages


def messages_for_display(messages: list[Message], *, thread: Thread, attachment_url: str) -> list[Message]:
    """The thread page's messages, each with what the template shows worked out once here: its
    element id and CSS class, what kind it is, sender name and whether a citizen wrote, whether its
    recipients are listed, how it came to this mailbox, the received time as text and each
    attachment's link (`attachment_url`: a url_pattern with the attachment id as {0}).

    Per message, comparisons, date filters, {% url %} tags and attribute chains in the template were
    most of the thread page's render time (a template variable or condition costs tens of calls)."""
    tz = timezone.get_current_timezone()
    for m in messages:
        m.dom_id = f"msg-{m.pk}"
        m.is_note = m.kind == Message.Kind.NOTE
        m.is_automatic = m.kind == Message.Kind.AUTOMATIC
        m.sender_name = m.sender.display_name if m.sender is not None else ""
        m.from_citizen = m.sender is not None and m.sender.is_citizen
        if m.is_note:
            m.css_class = "message message--note"
        elif m.is_automatic:
            m.css_class = "message message--automatic"
        elif m.from_citizen:
            m.css_class = "message message--citizen"
        else:
            m.css_class = "message"
        m.shows_recipients = m.kind == Message.Kind.NORMAL and not thread.is_citizen
        reason = getattr(m, "here_reason", None)
        m.forwarded_absence = reason == Delivery.Reason.FORWARDED_ABSENCE
        m.forwarded_manual = reason == Delivery.Reason.FORWARDED_MANUAL
        local = m.created_at.astimezone(tz)
        m.when_iso = local.isoformat()
        m.when_text = local.strftime("%Y-%m-%d %H:%M")
        for attachment in m.attachment_list:
            attachment.url = attachment_url.format(attachment.pk)
    return messages


def reply_recipients(*, messages: list[Message], user, via_mailbox: Mailbox) -> list[Mailbox]:
    """Who a reply in an internal thread goes to: the mailboxes of earlier messages' senders and
    recipients, except the replier's own (their personal mailbox and the one they reply from). Read
    from the messages already loaded with thread_messages (no query)."""
    found: dict[int, Mailbox] = {}
    for m in messages:
        if m.kind != Message.Kind.NORMAL:
            continue
        if m.sender_mailbox is not None:
            found.setdefault(m.sender_mailbox.pk, m.sender_mailbox)
        for r in m.recipients.all():
            found.setdefault(r.pk, r)
    return sorted(
        (mb for mb in found.values() if mb.owner_id != user.pk and mb.pk != via_mailbox.pk),
        key=lambda mb: (mb.is_group, mb.name),
    )


def unit_names_of(user_id: int) -> QuerySet:
    """The names of the user's units, one column (a subquery of the access log's locking query)."""
    return UnitMembership.objects.filter(user_id=user_id).order_by().values_list("unit__name", flat=True)


def recipient_mailboxes(user) -> QuerySet[Mailbox]:
    """What the composer offers: staff of the organisation (members of a unit) and every group
    mailbox; never a citizen, never one's own mailbox."""
    in_a_unit = UnitMembership.objects.filter(user_id=OuterRef("owner_id"))
    return (
        Mailbox.objects.filter(
            Q(kind=Mailbox.Kind.GROUP)
            | Q(
                Exists(in_a_unit),
                kind=Mailbox.Kind.PERSONAL,
                owner__kind=User.Kind.STAFF,
                owner__is_active=True,
            )
        )
        .exclude(owner=user)
        .select_related("owner", "unit")
        .order_by("kind", "name", "id")
    )


def forward_targets(*, user, exclude: Mailbox) -> QuerySet[Mailbox]:
    """Where `user` may forward a thread by hand: the group mailboxes of their own units (a forward
    opens the thread to the target's members, so it stays among colleagues who share the work)."""
    return (
        Mailbox.objects.filter(kind=Mailbox.Kind.GROUP, unit__memberships__user=user)
        .exclude(pk=exclude.pk)
        .order_by("name", "id")
    )
