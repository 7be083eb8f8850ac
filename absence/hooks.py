"""Callables run inside route_message's transaction after deliveries are made:
`hook(*, message, deliveries)`. Registered at import time by the modules that need them
(absence.apps.AbsenceConfig.ready registers the out-of-office reply)."""

AFTER_ROUTING: list = []


def register(hook) -> None:
    """Add a hook once (ready() may run more than once in some test set-ups)."""
    if hook not in AFTER_ROUTING:
        AFTER_ROUTING.append(hook)
