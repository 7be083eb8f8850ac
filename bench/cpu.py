"""CPU seconds spent during a measured phase, by kind of process (psutil): the posting processes,
the Celery worker, PostgreSQL and Redis. It says where a flow's time goes on a machine whose cores
are shared, which wall-clock rates alone cannot."""

from __future__ import annotations

import threading
from collections import Counter

import psutil

KINDS = (
    # The load generator of the load and capacity phases: on the same cores, and not the server's.
    ("locust", lambda cmd: "bin/locust " in cmd),
    ("celery", lambda cmd: "celery" in cmd and " worker" in cmd),
    ("web", lambda cmd: "bench.phases" in cmd or "gunicorn" in cmd),
    ("postgres", lambda cmd: cmd.startswith("postgres")),
    ("redis", lambda cmd: "redis-server" in cmd),
)


def _kind(cmd: str) -> str:
    for name, match in KINDS:
        if match(cmd):
            return name
    return "other"


def _snapshot() -> dict[int, tuple[float, str, float]]:
    """{pid: (CPU seconds so far, command line, start time)}. The start time tells a process from a
    later one with the same pid; the command line cannot: PostgreSQL's backends rewrite theirs with
    what they are doing ("idle", "INSERT", …)."""
    found = {}
    # Processes gone or closed to us meanwhile come with None attributes instead of raising.
    for proc in psutil.process_iter(["cmdline", "name", "create_time", "cpu_times"]):
        info = proc.info
        if info["cpu_times"] is None or info["create_time"] is None:
            continue
        cmd = " ".join(info["cmdline"] or []).strip() or f"[{info['name']}]"  # a kernel thread: its name
        found[proc.pid] = (info["cpu_times"].user + info["cpu_times"].system, cmd, info["create_time"])
    return found


class CpuSampler:
    """`with CpuSampler() as cpu: ...` then `cpu.seconds`: {kind: CPU seconds used in the block}.
    Processes that start and end inside the block are caught by sampling every `interval` s."""

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.seconds: dict[str, float] = {}
        self.top_other: list[tuple[str, float]] = []
        self.other_seconds: dict[str, float] = {}
        self._stop = threading.Event()

    def __enter__(self) -> CpuSampler:
        self._base = _snapshot()
        self._last = dict(self._base)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _merge(self, snapshot: dict[int, tuple[float, str, float]]) -> None:
        for pid, (cpu, cmd, started) in snapshot.items():
            known = self._last.get(pid)
            if known and known[2] == started and cmd.startswith("[") and not known[1].startswith("["):
                # An exited process not yet reaped (a poster at its end) has no command line any
                # more: it is still the process seen before, not an unknown one from zero.
                cmd = known[1]
            self._last[pid] = (cpu, cmd, started)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._merge(_snapshot())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._merge(_snapshot())
        totals: Counter = Counter()
        other: Counter = Counter()
        for pid, (cpu, cmd, started) in self._last.items():
            before = self._base.get(pid)
            # A process started inside the block (a pid reused too) counts from zero; one that ran
            # before counts from where it was, whatever its command line says now.
            start = before[0] if before and before[2] == started else 0.0
            kind = _kind(cmd)
            totals[kind] += cpu - start
            if kind == "other":
                other[cmd[:60]] += cpu - start
        self.seconds = {kind: round(value, 1) for kind, value in sorted(totals.items())}
        self.other_seconds = dict(other)
        # Which processes "other" is, so a busy neighbour on the machine shows by name.
        self.top_other = [(cmd, round(value, 1)) for cmd, value in other.most_common(5) if value >= 0.1]
