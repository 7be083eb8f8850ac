"""Prove a restored backup (scripts/restore.sh runs this): the database holds what the backup's manifest
says, every attachment the database names is in the restored folder with its recorded checksum and
size, and the access log's hash chain verifies up to the head the backup recorded."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max

from audit.models import AccessLogEntry, AccessLogHead
from audit.services import access_log_verify
from mailboxes.models import Attachment, Delivery, Message, Thread


def read_manifest(backup: Path) -> dict[str, str]:
    lines = (backup / "manifest").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def read_checksums(backup: Path) -> dict[str, str]:
    sums = {}
    for line in (backup / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.lstrip("*").removeprefix("./")] = digest
    return sums


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Verify a restored lifemsg backup against its manifest (counts, attachments, access log chain)."

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="the backup folder scripts/backup.sh wrote")
        parser.add_argument("--attachments", type=Path, required=True, help="the restored attachments folder")

    def handle(self, *args, backup: Path, attachments: Path, **options):
        manifest = read_manifest(backup)
        problems = self._count_problems(manifest)
        problems += self._attachment_problems(read_checksums(backup), attachments)
        problems += self._chain_problems(manifest)
        if problems:
            raise CommandError("Backup does NOT verify:\n  " + "\n  ".join(problems), returncode=2)
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup verifies: {manifest['messages']} messages, {manifest['attachments']} attachments, "
                f"access log chain intact through #{manifest['access_log_seq']}."
            )
        )

    @staticmethod
    def _count_problems(manifest: dict[str, str]) -> list[str]:
        restored = {
            "messages": Message.objects.count(),
            "threads": Thread.objects.count(),
            "deliveries": Delivery.objects.count(),
            "attachments": Attachment.objects.count(),
            "access_log_entries": AccessLogEntry.objects.count(),
        }
        return [
            f"{name}: {count} restored, {manifest[name]} in the backup"
            for name, count in restored.items()
            if str(count) != manifest[name]
        ]

    @staticmethod
    def _attachment_problems(checksums: dict[str, str], folder: Path) -> list[str]:
        problems = []
        for name, size in Attachment.objects.values_list("file", "size").iterator(chunk_size=2000):
            path = folder / name
            if name not in checksums:
                problems.append(f"attachment {name} is not in the backup")
            elif not path.is_file():
                problems.append(f"attachment {name} is missing from {folder}")
            elif path.stat().st_size != size or sha256(path) != checksums[name]:
                problems.append(f"attachment {name} differs from the backup (size or checksum)")
        return problems

    @staticmethod
    def _chain_problems(manifest: dict[str, str]) -> list[str]:
        result = access_log_verify()
        if not result.ok:
            return [f"access log chain broken at #{result.first_bad_seq}: {result.problem}"]
        seq = AccessLogEntry.objects.aggregate(seq=Max("seq"))["seq"] or 0
        head = AccessLogHead.objects.filter(pk=1).values_list("last_hash", flat=True).first() or ""
        if (str(seq), head) != (manifest["access_log_seq"], manifest["access_log_head"]):
            return [f"access log ends at #{seq}, the backup's at #{manifest['access_log_seq']}"]
        return []
