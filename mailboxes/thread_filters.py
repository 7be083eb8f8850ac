"""The thread list's filters: what a mailbox's list is narrowed to, read from the page's GET
parameters so that a filtered list is a real URL (bookmarked, shared, opened without JavaScript).

Every filter reads the per-(mailbox, thread) summary (MailboxThread) alone, except the e-service,
which asks whether the thread's case is of that e-service: a semi-join on the case's unique thread
index, written as EXISTS on the case table so that the thread table is not joined as well (joining
through thread__case read every thread row of the mailbox a second time: several times slower on
the bench's 8,000-thread group mailbox). Each filter that
a busy group mailbox narrows to a small share of its rows has a partial index of (mailbox,
-last_activity_at) so its page and its count read only those rows: unread (mbthread_unread_idx),
not handled (mbthread_open_idx), forwarded because of absence (mbthread_away_idx); "taken by me"
has mbthread_taken_idx.

"Forwarded because of absence" is the summary's forwarded_for_name: set when a delivery of the thread
reached the mailbox with reason FORWARDED_ABSENCE (mailboxes.services.summaries), and never cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .models import Thread

# GET parameter names (Swedish, as the URLs are) and the values of the "handled" choice.
P_ESERVICE = "etjanst"
P_UNREAD = "olasta"
P_TAKEN_BY_ME = "mina"
P_AWAY = "franvaro"
P_HANDLED = "hanterad"
HANDLED_YES = "ja"
HANDLED_NO = "nej"
PARAMS = (P_ESERVICE, P_UNREAD, P_TAKEN_BY_ME, P_AWAY, P_HANDLED)

# The single-choice `visa` parameter these filters replaced; old links and bookmarks keep working.
LEGACY_VIEW = "visa"
_LEGACY = {"olasta": {P_UNREAD: "1"}, "mina": {P_TAKEN_BY_ME: "1"}, "hanterade": {P_HANDLED: HANDLED_YES}}


@dataclass(frozen=True)
class ThreadFilters:
    """A combination of filters; all given ones apply (AND). `handled` None: handled or not."""

    eservice_id: int | None = None
    unread: bool = False
    taken_by_me: bool = False
    away: bool = False
    handled: bool | None = None

    @property
    def active(self) -> bool:
        return self != ThreadFilters()

    def shape(self) -> dict:
        """What changes the SQL (lifemsg.perf.compiled's shape): which filters apply."""
        return {
            "eservice": self.eservice_id is not None,
            "unread": self.unread,
            "taken_by_me": self.taken_by_me,
            "away": self.away,
            "handled": self.handled,
        }

    def values(self, user) -> dict:
        """The parameters the SQL takes (lifemsg.perf.compiled's values)."""
        values = {}
        if self.eservice_id is not None:
            values["eservice_id"] = self.eservice_id
        if self.taken_by_me:
            values["user_id"] = user.pk
        return values

    def query(self) -> str:
        """The filters as the list's query string ("" when none), for links that keep them."""
        params: dict[str, str] = {}
        if self.eservice_id is not None:
            params[P_ESERVICE] = str(self.eservice_id)
        if self.unread:
            params[P_UNREAD] = "1"
        if self.taken_by_me:
            params[P_TAKEN_BY_ME] = "1"
        if self.away:
            params[P_AWAY] = "1"
        if self.handled is not None:
            params[P_HANDLED] = HANDLED_YES if self.handled else HANDLED_NO
        return urlencode(params)


def _case_model():
    """eservices.Case, reached through the thread's reverse relation (the mailbox core does not import
    eservices; access_thread reads the case the same way)."""
    return Thread._meta.get_field("case").related_model


def summaries_filter(
    *,
    eservice: bool = False,
    unread: bool = False,
    taken_by_me: bool = False,
    away: bool = False,
    handled: bool | None = None,
    eservice_id: int | None = None,
    user_id: int | None = None,
) -> Q:
    """ThreadFilters as a condition on MailboxThread rows (shape as flags, values as ids)."""
    condition = Q()
    if eservice:
        condition &= Exists(
            _case_model().objects.filter(thread_id=OuterRef("thread_id"), eservice_id=eservice_id)
        )
    if unread:
        condition &= Q(unread_count__gt=0)
    if taken_by_me:
        condition &= Q(taken_by_id=user_id)
    if away:
        condition &= ~Q(forwarded_for_name="")
    if handled is not None:
        condition &= Q(handled_at__isnull=not handled)
    return condition


class ThreadFilterForm(forms.Form):
    """The filter panel of a mailbox's list (a GET form). `eservices`: (id, name) of the e-services
    offered; `group`: whether "taken by me" applies (a group mailbox). A value that does not fit
    (an e-service not offered, a hand-edited URL) is left out, never an error page."""

    etjanst = forms.TypedChoiceField(label=_("E-service"), coerce=int, required=False, empty_value=None)
    olasta = forms.BooleanField(label=_("Unread"), required=False)
    mina = forms.BooleanField(label=_("Taken by me"), required=False)
    franvaro = forms.BooleanField(label=_("Forwarded because of absence"), required=False)
    hanterad = forms.ChoiceField(
        label=_("Handled"),
        required=False,
        choices=(("", _("Handled or not")), (HANDLED_NO, _("Not handled")), (HANDLED_YES, _("Handled"))),
    )

    def __init__(self, data: QueryDict, *, eservices: list[tuple[int, str]], group: bool):
        super().__init__(_with_legacy(data), auto_id="filter-%s")
        self.fields[P_ESERVICE].choices = [("", _("All e-services")), *eservices]
        if not group:
            del self.fields[P_TAKEN_BY_ME]

    def filters(self) -> ThreadFilters:
        self.is_valid()  # cleaned_data keeps the fields that are valid
        data = self.cleaned_data
        handled = data.get(P_HANDLED) or ""
        return ThreadFilters(
            eservice_id=data.get(P_ESERVICE),
            unread=bool(data.get(P_UNREAD)),
            taken_by_me=bool(data.get(P_TAKEN_BY_ME)),
            away=bool(data.get(P_AWAY)),
            handled={HANDLED_YES: True, HANDLED_NO: False}.get(handled),
        )


def _with_legacy(data: QueryDict) -> QueryDict:
    legacy = _LEGACY.get(data.get(LEGACY_VIEW, ""))
    if not legacy:
        return data
    data = data.copy()
    for key, value in legacy.items():
        data.setdefault(key, value)
    return data


def selected_eservice_id(data: QueryDict) -> int | None:
    """The e-service asked for in the query, if it is a number (the list of choices includes it)."""
    value = data.get(P_ESERVICE, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def filters_from_query(query: str) -> ThreadFilters:
    """The filters a list's query string carries (as ThreadFilters.query writes it), read back
    through the form: to return to the same list after a bulk action, with nothing but the filters'
    own parameters (a hand-made value is dropped, never passed on)."""
    data = QueryDict(query)
    eservice_id = selected_eservice_id(data)
    eservices = [] if eservice_id is None else [(eservice_id, "")]
    return ThreadFilterForm(data, eservices=eservices, group=True).filters()
