"""Rate limits on sending (django-ratelimit, counters in the cache: Redis in production and tests).

Checked in the view only once the form is valid and the message is about to be stored, so a form
sent back with an error costs nothing; the limited form is shown again with its text (HTTP 429)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited

logger = logging.getLogger(__name__)

RATE_LIMITED_MESSAGE = _(
    "You have sent many messages in a short time. Wait a while and try again. What you wrote is still here."
)

# Which setting holds the rate ("<count>/<period>", e.g. "20/h") for each group of sending views.
GROUPS = {
    "citizen-send": "CITIZEN_POST_RATE",
    "staff-send": "STAFF_POST_RATE",
}


def send_rate_exceeded(request, *, group: str) -> bool:
    """Count one send for the logged-in user and say whether it goes over the group's limit.

    A cache that cannot be reached lets the send through: with Redis down, sending must still work
    (the message is stored and the routing sweep delivers it)."""
    rate = getattr(settings, GROUPS[group])
    if not rate:
        return False
    try:
        return is_ratelimited(request, group=group, key="user", rate=rate, method="POST", increment=True)
    except Exception as exc:  # redis.ConnectionError, TimeoutError ... whatever the backend raises
        logger.warning("rate-limit cache unavailable (%s); send allowed", type(exc).__name__)
        return False
