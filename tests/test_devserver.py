"""`make run`'s supervisor (scripts/devserver.py), run as make runs it: a killed worker or beat is
started again with a line saying so, a second quick death waits longer, the web server keeps serving
throughout, and Ctrl-C still stops everything."""

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    """scripts/devserver.py on a free port with make run's settings in a folder of its own."""

    def __init__(self, var: Path):
        self.port = free_port()
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
        }
        env.update(DJANGO_SETTINGS_MODULE="lifemsg.settings.local", LIFEMSG_VAR_DIR=str(var))
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/devserver.py", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.matched: set[int] = set()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text: str, timeout: float = 60.0) -> str:
        """The first line with `text` not yet matched by an earlier expect (output from the
        services interleaves, so lines are matched in any order)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, line in enumerate(self.seen):
                if text in line and i not in self.matched:
                    self.matched.add(i)
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no line with {text!r} in {timeout} s; output:\n" + "\n".join(self.seen[-60:])
                )
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=0.5))

    def started_pid(self, name: str) -> int:
        return int(self.expect(f"[run] {name} started (pid ").rsplit("pid ", 1)[1].rstrip(")"))

    def web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as r:
                return r.status < 600
        except urllib.error.HTTPError:
            return True  # an answer all the same
        except OSError:
            return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def run(tmp_path):
    started = Run(tmp_path)
    yield started
    if started.proc.poll() is None:
        started.proc.send_signal(signal.SIGINT)
        started.proc.send_signal(signal.SIGINT)
        started.proc.wait(timeout=30)


def test_killed_worker_and_beat_are_restarted_and_ctrl_c_stops_all(run):
    worker = run.started_pid("worker")
    beat = run.started_pid("beat")
    run.expect("lifemsg is running at")
    run.expect("ready.")  # the worker's own line

    os.kill(worker, signal.SIGKILL)
    run.expect("[run] worker killed by SIGKILL; restarting it in 1 s (restart 1).")
    second = run.started_pid("worker")
    assert second != worker
    os.kill(second, signal.SIGKILL)  # dies again at once: the pause doubles
    run.expect("[run] worker killed by SIGKILL; restarting it in 2 s (restart 2).")
    third = run.started_pid("worker")

    os.kill(beat, signal.SIGTERM)
    run.expect("[run] beat exited with status 0; restarting it in 1 s (restart 1).")
    new_beat = run.started_pid("beat")
    assert run.web_answers()
    assert run.proc.poll() is None

    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(timeout=40) == 0
    run.expect("[run] stopped.")
    assert not alive(third) and not alive(new_beat)
    assert not run.web_answers()
