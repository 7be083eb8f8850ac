from django.core.management.base import BaseCommand, CommandError

from integrations.models import ApiClient
from integrations.services import api_client_revoke


class Command(BaseCommand):
    help = "Revoke an API client: its token stops working at once and no more webhooks are sent to it."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            raise CommandError(f"No API client named {name!r}.")
        api_client_revoke(client=client)
        self.stdout.write(f"API client {name!r} revoked.")
