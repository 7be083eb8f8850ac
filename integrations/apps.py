from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        # Webhooks to the case system hang on routing's after-hook (absence.hooks), so that routing
        # itself never learns about integrations; the hook only writes rows and enqueues on commit.
        from absence import hooks as absence_hooks

        from . import checks  # noqa: F401  (registers the settings checks)
        from .webhooks import citizen_message_routed

        if citizen_message_routed not in absence_hooks.AFTER_ROUTING:
            absence_hooks.AFTER_ROUTING.append(citizen_message_routed)
        # mailboxes announces "handled" through mailboxes.hooks.AFTER_HANDLED once it has one
        # (see integrations/README.md); until then there is nothing to hang on.
        try:
            from mailboxes import hooks as mailbox_hooks
        except ImportError:
            return
        from .webhooks import citizen_thread_handled

        after_handled = getattr(mailbox_hooks, "AFTER_HANDLED", None)
        if after_handled is not None and citizen_thread_handled not in after_handled:
            after_handled.append(citizen_thread_handled)
