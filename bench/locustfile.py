"""Locust scenarios for the load and capacity phases (bench/load.py, bench/capacity.py start them
headless): each simulated handläggare is a different member of staff who logs in once, then keeps
browsing their inbox → a thread → a reply to the citizen (the case's handler may send in every thread
of their personal inbox). With BENCH_CITIZENS set, simulated citizens also write in their own case
now and then, through the citizen portal's form, as sessions of their own (bench/capacity.py logs
them in beforehand: a citizen signs in with e-legitimation, which a load test cannot script).

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
from requests.cookies import create_cookie

PASSWORD = os.environ["BENCH_PASSWORD"]
HANDLERS = json.loads(os.environ["BENCH_HANDLERS"])  # [[username, personal mailbox id], ...]
# [[session cookie name, session key, case page path], ...]; none: handläggare only.
CITIZENS = json.loads(os.environ.get("BENCH_CITIZENS") or "[]")
# Citizens among the simulated users: one in ten (each writes far less often than staff click).
CITIZEN_WEIGHT = 1
_next = itertools.count()
_next_citizen = itertools.count()

THREAD_LINK = re.compile(r'href="(/[^"]*/trad/\d+/)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CITIZEN_MESSAGE = "Hej! Här kommer underlaget till min ansökan, vänliga hälsningar."
REPLY = "Tack för ditt meddelande, jag återkommer i veckan."
SEND_FORM = re.compile(r'<form method="post" action="([^"]+/skicka/)"')


class Handler(FastHttpUser):
    weight = 9
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


class CitizenWriter(FastHttpUser):
    """A citizen who opens their case and writes a message, then reads for a while."""

    abstract = not CITIZENS  # the load phase runs handläggare only
    weight = CITIZEN_WEIGHT
    wait_time = between(5, 15)

    def on_start(self) -> None:
        cookie, key, self.case_path = CITIZENS[next(_next_citizen) % len(CITIZENS)]
        host = self.host.split("://", 1)[-1].split(":", 1)[0]
        self.client.cookiejar.set_cookie(create_cookie(cookie, key, domain=host, path="/"))

    @task
    def write(self) -> None:
        with self.client.get(self.case_path, name="citizen case", catch_response=True) as page:
            token = CSRF.search(page.text or "")
            if page.status_code != 200 or token is None:
                page.failure(f"citizen case page answered {page.status_code} without a form")
                return
        with self.client.post(
            self.case_path,
            {"body": CITIZEN_MESSAGE, "csrfmiddlewaretoken": token.group(1)},
            name="citizen message",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"citizen message answered {response.status_code}")
