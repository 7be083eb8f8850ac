"""Locust scenario for the load phase (bench/load.py starts it headless): each simulated user is a
different handläggare who logs in once, then keeps browsing their inbox → a thread → a reply to the
citizen (the case's handler may send in every thread of their personal inbox).

FastHttpUser (geventhttpclient) rather than HttpUser (requests): locust runs on the same two cores
as the server, and the requests-based client spends more CPU per request (5 s against 3 s of CPU
in a 60 s run) for the same requests and the same measured response times."""

from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import FastHttpUser, between, task

PASSWORD = os.environ["BENCH_PASSWORD"]
HANDLERS = json.loads(os.environ["BENCH_HANDLERS"])  # [[username, personal mailbox id], ...]
_next = itertools.count()

THREAD_LINK = re.compile(r'href="(/[^"]*/trad/\d+/)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REPLY = "Tack för ditt meddelande, jag återkommer i veckan."
SEND_FORM = re.compile(r'<form method="post" action="([^"]+/skicka/)"')


class Handler(FastHttpUser):
    # Staff read between clicks; without any pause 20 users would be a stress test, not 20 people.
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.username, self.mailbox_id = HANDLERS[next(_next) % len(HANDLERS)]
        page = self.client.get("/logga-in/", name="login form")
        token = CSRF.search(page.text).group(1)
        with self.client.post(
            "/logga-in/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login of {self.username} answered {response.status_code}")

    @task
    def inbox_thread_reply(self) -> None:
        inbox = self.client.get(f"/brevlador/{self.mailbox_id}/", name="inbox")
        links = THREAD_LINK.findall(inbox.text)
        if not links:
            return
        thread = self.client.get(random.choice(links), name="thread")
        form = SEND_FORM.search(thread.text)
        token = CSRF.search(thread.text)
        if form is None or token is None:
            return
        with self.client.post(
            form.group(1),
            {"citizen-body": REPLY, "csrfmiddlewaretoken": token.group(1)},
            name="reply",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"reply answered {response.status_code}")
