"""What the access log needs to know of the apps that build on it, given to it at start-up.

Every entry keeps the reader's units (a snapshot, as they were at the read) and names the citizen,
case and unit a thread concerns. Units are the mailbox core's and cases are eservices', and both
build on audit, so they register the queries here (in their AppConfig.ready) instead of audit
importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

_unit_names: Callable | None = None
_thread_contexts: Callable | None = None


def unit_names_register(provider: Callable) -> None:
    """`provider(user_id)`: a queryset of one column, the names of the units the user belongs to
    (usable as a subquery: the access log reads it together with locking its chain head)."""
    global _unit_names
    _unit_names = provider


def thread_contexts_register(provider: Callable) -> None:
    """`provider(thread_ids) -> {thread id: {"citizen_id", "case_id", "unit_id"}}` in one query."""
    global _thread_contexts
    _thread_contexts = provider


def unit_names(user_id: int):
    if _unit_names is None:
        raise RuntimeError("no unit names provider (mailboxes.apps.MailboxesConfig.ready registers it)")
    return _unit_names(user_id)


def thread_contexts(thread_ids: Iterable[int]) -> dict[int, dict[str, int | None]]:
    if _thread_contexts is None:
        raise RuntimeError("no thread context provider (eservices.apps.EservicesConfig.ready registers it)")
    return _thread_contexts(thread_ids)
