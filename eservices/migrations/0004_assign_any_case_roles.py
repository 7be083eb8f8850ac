"""Give eservices.assign_any_case to the roles that assign handlers in every unit. Unit managers keep
accounts.assign_cases only, which is scoped to their own unit(s) (eservices.permissions)."""

from django.db import migrations

ROLES = ["Administratör med särskild behörighet", "Systemförvaltare"]


def grant(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    create_permissions(global_apps.get_app_config("eservices"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perm = Permission.objects.get(content_type__app_label="eservices", codename="assign_any_case")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(perm)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    perm = Permission.objects.filter(content_type__app_label="eservices", codename="assign_any_case").first()
    if perm is not None:
        perm.group_set.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("eservices", "0003_citizen_read_topics_notifications"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
