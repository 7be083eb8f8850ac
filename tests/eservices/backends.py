"""Test doubles for outgoing e-mail and SMS: they fail a set number of times, then deliver to the
in-memory outboxes (django.core.mail.outbox, eservices.sms.outbox)."""

from __future__ import annotations

import smtplib
import threading

from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend

from eservices.sms import LocmemSmsBackend

_lock = threading.Lock()


class Flaky:
    failures_left = 0
    calls = 0

    @classmethod
    def reset(cls, failures: int) -> None:
        with _lock:
            cls.failures_left = failures
            cls.calls = 0

    @classmethod
    def attempt(cls) -> None:
        with _lock:
            cls.calls += 1
            if cls.failures_left != 0:
                cls.failures_left -= 1
                raise smtplib.SMTPServerDisconnected("mail server unreachable")


class FlakyEmail(Flaky):
    pass


class FlakySms(Flaky):
    pass


class FlakyEmailBackend(LocmemEmailBackend):
    def send_messages(self, messages):
        FlakyEmail.attempt()
        return super().send_messages(messages)


class FlakySmsBackend(LocmemSmsBackend):
    def send(self, to: str, text: str) -> None:
        FlakySms.attempt()
        super().send(to, text)
