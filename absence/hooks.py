"""Callables run inside the routing transaction after deliveries are made, once per batch of messages:
`hook(*, routed)` with `routed` a list of (message, the deliveries made for it). A hook reads and
writes in a fixed number of queries per batch and only enqueues side effects on commit. Registered
at import time by the modules that need them (absence.apps.AbsenceConfig.ready registers the
out-of-office reply; integrations.apps the webhooks)."""

AFTER_ROUTING: list = []


def register(hook) -> None:
    """Add a hook once (ready() may run more than once in some test set-ups)."""
    if hook not in AFTER_ROUTING:
        AFTER_ROUTING.append(hook)
