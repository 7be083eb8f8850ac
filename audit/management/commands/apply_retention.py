from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import override

from audit.retention import uploads_prune
from retention_rules.models import Kind
from retention_rules.services import RunRefused, run_propose


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Remove uploads never sent with a message and older than UPLOAD_UNATTACHED_HOURS, and propose a "
        "retention run: the review list of the messages, attachments and access-log entries the "
        "retention rules would remove. Nothing of those is removed until someone approves the run "
        "(Administration → Gallring). Run nightly by beat (tasks audit.retention, retention.propose)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what a run would list and what uploads would go; remove and record nothing.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        uploads = uploads_prune(dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        when = f"{uploads.cutoff:%Y-%m-%d %H:%M}"
        if uploads.uploads:
            self.stdout.write(
                f"Uploads: {verb} {uploads.uploads} never sent with a message, stored before {when}."
            )
        else:
            self.stdout.write(f"Uploads: nothing unsent stored before {when}.")
        try:
            run = self._dry_run() if dry_run else run_propose(replace=False)
        except RunRefused as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if run is None:
            self.stdout.write("Retention: a run already waits for approval; nothing new proposed.")
            return
        with override("en"):
            self._report(run)
        if dry_run:
            self.stdout.write("Dry run: no run proposed, nothing removed.")
        else:
            url = reverse("administration:retention_run", args=[run.pk])
            self.stdout.write(f"Retention run #{run.pk} proposed; approve or cancel it at {url}")

    def _report(self, run) -> None:
        for kind, label in Kind.choices:
            counts = run.review.get(kind, {})
            if kind == Kind.ACCESS_LOG and counts.get("delete"):
                log = run.criteria[kind]
                self.stdout.write(
                    f"{label}: {counts['delete']} entries (#{log['first_seq']}–#{log['through_seq']}) "
                    "listed for removal."
                )
                continue
            kept = ", ".join(f"{n} {reason}" for reason, n in counts.get("keep", {}).items()) or "none"
            self.stdout.write(
                f"{label}: {counts.get('delete', 0)} listed for removal; kept past the period: {kept}."
            )

    def _dry_run(self):
        try:
            with transaction.atomic():
                run = run_propose(replace=False)
                raise _Rollback
        except _Rollback:
            return run
