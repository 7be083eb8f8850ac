#!/usr/bin/env python3
"""Run lifemsg for a first trial: web server, Celery worker and beat, stopped together by Ctrl-C.

`make run` calls this after migrate and seed_demo. It starts, each in its own process group,

    web     manage.py runserver HOST:PORT          (Django's development server)
    worker  celery -A lifemsg worker -B            (worker with embedded beat)

prefixes their output with the service name, prints the address once the web server answers, and
on Ctrl-C / SIGTERM (or when either process dies) stops both: SIGTERM first (Celery finishes the
task in hand, a warm shutdown takes a few seconds), SIGKILL for whatever is left after a grace
period. A second Ctrl-C skips the grace period.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 15
COLOURS = {"web": "\033[36m", "worker": "\033[35m"}
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


class Supervisor:
    def __init__(self, host: str, port: int, logins: Path | None):
        self.host, self.port, self.logins = host, port, logins
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()
        self.hurry = threading.Event()
        self.tty = sys.stdout.isatty()

    def start(self, name: str, argv: list[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.tty:
            env.setdefault("FORCE_COLOR", "1")
        proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: the terminal's Ctrl-C comes to us only
        )
        self.children[name] = proc
        threading.Thread(target=pump, args=(name, proc.stdout, self.tty), daemon=True).start()

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
            if any(proc.poll() is not None for proc in self.children.values()):
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
        python = sys.executable
        self.start("web", [python, "manage.py", "runserver", f"{self.host}:{self.port}"])
        self.start(
            "worker",
            [python, "-m", "celery", "-A", "lifemsg", "worker", "-B", "-l", "info", "--concurrency", "2"],
        )
        threading.Thread(target=self.wait_for_web, daemon=True).start()

        failed = None
        while not self.stopping.is_set():
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    failed = name
                    say(f"{name} exited with status {proc.returncode}; stopping the rest.")
                    self.stopping.set()
                    break
            self.stopping.wait(0.3)
        self.stop_all()
        return 1 if failed else 0

    def stop_all(self) -> None:
        for name, proc in self.children.items():
            if proc.poll() is None:
                # Celery: SIGTERM to the main process is a warm shutdown that takes beat and the
                # pool with it. runserver: its autoreloader parent and the serving child share the
                # group, so the whole group gets the signal.
                try:
                    if name == "worker":
                        proc.send_signal(signal.SIGTERM)
                    else:
                        os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and not self.hurry.is_set():
            if all(proc.poll() is not None for proc in self.children.values()):
                break
            time.sleep(0.2)
        for name, proc in self.children.items():
            if proc.poll() is None:
                say(f"{name} did not stop in time; killing it.")
            # Anything left in the group (runserver's child, Celery pool processes) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.children.values():
            proc.wait()
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
