"""Callables run inside thread_mark_handled's transaction: `hook(*, mailbox, thread, user)`.
Registered at import time by apps that react to handling (integrations' webhooks); each must only
enqueue side effects on commit."""

AFTER_HANDLED: list = []
