"""Django's database sessions, read with a compiled query (lifemsg.compiled): every request reads its
session, and building the lookup cost Django more than PostgreSQL takes to answer it. Storage,
expiry, cycling and clearsessions are Django's own (django.contrib.sessions.backends.db)."""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from lifemsg.compiled import CompiledQuery


def _live_session(*, session_key: str, now) -> object:
    return Session.objects.filter(session_key=session_key, expire_date__gt=now)


_LIVE_SESSION = CompiledQuery(_live_session)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        session = None
        if self.session_key:
            session = _LIVE_SESSION.first(session_key=self.session_key, now=timezone.now())
        if session is None:
            self._session_key = None
        return session
