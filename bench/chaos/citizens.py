"""Citizens posting through the case form over HTTP, as the portal's browser does: a session cookie
(the session is made in the database as the portal's e-ID login makes it, bench.phases does the same
with the test client), the form's CSRF token, one POST per message. Every message carries a token,
so the run can find each one in the database, or miss it."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
BODY = "Hej! Jag har en fråga om mitt ärende ({token}), vänliga hälsningar."
TOKEN = re.compile(r"\(([0-9a-f]{16})\)")


@dataclass
class Citizen:
    user_id: int
    case_url: str
    handler_id: int
    away_handler: bool  # the case's handler is away during the run
    session: requests.Session = field(default_factory=requests.Session)
    csrf: str = ""
    posts: int = 0


@dataclass
class Post:
    fault: str
    token: str
    sent_at: float
    status: int  # 0: no answer (connection refused, timeout)
    accepted: bool  # 302 back to the case: the portal told the citizen it was sent


def log_in(citizens: list[Citizen], base_url: str, session_keys: dict[int, str]) -> None:
    """Give each citizen their session cookie and read the form's CSRF token once (4 at a time)."""

    def one(citizen: Citizen) -> None:
        citizen.session.cookies.set("sessionid", session_keys[citizen.user_id], domain="127.0.0.1")
        page = citizen.session.get(base_url + citizen.case_url, timeout=30)
        found = CSRF.search(page.text)
        if page.status_code != 200 or not found:
            raise RuntimeError(f"citizen {citizen.user_id}: case page answered {page.status_code}")
        citizen.csrf = found.group(1)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, citizens))


class Poster:
    """Posts at a steady rate from a few threads, choosing the citizen who has posted least (the
    portal allows CITIZEN_POST_RATE, 20 an hour, per citizen), every other message or so from a
    citizen whose handler is away."""

    def __init__(self, citizens: list[Citizen], base_url: str, threads: int = 4):
        self.all = citizens
        self.focus: list[Citizen] = []  # when set, every fifth message comes from one of these
        self.away = [c for c in citizens if c.away_handler]
        self.present = [c for c in citizens if not c.away_handler]
        self.base_url = base_url
        self.pool = ThreadPoolExecutor(threads)
        self.lock = threading.Lock()
        self.posts: list[Post] = []
        self.count = 0

    def _next(self) -> Citizen:
        with self.lock:
            self.count += 1
            if self.focus and self.count % 5 == 4:
                group = self.focus
            else:
                group = self.away if self.count % 5 in (0, 2) and self.away else self.present
            citizen = min(group, key=lambda c: c.posts)
            citizen.posts += 1
            return citizen

    def _post(self, fault: str) -> None:
        citizen = self._next()
        token = uuid.uuid4().hex[:16]
        sent = time.time()
        status, accepted = 0, False
        try:
            response = citizen.session.post(
                self.base_url + citizen.case_url,
                data={"csrfmiddlewaretoken": citizen.csrf, "body": BODY.format(token=token)},
                allow_redirects=False,
                timeout=30,
            )
            status = response.status_code
            accepted = status == 302 and response.headers.get("Location", "").endswith("#latest")
        except requests.RequestException:
            pass
        with self.lock:
            self.posts.append(Post(fault, token, sent, status, accepted))

    def run(self, fault: str, rate: float, until: Callable[[], bool]) -> int:
        """Post `rate` messages a second until `until()` says stop; waits for the answers."""
        futures, started, n = [], time.monotonic(), 0
        while not until():
            futures.append(self.pool.submit(self._post, fault))
            n += 1
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        for future in futures:
            future.result()
        return n

    def run_for(self, fault: str, rate: float, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        return self.run(fault, rate, lambda: time.monotonic() >= deadline)

    def of(self, fault: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.fault == fault]

    def close(self) -> None:
        self.pool.shutdown(wait=True)
