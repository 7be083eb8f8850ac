"""The servers a chaos run starts for itself, all on loopback and free ports: a PostgreSQL cluster
(initdb as the `postgres` user in a temporary folder), redis-server with an append-only file as
production's compose runs it, gunicorn, and a Celery worker and beat kept running by `Supervised`
the way compose's `restart: unless-stopped` keeps them, counting every restart."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import free_port, wait_http
from bench.load import stop_process as stop_group

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Seconds before a dead worker or beat is started again (compose's restart policy begins at 0.1 s
# and doubles; the chaos run kills far more often than a real worker dies, so it stays flat).
RESTART_DELAY_S = 0.5


def _as_postgres(command: str) -> None:
    subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True, capture_output=True)


class Postgres:
    """A cluster of the run's own: `stop()` and `start()` are the fault, `close()` removes it."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir()
        os.chown(folder, *_postgres_ids())  # initdb runs as postgres (the parent must be 755)
        self.data, self.sockets = folder / "pgdata", folder / "pgsock"
        self.sockets.mkdir()
        os.chown(self.sockets, *_postgres_ids())
        self.port = free_port()
        self.log = folder / "postgres.log"
        self.log.touch()
        os.chown(self.log, *_postgres_ids())
        _as_postgres(f"initdb -D {shlex.quote(str(self.data))} -A trust -U postgres -E UTF8 >/dev/null")
        self.start()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/lifemsg_chaos"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        _as_postgres(
            f"pg_ctl -D {shlex.quote(str(self.data))} -l {shlex.quote(str(self.log))} -w -t 60 "
            f"-o {shlex.quote(options)} start >/dev/null"
        )

    def stop(self) -> None:
        _as_postgres(f"pg_ctl -D {shlex.quote(str(self.data))} -m fast -w stop >/dev/null")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE lifemsg_chaos")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _as_postgres(f"pg_ctl -D {shlex.quote(str(self.data))} -m immediate -w stop >/dev/null")


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


class Redis:
    """redis-server with an append-only file, as compose runs it, so a stop keeps the queue."""

    def __init__(self, folder: Path):
        self.folder = folder / "redis"
        self.folder.mkdir()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 (the server's, closed with it)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--appendonly", "yes",
             "--save", "", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not answer")

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)  # SIGTERM: redis writes its append-only file and exits
            self.proc = None

    close = stop


@dataclass
class Supervised:
    """A Celery worker or beat, started again RESTART_DELAY_S after it dies. `kill()` is a fault:
    deaths it caused are `expected`; any other death is counted in `unexpected` (a real install
    would have needed its restart policy, or an operator)."""

    name: str
    argv: list[str]
    env: dict
    log: Path
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: list[tuple[float, bool]] = field(default_factory=list)  # (when, expected)
    pending_kills: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.monotonic()

    def kill(self, signum: int) -> bool:
        """Send `signum`; False if there was no live process to send it to."""
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                return False
            self.pending_kills += 1
            # SIGKILL as a container's kill does: the whole group (the pool too). SIGTERM to the main
            # process only, as `docker stop` sends it: a warm shutdown.
            with contextlib.suppress(ProcessLookupError):
                if signum == signal.SIGKILL:
                    os.killpg(self.proc.pid, signum)
                else:
                    self.proc.send_signal(signum)
            return True

    def watch(self) -> None:
        with self.lock:
            if self.proc is None or self.proc.poll() is None:
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # what the main process left behind
            expected = self.pending_kills > 0
            self.pending_kills = max(0, self.pending_kills - 1)
            self.restarts.append((time.time(), expected))
            with open(self.log, "a") as log:
                kind = "killed by the chaos run" if expected else "DIED BY ITSELF"
                log.write(f"\n=== chaos: {self.name} exited ({self.proc.returncode}), {kind}; restarting\n")
            self.proc = None
        time.sleep(RESTART_DELAY_S)
        self.start()

    def uptime(self) -> float:
        alive = self.proc is not None and self.proc.poll() is None
        return time.monotonic() - self.started_at if alive else 0.0

    def stop(self) -> None:
        with self.lock:
            if self.proc is not None:
                stop_group(self.proc)
                self.proc = None


class Processes:
    """gunicorn, worker and beat, with a thread restarting the last two when they die."""

    def __init__(self, folder: Path, env: dict):
        self.env, self.folder = env, folder
        self.port = free_port()
        celery = [str(BIN / "celery"), "-A", "lifemsg"]
        self.worker = Supervised(
            "worker",
            [*celery, "worker", "--loglevel", "info", "--concurrency", "2"],
            env,
            folder / "worker.log",
        )
        self.beat = Supervised("beat", [*celery, "beat", "--loglevel", "info"], env, folder / "beat.log")
        self.web: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.folder / "gunicorn.log", "ab") as log:
            self.web = subprocess.Popen(
                [str(BIN / "gunicorn"), "lifemsg.wsgi:application", "--workers", "2", "--timeout", "60",
                 "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "-", "--error-logfile", "-"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.worker.start()
        self.beat.start()
        self.watcher.start()
        wait_http(f"{self.url}/healthz", timeout=120)

    def _watch(self) -> None:
        while not self.stopping.wait(0.2):
            self.worker.watch()
            self.beat.watch()

    def close(self) -> None:
        self.stopping.set()
        self.watcher.join(timeout=10)
        for service in (self.beat, self.worker):
            service.stop()
        if self.web is not None:
            stop_group(self.web)
