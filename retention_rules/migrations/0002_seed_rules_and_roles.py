"""Today's retention as the first version of each rule, and the permissions to manage rules and to
approve runs for Systemförvaltare.

The periods are what the settings said until now: MESSAGE_RETENTION_DAYS (default ten years) for
messages in both kinds of thread and their attachments, ACCESS_LOG_RETENTION_DAYS (five years) for
the access log; the change log is kept. MESSAGE_RETENTION_DAYS is read here only: after this
migration the rule table decides. The research sample (SoL 12:2, born on the 5th, 15th or 25th) is
kept for citizen threads and their attachments. The decision text says that these are defaults to
be replaced by the archive authority's decision."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

ROLES = ["Systemförvaltare"]
CODENAMES = ["manage_retention", "approve_retention"]
DEFAULT_DECISION = (
    "Förval vid installation ({setting} = {days} dagar). Ersätt med arkivmyndighetens beslut "
    "(diarienummer och datum)."
)


def seed(apps, schema_editor):
    Rule = apps.get_model("retention_rules", "RetentionRule")
    if Rule.objects.exists():
        return
    messages = int(settings.MESSAGE_RETENTION_DAYS)
    access_log = int(settings.ACCESS_LOG_RETENTION_DAYS)
    today = timezone.localdate()
    text = DEFAULT_DECISION.format(setting="MESSAGE_RETENTION_DAYS", days=messages)
    rows = [
        ("citizen_thread", messages, text, True),
        ("internal_thread", messages, text, False),
        ("attachment", messages, text, True),
        (
            "access_log",
            access_log,
            DEFAULT_DECISION.format(setting="ACCESS_LOG_RETENTION_DAYS", days=access_log),
            False,
        ),
        ("change_log", None, "Ändringsloggen bevaras.", False),
    ]
    Rule.objects.bulk_create(
        Rule(kind=kind, period=period, unit="days", decision=decision, research_sample=sample, active_from=today)
        for kind, period, decision, sample in rows
    )


def grant(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    create_permissions(global_apps.get_app_config("retention_rules"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="retention_rules", codename__in=CODENAMES)
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(*perms)


def seed_and_grant(apps, schema_editor):
    seed(apps, schema_editor)
    grant(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("retention_rules", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(seed_and_grant, migrations.RunPython.noop)]
