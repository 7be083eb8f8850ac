from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention_rules"
    verbose_name = _("Retention rules and runs")
