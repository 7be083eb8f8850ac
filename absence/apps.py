from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AbsenceConfig(AppConfig):
    name = "absence"
    verbose_name = _("Absence and forwarding")

    def ready(self) -> None:
        from . import hooks, services

        hooks.register(services.autoreply_after_routing)
