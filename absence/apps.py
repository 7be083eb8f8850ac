from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AbsenceConfig(AppConfig):
    name = "absence"
    verbose_name = _("Absence and forwarding")

    def ready(self) -> None:
        from mailboxes import hooks as mailbox_hooks

        from . import hooks, services, tasks

        hooks.register(services.autoreply_after_routing)
        # The mailbox core asks for routing through its own seam; this app is the router.
        mailbox_hooks.router_register(tasks.message_route_on_commit)
