"""scripts/backup.sh and scripts/restore.sh: a backup of a seeded database and its attachments restores into a
fresh database and folder, and the restore proves itself (counts, checksums, the access log chain)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from absence.routing import route_message
from audit.services import access_log_record
from mailboxes.models import Attachment, Message
from mailboxes.services import internal_thread_start
from tests.mailboxes.conftest import group
from tests.mailboxes.test_access import pdf_attachment

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.skipif(not shutil.which("pg_dump"), reason="needs PostgreSQL's client tools"),
    pytest.mark.postgres_only(reason="scripts/backup.sh and restore.sh back up PostgreSQL (pg_dump)"),
]


def _url(dbname: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@pytest.fixture
def seeded(transactional_db, org):
    """Two messages with PDF attachments and access-log reads, committed (pg_dump sees other sessions)."""
    for subject in ("Underlag", "Komplettering"):
        message = internal_thread_start(
            sender=org.handler_b1,
            recipients=[group(org.unit_a)],
            subject=subject,
            body="Intyg bifogas.",
            attachments=pdf_attachment(org.handler_b1),
        )
        route_message(message_id=message.pk)
        access_log_record(
            user=org.handler_a1,
            action="read_thread",
            route="group_mailbox",
            object_type="thread",
            object_id=message.thread_id,
            thread_id=message.thread_id,
        )
    return org


@pytest.fixture
def fresh_database():
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield _url(name)
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / script), *args],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "lifemsg.settings.test", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _backup_run(tmp_path: Path, attachments_dir: Path) -> subprocess.CompletedProcess:
    return _run(
        "backup.sh",
        DATABASE_URL=_url(connection.settings_dict["NAME"]),
        ATTACHMENTS_DIR=str(attachments_dir),
        BACKUP_DIR=str(tmp_path / "backups"),
    )


def _backup(tmp_path: Path, attachments_dir: Path) -> Path:
    done = _backup_run(tmp_path, attachments_dir)
    assert done.returncode == 0, done.stderr
    [backup] = (tmp_path / "backups").glob("lifemsg-*")
    return backup


def _restore(backup: Path, database_url: str, folder: Path) -> subprocess.CompletedProcess:
    return _run(
        "restore.sh",
        str(backup),
        DATABASE_URL=database_url,
        ATTACHMENTS_DIR=str(folder),
        MANAGE=f"{sys.executable} manage.py",
    )


def test_a_backup_restores_into_a_fresh_database_and_folder_and_verifies(seeded, tmp_path, fresh_database):
    backup = _backup(tmp_path, Path(settings.PRIVATE_MEDIA_ROOT))
    manifest = (backup / "manifest").read_text()
    assert f"messages={Message.objects.count()}\n" in manifest
    assert f"attachments={Attachment.objects.count()}\n" in manifest

    restored = _restore(backup, fresh_database, tmp_path / "restored")

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Backup verifies" in restored.stdout
    with psycopg.connect(fresh_database) as db:
        assert db.execute("SELECT count(*) FROM mailboxes_message").fetchone()[0] == Message.objects.count()
    for attachment in Attachment.objects.all():
        with attachment.file.open("rb") as original:
            assert (tmp_path / "restored" / attachment.file.name).read_bytes() == original.read()


def test_a_backup_pointed_at_the_wrong_attachments_folder_fails_at_once(seeded, tmp_path):
    (tmp_path / "wrong-folder").mkdir()

    done = _backup_run(tmp_path, tmp_path / "wrong-folder")

    assert done.returncode != 0
    assert "wrong folder?" in done.stderr
    assert not list((tmp_path / "backups").glob("lifemsg-*"))


def test_a_backup_without_its_attachments_does_not_verify(seeded, tmp_path, fresh_database):
    backup = _backup(tmp_path, Path(settings.PRIVATE_MEDIA_ROOT))
    empty = tmp_path / "empty"
    empty.mkdir()
    subprocess.run(["tar", "-C", str(empty), "-cf", str(backup / "attachments.tar"), "."], check=True)
    (backup / "SHA256SUMS").write_text("")

    restored = _restore(backup, fresh_database, tmp_path / "restored")

    assert restored.returncode != 0
    assert "is not in the backup" in restored.stderr


def test_a_damaged_attachment_in_the_backup_is_refused(seeded, tmp_path, fresh_database):
    backup = _backup(tmp_path, Path(settings.PRIVATE_MEDIA_ROOT))
    sums = (backup / "SHA256SUMS").read_text().splitlines()
    (backup / "SHA256SUMS").write_text("\n".join(["0" * 64 + line[64:] for line in sums]) + "\n")

    restored = _restore(backup, fresh_database, tmp_path / "restored")

    assert restored.returncode != 0
    assert "do not match their checksums" in restored.stderr


def test_restore_refuses_a_database_that_is_not_empty(seeded, tmp_path):
    backup = _backup(tmp_path, Path(settings.PRIVATE_MEDIA_ROOT))

    restored = _restore(backup, _url(connection.settings_dict["NAME"]), tmp_path / "restored")

    assert restored.returncode != 0
    assert "not empty" in restored.stderr
