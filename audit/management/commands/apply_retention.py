from django.core.management.base import BaseCommand, CommandError

from audit.retention import access_log_prune


class Command(BaseCommand):
    help = (
        "Remove access-log entries older than ACCESS_LOG_RETENTION_DAYS (a prefix of the hash chain, "
        "keeping an anchor) and record what was done in the audit log. Run nightly by beat "
        "(task audit.retention)."
    )

    def handle(self, *args, **options):
        result = access_log_prune()
        if result.refused:
            raise CommandError(f"Access-log retention refused: chain broken at {result.refused}")
        if result.deleted:
            self.stdout.write(
                f"Access log: removed {result.deleted} entries (#{result.first_seq}–#{result.through_seq}) "
                f"older than {result.cutoff:%Y-%m-%d %H:%M}."
            )
        else:
            self.stdout.write(f"Access log: nothing older than {result.cutoff:%Y-%m-%d %H:%M}.")
