from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "eservices"
    verbose_name = _("E-services and cases")

    def ready(self) -> None:
        from audit import context
        from mailboxes import hooks

        from .selectors import citizen_thread_recipients, thread_contexts

        # Routing (absence) asks the mailbox core who a citizen's message is for; the case says.
        hooks.citizen_recipients_register(citizen_thread_recipients)
        # The access log names the citizen, case and unit of every thread read (audit is below us).
        context.thread_contexts_register(thread_contexts)
