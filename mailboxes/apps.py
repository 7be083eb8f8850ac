from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxesConfig(AppConfig):
    name = "mailboxes"
    verbose_name = _("Mailboxes")

    def ready(self) -> None:
        from audit import context

        from .selectors import unit_names_of

        # The access log snapshots the reader's units (audit builds on nothing above it).
        context.unit_names_register(unit_names_of)
