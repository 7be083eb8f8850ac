"""Callables run inside route_message's transaction after deliveries are made:
`hook(*, message, deliveries)`. Registered at import time by the modules that need them."""

AFTER_ROUTING: list = []
