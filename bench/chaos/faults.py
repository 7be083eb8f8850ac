"""The faults, each with citizens posting throughout: the worker SIGKILLed again and again during a
burst, Redis stopped, PostgreSQL stopped, worker and beat sent SIGTERM mid-burst. Each returns the
moment from which "seconds until everything was routed" is counted."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .citizens import Poster
from .servers import Postgres, Processes, Redis


@dataclass
class Settings:
    kills: int = 20
    burst_rate: float = 5.0
    steady_rate: float = 2.0
    redis_outage_s: float = 60.0
    postgres_outage_s: float = 30.0
    sigterm_burst_s: float = 24.0
    routed_cap_s: float = 90.0  # the longest wait for routing after a fault (the sweep: every 60 s)

    @classmethod
    def short(cls) -> Settings:
        return cls(
            kills=6, redis_outage_s=10.0, postgres_outage_s=10.0, sigterm_burst_s=15.0, routed_cap_s=60.0
        )


@dataclass
class Stage:
    poster: Poster
    processes: Processes
    redis: Redis
    postgres: Postgres
    settings: Settings
    end_absence_in: Callable[[float], None]  # ends the designated absence that many seconds from now
    ending_handler_id: int
    rng: random.Random


def _posting(stage: Stage, fault: str, rate: float) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=stage.poster.run, args=(fault, rate, stop.is_set), daemon=True)
    thread.start()
    return stop, thread


def worker_kills(stage: Stage, fault: str) -> float:
    """SIGKILL the worker (its whole process group) `kills` times during a burst, each time once it
    has run 1 to 4 s; counted from the burst's last answer."""
    stop, thread = _posting(stage, fault, stage.settings.burst_rate)
    worker = stage.processes.worker
    time.sleep(2)
    kills = 0
    while kills < stage.settings.kills:
        run_for = stage.rng.uniform(1.0, 4.0)
        while worker.uptime() < run_for:
            time.sleep(0.05)
        kills += worker.kill(signal.SIGKILL)
        time.sleep(0.2)
    time.sleep(2)
    stop.set()
    thread.join()
    return time.time()


def redis_outage(stage: Stage, fault: str) -> float:
    """Redis stopped (SIGTERM, as `docker stop`) for `redis_outage_s` while citizens post; an absence
    ends halfway through the outage, and a fifth of the messages go to that handler's citizens.
    Counted from Redis's return."""
    outage = stage.settings.redis_outage_s
    poster = stage.poster
    poster.focus = [c for c in poster.all if c.handler_id == stage.ending_handler_id]
    stop, thread = _posting(stage, fault, stage.settings.steady_rate)
    time.sleep(5)
    stage.end_absence_in(outage / 2 + 1)
    stage.redis.stop()
    time.sleep(outage)
    stage.redis.start()
    back = time.time()
    time.sleep(10)
    stop.set()
    thread.join()
    poster.focus = []
    return back


def postgres_outage(stage: Stage, fault: str) -> float:
    """PostgreSQL stopped (fast shutdown) for `postgres_outage_s` while citizens post. Counted from
    its return."""
    stop, thread = _posting(stage, fault, stage.settings.steady_rate)
    time.sleep(5)
    stage.postgres.stop()
    time.sleep(stage.settings.postgres_outage_s)
    stage.postgres.start()
    back = time.time()
    time.sleep(10)
    stop.set()
    thread.join()
    return back


def worker_beat_sigterm(stage: Stage, fault: str) -> float:
    """SIGTERM to worker and beat a third of the way into a burst (they stop, and are started again
    as a restart policy would). Counted from the burst's last answer."""
    stop, thread = _posting(stage, fault, stage.settings.burst_rate)
    time.sleep(stage.settings.sigterm_burst_s / 3)
    stage.processes.worker.kill(signal.SIGTERM)
    stage.processes.beat.kill(signal.SIGTERM)
    time.sleep(stage.settings.sigterm_burst_s * 2 / 3)
    stop.set()
    thread.join()
    return time.time()


# name, what it does, the fault, target seconds until routed (counted from the returned moment)
FAULTS = [
    ("worker SIGKILL", "worker SIGKILLed during a burst", worker_kills, 10.0),
    ("Redis stopped", "Redis stopped while citizens post", redis_outage, 30.0),
    ("PostgreSQL stopped", "PostgreSQL stopped while citizens post", postgres_outage, None),
    ("worker+beat SIGTERM", "worker and beat sent SIGTERM mid-burst", worker_beat_sigterm, 10.0),
]
