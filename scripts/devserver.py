#!/usr/bin/env python3
"""Run lifemsg for a first trial: web server, Celery worker and beat, stopped together by Ctrl-C.

`make run` calls this after migrate and seed_demo. It starts, each in its own process group,

    web     manage.py runserver HOST:PORT          (Django's development server)
    worker  celery -A lifemsg worker
    beat    celery -A lifemsg beat                 (the sweeps and absence ticks)

prefixes their output with the service name and prints the address once the web server answers.
A worker or beat that dies is started again, with a line saying so, after a pause that doubles with
each quick death (1 s up to 30 s; back to 1 s once it has run a minute), so a crash loop does not
spin; the web server dying stops everything. Ctrl-C / SIGTERM stops all: SIGTERM first (Celery
finishes the task in hand, a warm shutdown takes a few seconds), SIGKILL for whatever is left after a
grace period. A second Ctrl-C skips the grace period.

Kept rather than honcho (issue 22): honcho stops everything when one process exits and restarts none.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 15
# Restart pauses: the first, the longest, and how long a process must run for the next to be the first.
RESTART_FIRST_S, RESTART_MAX_S, RESTART_STABLE_S = 1.0, 30.0, 60.0
COLOURS = {"web": "\033[36m", "worker": "\033[35m", "beat": "\033[33m"}
RESET = "\033[0m"
print_lock = threading.Lock()


def say(message: str) -> None:
    with print_lock:
        print(f"[run] {message}", flush=True)


def pump(name: str, stream, tty: bool) -> None:
    """Copy a child's output to ours, line by line, with a name prefix."""
    prefix = f"{COLOURS[name]}{name:>6}{RESET} | " if tty else f"{name:>6} | "
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\n")
        with print_lock:
            sys.stdout.write(prefix + line + "\n")
            sys.stdout.flush()
    stream.close()


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def exit_reason(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


@dataclass
class Service:
    name: str
    argv: list[str]
    restart: bool  # started again when it dies (worker, beat); else its death stops everything (web)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    delay: float = 0.0
    restarts: int = 0


class Supervisor:
    def __init__(self, host: str, port: int, logins: Path | None):
        self.host, self.port, self.logins = host, port, logins
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "lifemsg"]
        self.services = [
            Service("web", [python, "manage.py", "runserver", f"{host}:{port}"], restart=False),
            Service("worker", [*celery, "worker", "-l", "info", "--concurrency", "2"], restart=True),
            Service("beat", [*celery, "beat", "-l", "info"], restart=True),
        ]
        self.stopping = threading.Event()
        self.hurry = threading.Event()
        self.tty = sys.stdout.isatty()

    def start(self, service: Service) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.tty:
            env.setdefault("FORCE_COLOR", "1")
        proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            service.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: the terminal's Ctrl-C comes to us only
        )
        service.proc, service.started_at, service.restart_at = proc, time.monotonic(), None
        threading.Thread(target=pump, args=(service.name, proc.stdout, self.tty), daemon=True).start()
        if service.name != "web":
            say(f"{service.name} started (pid {proc.pid})")

    def on_signal(self, signum, _frame) -> None:
        if self.stopping.is_set():
            self.hurry.set()
            return
        say(f"{signal.Signals(signum).name} received, stopping (Ctrl-C again to force) ...")
        self.stopping.set()

    def banner(self) -> None:
        url = f"http://{self.host}:{self.port}/"
        lines = ["", "=" * 72, f"  lifemsg is running at {url}", ""]
        if self.logins and self.logins.exists() and self.logins.stat().st_size:
            where = self.logins.relative_to(ROOT) if self.logins.is_relative_to(ROOT) else self.logins
            lines += [f"  From `manage.py seed_demo` (kept in {where}):", ""]
            lines += ["  " + line for line in self.logins.read_text(encoding="utf-8").splitlines()[:40]]
        else:
            lines += ["  Demo logins: see the output of `manage.py seed_demo` above."]
        lines += ["", "  Ctrl-C stops the web server, the Celery worker and beat.", "=" * 72, ""]
        with print_lock:
            print("\n".join(lines), flush=True)

    def wait_for_web(self) -> None:
        deadline = time.monotonic() + 60
        while not self.stopping.is_set() and time.monotonic() < deadline:
            if port_in_use(self.host, self.port):
                self.banner()
                return
            time.sleep(0.3)

    def run(self) -> int:
        if port_in_use(self.host, self.port):
            say(f"{self.host}:{self.port} is already in use (another `make run`?).")
            say("Stop that one, or choose another port: make run PORT=8001")
            return 1
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGHUP, self.on_signal)
        for service in self.services:
            self.start(service)
        threading.Thread(target=self.wait_for_web, daemon=True).start()
        failed = False
        while not self.stopping.is_set():
            for service in self.services:
                if not self.watch(service):
                    failed = True
                    self.stopping.set()
                    break
            self.stopping.wait(0.3)
        self.stop_all()
        return 1 if failed else 0

    def watch(self, service: Service) -> bool:
        """Start again a restartable service that died, once its pause is over. False: stop all."""
        now = time.monotonic()
        if service.proc is None:
            if service.restart_at is not None and now >= service.restart_at:
                self.start(service)
            return True
        code = service.proc.poll()
        if code is None:
            return True
        if not service.restart:
            say(f"{service.name} {exit_reason(code)}; stopping the rest.")
            return False
        # What the dead main process leaves in its group (Celery's pool processes) goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(service.proc.pid, signal.SIGKILL)
        stable = now - service.started_at >= RESTART_STABLE_S
        quick_again = service.delay and not stable
        service.delay = min(service.delay * 2, RESTART_MAX_S) if quick_again else RESTART_FIRST_S
        service.restarts += 1
        service.proc, service.restart_at = None, now + service.delay
        say(
            f"{service.name} {exit_reason(code)}; restarting it in {service.delay:.0f} s "
            f"(restart {service.restarts})."
        )
        return True

    def stop_all(self) -> None:
        running = [s for s in self.services if s.proc is not None]
        for service in running:
            if service.proc.poll() is None:
                # Celery: SIGTERM to the main process is a warm shutdown that takes the pool with it.
                # runserver: its autoreloader parent and the serving child share the group, so the
                # whole group gets the signal.
                with contextlib.suppress(ProcessLookupError):
                    if service.name == "web":
                        os.killpg(service.proc.pid, signal.SIGTERM)
                    else:
                        service.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and not self.hurry.is_set():
            if all(s.proc.poll() is not None for s in running):
                break
            time.sleep(0.2)
        for service in running:
            if service.proc.poll() is None:
                say(f"{service.name} did not stop in time; killing it.")
            # Anything left in the group (runserver's child, Celery pool processes) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(service.proc.pid, signal.SIGKILL)
        for service in running:
            service.proc.wait()
        say("stopped.")


def main() -> int:
    parser = argparse.ArgumentParser(description="Run web + Celery worker/beat until Ctrl-C.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--logins", type=Path, help="file holding seed_demo's output, shown in the banner")
    args = parser.parse_args()
    return Supervisor(args.host, args.port, args.logins).run()


if __name__ == "__main__":
    sys.exit(main())
