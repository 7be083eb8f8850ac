from django.core.management.base import BaseCommand, CommandError

from audit.services import access_log_verify, chain_anchor


class Command(BaseCommand):
    help = (
        "Verify the access log's hash chain from its anchor to the head. Exits non-zero and names the "
        "first bad seq if any entry was altered, removed or reordered."
    )

    def handle(self, *args, **options):
        anchor_seq, _ = chain_anchor()
        result = access_log_verify()
        if not result.ok:
            raise CommandError(
                f"Access log chain BROKEN at seq {result.first_bad_seq}: {result.problem} "
                f"({result.checked} entries verified before it).",
                returncode=2,
            )
        if result.checked:
            span = f"#{result.first_seq}–#{result.last_seq}"
        else:
            span = "no entries"
        self.stdout.write(
            self.style.SUCCESS(
                f"Access log chain OK: {result.checked} entries ({span}), anchored after #{anchor_seq}."
            )
        )
