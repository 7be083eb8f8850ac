"""The session read hands the user it brought along (accounts.sessions) to the auth backend's
get_user (accounts.backends, eservices.oidc), which django.contrib.auth calls right after reading
the session, instead of the backend reading the user again. A ContextVar carries it for the rest of
the request, once; cleared when the request finishes. With the fast path off nothing is offered and
the backends read the user as Django's do."""

from __future__ import annotations

from contextvars import ContextVar

from django.core.signals import request_finished
from django.dispatch import receiver

from . import enabled

__all__ = ["offer_session_user", "take_session_user"]

# (user, the row their permission arrays came on or None), or None.
_SESSION_USER: ContextVar[tuple | None] = ContextVar("session_user", default=None)


def offer_session_user(user, *, arrays_from=None) -> None:
    _SESSION_USER.set(None if user is None or not enabled() else (user, arrays_from))


def take_session_user(user_id) -> tuple | None:
    """(user, the row their permission arrays came on or None) if this request's session read brought
    the user `user_id`; once only."""
    offered = _SESSION_USER.get()
    if offered is None:
        return None
    _SESSION_USER.set(None)
    return offered if offered[0].pk == user_id else None


@receiver(request_finished)
def _forget_session_user(**kwargs) -> None:
    _SESSION_USER.set(None)
