"""Create the routine's roles as groups with their permissions (accounts.roles.ROLE_PERMISSIONS)."""

from django.db import migrations

ROLE_PERMISSIONS = {
    "Handläggare": ["use_mailboxes", "plan_own_absence"],
    "Enhetschef": ["use_mailboxes", "plan_own_absence", "assign_cases", "view_unit_overview"],
    "Administratör med särskild behörighet": ["take_sick_calls", "assign_cases"],
    "Superanvändare": ["take_sick_calls", "manage_membership", "manage_roles"],
    "Systemförvaltare": ["take_sick_calls", "manage_membership", "manage_roles", "assign_cases"],
    "Loggranskare": ["review_access_log"],
}


def create_roles(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make sure accounts' exist now.
    create_permissions(global_apps.get_app_config("accounts"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
        assert perms.count() == len(codenames), (role, codenames)
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
