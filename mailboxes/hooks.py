"""Callables run inside thread_mark_handled's transaction: `hook(*, mailbox, thread, user)`.
Registered at import time by apps that react to handling (integrations' webhooks); each must only
enqueue side effects on commit."""

AFTER_HANDLED: list = []


# --- routing: the mailbox core asks for it, the absence app does it ---------------------------------
#
# Storing a message is the mailbox core's; deciding where it goes (absences, forwarding) is absence's,
# which builds on the core. The core owns the seam: absence registers its router at start-up
# (absence.apps.AbsenceConfig.ready), and every service that stores a message to be delivered calls
# `routing_request`, so no app below absence imports it.

_router = None


def router_register(router) -> None:
    """`router(message)`: ask for `message` to be routed once the storing transaction commits."""
    global _router
    _router = router


def routing_request(message) -> None:
    """Ask for `message` to be routed on commit (the sweep routes it should the request be lost)."""
    if _router is None:
        raise RuntimeError("no router registered (absence.apps.AbsenceConfig.ready registers it)")
    _router(message)


# --- who a citizen's message is for ---------------------------------------------------------------
#
# A citizen thread belongs to a case (eservices); the case says who handles it. eservices registers
# the provider (eservices.apps.EservicesConfig.ready); routing asks it, once per batch.

_citizen_recipients = None


def citizen_recipients_register(provider) -> None:
    """`provider(thread_ids) -> {thread id: Mailbox}`: for each citizen thread, the mailbox a message
    from the citizen is meant for (the handler's personal mailbox, or the unit's group mailbox when
    the case has no handler), in a fixed number of queries."""
    global _citizen_recipients
    _citizen_recipients = provider


def citizen_recipients(thread_ids) -> dict:
    if _citizen_recipients is None:
        raise RuntimeError("no citizen recipients provider (eservices.apps.EservicesConfig.ready)")
    return _citizen_recipients(set(thread_ids))


# --- who is on a citizen thread's case team -------------------------------------------------------
#
# Need to know (guarantee 9): the case's handler and co-handlers see the whole citizen thread. Cases
# are eservices'; it gives the condition (eservices.apps.EservicesConfig.ready), which the mailbox
# core puts inside the queries that authorise a read.

_case_team_condition = None


def case_team_condition_register(condition) -> None:
    """`condition(*, user_id, thread) -> Q`: the user is the handler or a co-handler of the case of
    the thread reached by the lookup prefix `thread` (e.g. "thread__")."""
    global _case_team_condition
    _case_team_condition = condition


def case_team_condition(*, user_id: int, thread: str):
    if _case_team_condition is None:
        raise RuntimeError("no case team condition (eservices.apps.EservicesConfig.ready registers it)")
    return _case_team_condition(user_id=user_id, thread=thread)


# --- citizens with a protected identity -----------------------------------------------------------
#
# Routing (absence.protected) replaces group mailboxes with named people for a protected citizen's
# messages; which messages those are, and who the case names, is eservices' (registered in
# eservices.apps.EservicesConfig.ready).

_protected_cases = None


def protected_cases_register(provider) -> None:
    """`provider(message_ids) -> {message id: case}` for the messages in the thread of a case whose
    citizen has a protected identity; each case with `co_handlers` prefetched, `handler_id` and
    `unit_id`."""
    global _protected_cases
    _protected_cases = provider


def protected_cases(message_ids) -> dict:
    if _protected_cases is None:
        raise RuntimeError("no protected cases provider (eservices.apps.EservicesConfig.ready)")
    return _protected_cases(message_ids)
