"""A Celery app on the filesystem broker for tests/lifemsg/test_broker.py, without Django: its one
task appends its token to done.txt, so a test sees which messages a real worker processed.
`celery -A tests.lifemsg.fsbroker_app` reads FSBROKER_DIR (the broker's folder), FSBROKER_TRANSPORT
(the transport class) and FSBROKER_GRACE (seconds an unreadable file is waited for)."""

import os
from pathlib import Path

from celery import Celery

TRANSPORT = "lifemsg.broker:FilesystemTransport"


def make_app(root: Path, transport: str = TRANSPORT, grace: float = 60.0) -> Celery:
    for sub in ("queue", "processed", "control"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    app = Celery("fsbroker", set_as_current=False)
    app.conf.update(
        broker_url="filesystem://",
        broker_transport=transport,
        broker_transport_options={
            "data_folder_in": str(root / "queue"),
            "data_folder_out": str(root / "queue"),
            "processed_folder": str(root / "processed"),
            "store_processed": False,
            "control_folder": str(root / "control"),
            "polling_interval": 0.1,
            "unreadable_folder": str(root / "unreadable"),
            "unreadable_grace_seconds": grace,
        },
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
    )

    @app.task(name="fsbroker.record")
    def record(token: str) -> None:
        with open(root / "done.txt", "a", encoding="utf-8") as f:
            f.write(token + "\n")

    return app


if "FSBROKER_DIR" in os.environ:
    app = make_app(
        Path(os.environ["FSBROKER_DIR"]),
        os.environ.get("FSBROKER_TRANSPORT", TRANSPORT),
        float(os.environ.get("FSBROKER_GRACE", "60")),
    )
