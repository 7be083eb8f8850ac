"""Django's database sessions (django.contrib.sessions.backends.db: storage, expiry, cycling and
clearsessions are Django's own) in accounts.UserSession, which keeps the logged-in user's id in a
column beside the encoded data. Every request reads its session and then its user: with the fast
path on (lifemsg.perf) both come in one query, compiled once, and the user is handed to
accounts.backends (lifemsg.perf.handoff) for the rest of the request instead of being read again;
saving an existing session outside a transaction is its one UPDATE, without the transaction Django
wraps around it. With it off, this is Django's store as it is."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, connections, router
from django.utils import timezone

from lifemsg import perf
from lifemsg.perf.compiled import CompiledQuery
from lifemsg.perf.handoff import offer_session_user

from .backends import permission_arrays
from .models import UserSession


def _live_session(*, session_key: str, now, with_permissions: bool):
    sessions = UserSession.objects.filter(session_key=session_key, expire_date__gt=now).select_related("user")
    if with_permissions:
        sessions = sessions.annotate(**permission_arrays("user_id"))
    return sessions


_LIVE_SESSION = CompiledQuery(_live_session)


def _user_id(value) -> int | None:
    """The user id a session's data names (Django stores it as a string), if it is one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        return UserSession

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = _user_id(data.get(SESSION_KEY))
        return session

    def _get_session_from_db(self):
        if not perf.enabled():
            return super()._get_session_from_db()
        session = None
        with_permissions = perf.fast_sql()
        if self.session_key:
            session = _LIVE_SESSION.first(
                {"with_permissions": with_permissions}, session_key=self.session_key, now=timezone.now()
            )
        if session is None:
            self._session_key = None
            offer_session_user(None)
        else:
            offer_session_user(session.user, arrays_from=session if with_permissions else None)
        return session

    def save(self, must_create=False):
        """Django's save, except that updating an existing session outside a transaction is one
        UPDATE statement, atomic by itself, instead of BEGIN, UPDATE, COMMIT: the idle timeout's
        refresh (accounts.middleware.IdleTimeoutMiddleware) costs a page one query, not three.
        Creating a session, and saving one inside a transaction (where Django's savepoint keeps a
        failed save from spoiling it), is Django's own. A session deleted meanwhile (logged out in
        another tab) raises UpdateError as in Django, and the session middleware answers it."""
        using = router.db_for_write(self.model)
        if (
            must_create
            or self.session_key is None
            or connections[using].in_atomic_block
            or not perf.enabled()
        ):
            return super().save(must_create=must_create)
        obj = self.create_model_instance(self._get_session())
        try:
            # No row updated raises DatabaseError ("Forced update did not affect any rows").
            obj.save(force_update=True, using=using)
        except DatabaseError as exc:
            raise UpdateError from exc
