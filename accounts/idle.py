"""Idle timeout helpers. A view decorated with @idle_passive (background polling such as the unread
count) does not count as user activity, so polling never keeps an unattended session alive."""

import time
from functools import wraps

from django.conf import settings

# The session key that holds the time of the last activity (IdleTimeoutMiddleware keeps it current).
LAST_ACTIVITY_KEY = "last_activity"


def idle_passive(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return view(request, *args, **kwargs)

    wrapper.idle_passive = True
    return wrapper


def idle_seconds_for(user) -> int:
    if getattr(user, "is_citizen", False):
        return settings.CITIZEN_SESSION_IDLE_SECONDS
    return settings.STAFF_SESSION_IDLE_SECONDS


def mark_activity_at_login(sender, request, user, **kwargs) -> None:
    """Logging in is activity: stamp it with the login's own session write."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY_KEY] = time.time()
