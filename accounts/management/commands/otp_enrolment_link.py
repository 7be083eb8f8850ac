"""Issue a one-time enrolment link for a staff member's second factor from the command line: for
the first administrator, who has nobody to issue one (accounts.enrolment). Audited like the page."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.enrolment import enrolment_link_issue


class Command(BaseCommand):
    help = "Print a one-time link with which USERNAME enrols two-step verification (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--base-url",
            default="",
            help="The site's address, e.g. https://lifemsg.example.se (else only the path is printed).",
        )

    def handle(self, *args, username: str, base_url: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            link, token = enrolment_link_issue(user=user, actor=None, reason="manage.py otp_enrolment_link")
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        path = reverse("accounts:otp_enrol", args=[token])
        self.stdout.write(f"{base_url.rstrip('/')}{path}")
        self.stdout.write(
            f"Valid until {link.expires_at:%Y-%m-%d %H:%M %Z}, once, for {user.username} logged in."
        )
