"""The labelled test e-ID login (CITIZEN_TEST_LOGIN_ENABLED, development and demos only).

It goes through django.contrib.auth.authenticate() so that django-axes counts every failed try and
locks the client out after AXES_FAILURE_LIMIT: guessing personal identity numbers is brute force. The
axes "username" is a fixed marker, not the number tried: lockout is per client address for this login
as a whole (each guess is a different number), and no personal identity number is stored by axes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import BaseBackend

from .models import Citizen

# Not a valid Django username (spaces, brackets), so it can never collide with a staff account.
AXES_USERNAME = "[test e-ID login]"


class EidTestLoginBackend(BaseBackend):
    """Authenticates only when called with `test_eid_personnummer` (by citizen_login_test_eid)."""

    def authenticate(self, request, test_eid_personnummer: str | None = None, **kwargs):
        if test_eid_personnummer is None or not settings.CITIZEN_TEST_LOGIN_ENABLED:
            return None
        citizen = (
            Citizen.objects.select_related("user")
            .filter(personnummer=test_eid_personnummer, user__is_active=True)
            .first()
        )
        return citizen.user if citizen else None


def citizen_login_test_eid(*, request, personnummer: str):
    """The citizen's user, or None (wrong number, or locked out: then request.axes_locked_out is
    set and axes' middleware answers with the lockout page)."""
    return authenticate(request, username=AXES_USERNAME, test_eid_personnummer=personnummer)


def axes_username(request, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the name axes locks out, logs and stores. A citizen's username holds
    the personal identity number ("citizen-<number>"), which must not reach logs or axes' tables:
    citizens are all counted under the test e-ID marker (per client address)."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "data", request.POST).get("username")
    if username and str(username).startswith("citizen-"):
        return AXES_USERNAME
    return username
