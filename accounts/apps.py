from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .idle import mark_activity_at_login

        user_logged_in.connect(mark_activity_at_login, dispatch_uid="accounts.idle.login")

        from lifemsg import lookups

        lookups.register()  # ids past 64 bits in an `in` list: no row, not a 500 on SQLite
