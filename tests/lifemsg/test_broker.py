"""`make run`'s filesystem broker (lifemsg.broker): a worker meets empty and half-written message
files without dying, and processes each message once it is complete, or puts it aside, never loses it.
The workers are real (`celery worker` subprocesses of tests/lifemsg/fsbroker_app.py)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kombu.transport import filesystem

import lifemsg.broker
from tests.lifemsg.fsbroker_app import make_app

ROOT = Path(__file__).resolve().parents[2]
STOCK = "kombu.transport.filesystem:Transport"


def done(root: Path) -> list[str]:
    path = root / "done.txt"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def wait_for(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def message_bytes(root: Path, token: str) -> tuple[str, bytes]:
    """Publish `token` with no worker running; take its file out of the queue: (name, contents)."""
    app, queue = make_app(root), root / "queue"
    before = set(os.listdir(queue))
    app.send_task("fsbroker.record", args=[token])
    (name,) = set(os.listdir(queue)) - before
    data = (queue / name).read_bytes()
    (queue / name).unlink()
    return name, data


class Worker:
    def __init__(self, root: Path, transport: str, grace: float):
        env = {
            **os.environ,
            "FSBROKER_DIR": str(root),
            "FSBROKER_TRANSPORT": transport,
            "FSBROKER_GRACE": str(grace),
            "PYTHONPATH": str(ROOT),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.lifemsg.fsbroker_app", "worker", "-P", "solo",
             "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


@pytest.fixture
def start_worker(tmp_path):
    workers = []

    def start(transport: str = lifemsg.broker.__name__ + ":FilesystemTransport", grace: float = 60.0):
        workers.append(Worker(tmp_path, transport, grace))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


def test_worker_survives_empty_and_partial_files_and_processes_them_once_complete(tmp_path, start_worker):
    queue = tmp_path / "queue"
    partial_name, partial = message_bytes(tmp_path, "was-partial")
    empty_name, filled = message_bytes(tmp_path, "was-empty")
    # As kombu's own writer leaves them mid-write: a created, still empty file, and half a message.
    (queue / empty_name).write_bytes(b"")
    (queue / partial_name).write_bytes(partial[: len(partial) // 2])

    worker = start_worker()
    make_app(tmp_path).send_task("fsbroker.record", args=["later"])
    assert wait_for(lambda: "later" in done(tmp_path)), worker.stop()
    assert worker.proc.poll() is None, worker.stop()
    assert sorted(os.listdir(queue)) == sorted([empty_name, partial_name])  # waiting, not dropped

    # The writers finish.
    (queue / partial_name).write_bytes(partial)
    (queue / empty_name).write_bytes(filled)
    assert wait_for(lambda: {"was-partial", "was-empty"} <= set(done(tmp_path))), worker.stop()
    time.sleep(0.5)
    assert sorted(done(tmp_path)) == ["later", "was-empty", "was-partial"]  # each once
    assert worker.proc.poll() is None
    assert os.listdir(queue) == []


def test_a_file_that_stays_truncated_is_put_aside_for_an_operator(tmp_path, start_worker):
    name, data = message_bytes(tmp_path, "truncated")
    (tmp_path / "queue" / name).write_bytes(data[:10])

    worker = start_worker(grace=1.0)
    make_app(tmp_path).send_task("fsbroker.record", args=["later"])
    assert wait_for(lambda: (tmp_path / "unreadable" / name).exists()), worker.stop()
    assert (tmp_path / "unreadable" / name).read_bytes() == data[:10]
    assert wait_for(lambda: "later" in done(tmp_path)), worker.stop()
    assert worker.proc.poll() is None
    assert "stayed unreadable" in worker.stop()


def test_a_writer_shows_readers_only_complete_files(tmp_path, monkeypatch):
    """The message file appears under its queue name only once it is whole (a rename)."""
    app = make_app(tmp_path)
    queue = tmp_path / "queue"
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append(([n for n in os.listdir(queue) if n.endswith(".msg")], Path(src).read_bytes()))
        return real_replace(src, dst)

    monkeypatch.setattr(lifemsg.broker.os, "replace", replace)
    app.send_task("fsbroker.record", args=["whole"])
    (name,) = os.listdir(queue)
    assert seen == [([], (queue / name).read_bytes())]
    assert name.endswith(".celery.msg")


def test_kombus_own_transport_loses_the_worker_on_an_empty_file(tmp_path, start_worker):
    """What lifemsg.broker is for: kombu's filesystem transport as it stands. If this starts failing,
    kombu has fixed it, and lifemsg.broker may go."""
    name, _ = message_bytes(tmp_path, "x")
    (tmp_path / "queue" / name).write_bytes(b"")
    worker = start_worker(transport=STOCK)
    assert wait_for(lambda: worker.proc.poll() is not None, timeout=30)
    assert "JSONDecodeError" in worker.stop() or worker.proc.returncode != 0


def test_make_run_settings_use_this_transport(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="lifemsg.settings.local", LIFEMSG_VAR_DIR=str(tmp_path))
    code = "from lifemsg.celery import app; c = app.connection_for_write(); print(type(c.default_channel))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "lifemsg.broker.Channel" in out.stdout, out.stderr


def test_canary_kombu_internals_lifemsg_broker_uses():
    channel = filesystem.Channel
    for name in ("_put", "_get", "data_folder_in", "data_folder_out", "processed_folder", "store_processed",
                 "transport_options"):  # fmt: skip
        assert hasattr(channel, name), name
    assert filesystem.Transport.Channel is channel
    assert issubclass(filesystem.ChannelError, Exception)
    assert str(uuid.uuid4())  # the file names' shape: "<ms>_<uuid>.<queue>.msg"
