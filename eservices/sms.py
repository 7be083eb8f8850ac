"""Pluggable SMS backends (settings.SMS_BACKEND). A production backend wraps the municipality's SMS
gateway with the same `send(to, text)` signature."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

outbox: list[tuple[str, str]] = []


class ConsoleSmsBackend:
    def send(self, to: str, text: str) -> None:
        # The number is personal data: log only that a text went out.
        logger.info("SMS sent (%s characters)", len(text))
        print(f"[sms] to …{to[-2:]}: {text}")  # noqa: T201


class LocmemSmsBackend:
    def send(self, to: str, text: str) -> None:
        outbox.append((to, text))


def get_backend():
    return import_string(settings.SMS_BACKEND)()
