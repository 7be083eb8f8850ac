from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator, validate_slug

from integrations.models import ApiClient
from integrations.services import api_client_create


class Command(BaseCommand):
    help = (
        "Create an API client (e.g. the case system) and print its token ONCE; only a hash is kept. "
        f"Scopes: {', '.join(ApiClient.Scope.values)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Short name (letters, digits, - and _), e.g. arendesystem")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=ApiClient.Scope.values,
            required=True,
            help="A scope to grant; repeat for several.",
        )
        parser.add_argument(
            "--webhook-url",
            default="",
            help="Send signed webhooks here (needs scope cases:read); the signing secret is printed once.",
        )

    def handle(self, *args, name: str, scopes: list[str], webhook_url: str, **options):
        try:
            validate_slug(name)
        except ValidationError:
            raise CommandError("The name may contain only letters, digits, - and _.")
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(f"An API client named {name!r} already exists.")
        if webhook_url:
            try:
                URLValidator(schemes=["https", "http"])(webhook_url)
            except ValidationError:
                raise CommandError(f"Not a valid URL: {webhook_url!r}")
            if ApiClient.Scope.CASES_READ not in scopes:
                raise CommandError("Webhooks carry case metadata: add --scope cases:read.")
        issued = api_client_create(name=name, scopes=scopes, webhook_url=webhook_url)
        self.stdout.write(f"API client {name!r} created with scopes: {', '.join(issued.client.scopes)}")
        self.stdout.write("Token (shown only now; store it in the case system's secret store):")
        self.stdout.write(issued.token)
        if issued.webhook_secret:
            self.stdout.write("Webhook signing secret (shown only now):")
            self.stdout.write(issued.webhook_secret)
