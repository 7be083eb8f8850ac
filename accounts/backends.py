"""Permission checks in one query instead of three."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value

from .roles import remember_group_names

# A permission's app label is never empty: the union's rows with it empty carry group names.
_GROUP_ROW = ""


class PermissionsInOneQueryBackend(ModelBackend):
    """Answers has_perm exactly as ModelBackend does, but reads the user's own and their groups'
    permissions in one query (UNION) instead of two: every staff page checks a permission. The same
    query brings the names of the user's groups, which every staff page shows as the user's roles
    (accounts.roles.user_group_names), so the page header costs no query of its own.

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
            fields = ("content_type__app_label", "codename")
            if user_obj.is_superuser:
                perms = Permission.objects.order_by().values_list(*fields)
            else:
                own = Permission.objects.filter(user=user_obj).order_by().values_list(*fields)
                via_groups = Permission.objects.filter(group__user=user_obj).order_by().values_list(*fields)
                perms = own.union(via_groups)
            groups = (
                Group.objects.filter(user=user_obj)
                .order_by()
                .values_list(Value(_GROUP_ROW, output_field=CharField()), "name")
            )
            rows = list(perms.union(groups))
            remember_group_names(user_obj, sorted(name for app, name in rows if app == _GROUP_ROW))
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows if app != _GROUP_ROW}
        return user_obj._perm_cache
