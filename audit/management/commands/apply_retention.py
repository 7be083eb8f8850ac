from django.core.management.base import BaseCommand, CommandError

from audit.retention import access_log_prune, access_log_prune_preview, messages_prune, uploads_prune


class Command(BaseCommand):
    help = (
        "Remove access-log entries older than ACCESS_LOG_RETENTION_DAYS (a prefix of the hash chain, "
        "keeping an anchor), uploads never sent with a message and older than UPLOAD_UNATTACHED_HOURS, "
        "and messages older than MESSAGE_RETENTION_DAYS (with their deliveries, attachments and what "
        "else refers to them), and record what was done in the audit log. Run nightly by beat (task "
        "audit.retention)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be removed; remove nothing and record nothing.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        verb = "would remove" if dry_run else "removed"
        log = access_log_prune_preview() if dry_run else access_log_prune()
        if log.refused:
            raise CommandError(f"Access-log retention refused: chain broken at {log.refused}")
        if log.deleted:
            self.stdout.write(
                f"Access log: {verb} {log.deleted} entries (#{log.first_seq}–#{log.through_seq}) "
                f"older than {log.cutoff:%Y-%m-%d %H:%M}."
            )
        else:
            self.stdout.write(f"Access log: nothing older than {log.cutoff:%Y-%m-%d %H:%M}.")

        uploads = uploads_prune(dry_run=dry_run)
        if uploads.uploads:
            self.stdout.write(
                f"Uploads: {verb} {uploads.uploads} never sent with a message, stored before "
                f"{uploads.cutoff:%Y-%m-%d %H:%M}."
            )
        else:
            self.stdout.write(f"Uploads: nothing unsent stored before {uploads.cutoff:%Y-%m-%d %H:%M}.")

        messages = messages_prune(dry_run=dry_run)
        c = messages.counts
        if not c.messages:
            self.stdout.write(f"Messages: nothing received before {messages.cutoff:%Y-%m-%d %H:%M}.")
            return
        self.stdout.write(
            f"Messages: {verb} {c.messages} received before {messages.cutoff:%Y-%m-%d %H:%M}, with "
            f"{c.deliveries} deliveries, {c.attachments} attachments, {c.recipients} recipient rows, "
            f"{c.notifications} notification records, {c.auto_replies} out-of-office records and "
            f"{c.escalations} unread escalations; {c.threads_deleted} threads left empty {verb}, "
            f"{c.threads_kept} kept for their case."
        )
        if not dry_run:
            self.stdout.write(
                f"Mailbox summaries: {c.summaries_updated} recounted, {c.summaries_deleted} removed "
                f"({messages.batches} batches)."
            )
