"""The permission to set and clear a citizen's protected identity, and the roles that hold it:
Administratör med särskild behörighet and Systemförvaltare (never a handläggare)."""

from django.db import migrations

ROLES = ["Administratör med särskild behörighet", "Systemförvaltare"]


def grant(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    create_permissions(global_apps.get_app_config("eservices"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perm = Permission.objects.get(content_type__app_label="eservices", codename="set_protected_identity")
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.add(perm)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    perm = Permission.objects.filter(
        content_type__app_label="eservices", codename="set_protected_identity"
    ).first()
    if perm is not None:
        perm.group_set.clear()


class Migration(migrations.Migration):

    dependencies = [
        ('eservices', '0005_conflict_check_fields'),
        ('accounts', '0002_roles'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='citizen',
            options={'ordering': ['last_name', 'first_name'], 'permissions': [('set_protected_identity', "Can set and clear a citizen's protected identity")], 'verbose_name': 'citizen', 'verbose_name_plural': 'citizens'},
        ),
        migrations.RunPython(grant, revoke),
    ]
