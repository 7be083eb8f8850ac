from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "eservices"
    verbose_name = _("E-services and cases")

    def ready(self) -> None:
        from audit import context
        from mailboxes import hooks

        from .permissions import on_case_team
        from .selectors import citizen_thread_recipients, protected_cases_of_messages, thread_contexts

        # Routing (absence) asks the mailbox core who a citizen's message is for; the case says.
        hooks.citizen_recipients_register(citizen_thread_recipients)
        # The access log names the citizen, case and unit of every thread read (audit is below us).
        context.thread_contexts_register(thread_contexts)
        # Need to know: the mailbox core asks who is on a citizen thread's case team.
        hooks.case_team_condition_register(on_case_team)
        # Routing keeps a protected citizen's messages with named people: which cases those are.
        hooks.protected_cases_register(protected_cases_of_messages)
