from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.golive import KINDS, golive_import


class Command(BaseCommand):
    help = (
        "Go-live import of units, staff, memberships and open cases from CSV files. Every problem is "
        "reported by file and line; nothing is written unless all of it can be. See integrations/golive.py "
        "for the columns."
    )

    def add_arguments(self, parser):
        for kind in KINDS:
            parser.add_argument(f"--{kind}", type=Path, help=f"CSV file with {kind}")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument("--actor", help="Username recorded as the actor in the audit trail.")

    def handle(self, *args, dry_run: bool, actor: str | None, **options):
        files = {}
        for kind in KINDS:
            path: Path | None = options.get(kind)
            if path is None:
                continue
            try:
                files[kind] = (path.name, path.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: {exc}")
        if not files:
            raise CommandError("Give at least one of --units, --staff, --memberships, --cases.")
        actor_user = None
        if actor:
            actor_user = get_user_model().objects.filter(username=actor).first()
            if actor_user is None:
                raise CommandError(f"No user {actor!r}.")
        report = golive_import(files=files, dry_run=dry_run, actor=actor_user)
        for problem in report.problems:
            self.stderr.write(str(problem))
        if not report.ok:
            raise CommandError(f"{len(report.problems)} problem(s); nothing was imported.")
        counts = ", ".join(f"{report.counts[k]} {k}" for k in KINDS if k in files)
        if dry_run:
            self.stdout.write(f"Dry run: no problems; would import {counts}. Nothing was written.")
        else:
            self.stdout.write(f"Imported {counts}.")
