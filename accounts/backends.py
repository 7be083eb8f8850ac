"""Permission checks in one query instead of three."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

from lifemsg.compiled import CompiledQuery

from .roles import remember_group_ids, remember_group_names

# A permission's app label never starts with "#": the union's rows whose first column does carry a
# group, as ("#<id>", name).
_GROUP_ROW = "#"


def _permissions_and_groups(*, user_id: int, superuser: bool):
    fields = ("content_type__app_label", "codename")
    if superuser:
        perms = Permission.objects.order_by().values_list(*fields)
    else:
        own = Permission.objects.filter(user__id=user_id).order_by().values_list(*fields)
        via_groups = Permission.objects.filter(group__user__id=user_id).order_by().values_list(*fields)
        perms = own.union(via_groups)
    groups = (
        Group.objects.filter(user__id=user_id)
        .order_by()
        .values_list(Concat(Value(_GROUP_ROW), Cast("id", CharField()), output_field=CharField()), "name")
    )
    return perms.union(groups)


# Compiled once (lifemsg.compiled): building the union cost several times as long as running it.
_PERMISSIONS_AND_GROUPS = CompiledQuery(_permissions_and_groups)


class PermissionsInOneQueryBackend(ModelBackend):
    """Answers has_perm exactly as ModelBackend does, but reads the user's own and their groups'
    permissions in one query (UNION) instead of two: every staff page checks a permission. The same
    query brings the user's groups: their names, which every staff page shows as the user's roles
    (accounts.roles.user_group_names), and their ids, which group-mailbox access follows
    (mailboxes.permissions), so neither costs a query of its own.

    Listed right before ModelBackend: both keep the result in the same per-request cache on the user
    object (`_perm_cache`), so ModelBackend, asked after it, finds it filled. It checks no passwords
    (login stays with ModelBackend and axes); it loads users like ModelBackend, for sessions made by
    `force_login`, which names the first backend that can."""

    def authenticate(self, request, **credentials):
        return None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            rows = _PERMISSIONS_AND_GROUPS.fetch({"superuser": user_obj.is_superuser}, user_id=user_obj.pk)
            group_rows = [(int(key[1:]), name) for key, name in rows if key.startswith(_GROUP_ROW)]
            remember_group_names(user_obj, sorted(name for _, name in group_rows))
            remember_group_ids(user_obj, [pk for pk, _ in group_rows])
            user_obj._perm_cache = {
                f"{app}.{codename}" for app, codename in rows if not app.startswith(_GROUP_ROW)
            }
        return user_obj._perm_cache
