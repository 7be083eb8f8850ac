"""Django's ModelBackend with permission checks in one query instead of three and the user read
compiled once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, OuterRef, Value
from django.db.models.functions import Cast, Concat

from lifemsg import perf
from lifemsg.perf.compiled import CompiledQuery
from lifemsg.perf.handoff import take_session_user

from .roles import remember_group_ids, remember_group_names

# The dotted path sessions store for this backend (django.contrib.auth.login(..., backend=...)).
MODEL_BACKEND = "accounts.backends.ModelBackend"

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
        perms = own.union(via_groups).order_by()
    groups = (
        Group.objects.filter(user__id=user_id)
        .order_by()
        .values_list(Concat(Value(_GROUP_ROW), Cast("id", CharField()), output_field=CharField()), "name")
    )
    # Unordered: a union of Permission rows would otherwise take Permission.Meta.ordering, which
    # Django 6 refuses for columns the union does not select.
    return perms.union(groups).order_by()


# Compiled once (lifemsg.perf.compiled): building the union cost several times as long as running it.
_PERMISSIONS_AND_GROUPS = CompiledQuery(_permissions_and_groups)


def permission_arrays(user_ref: str) -> dict:
    """Annotations (PostgreSQL) bringing a user's permissions ("app.codename": their own, their
    groups') and groups (ids and names, paired up by id order) as arrays, for the user whose id is in
    the column `user_ref` of the annotated query."""
    from django.contrib.postgres.expressions import ArraySubquery

    def keys(permissions):
        key = Concat("content_type__app_label", Value("."), "codename", output_field=CharField())
        return ArraySubquery(permissions.order_by().annotate(key=key).values("key"))

    groups = Group.objects.filter(user__id=OuterRef(user_ref)).order_by("id")
    return {
        "own_permissions": keys(Permission.objects.filter(user__id=OuterRef(user_ref))),
        "group_permissions": keys(Permission.objects.filter(group__user__id=OuterRef(user_ref))),
        "group_ids": ArraySubquery(groups.values("id")),
        "group_names": ArraySubquery(groups.values("name")),
    }


def _user(*, user_id: int, with_permissions: bool):
    users = get_user_model()._default_manager.filter(pk=user_id)
    return users.annotate(**permission_arrays("pk")) if with_permissions else users


# Compiled once (lifemsg.perf.compiled). On PostgreSQL the user's permissions and groups come along as
# arrays, so a staff page's first permission check costs no query of its own.
_USER = CompiledQuery(_user)


class ModelBackend(DjangoModelBackend):
    """Django's ModelBackend (passwords, is_active, permissions), with the two reads every staff
    request makes done cheaper:

    - has_perm reads the user's own and their groups' permissions in one query (UNION) instead of
      two. The same query brings the user's groups: their names, which every staff page shows as the
      user's roles (accounts.roles.user_group_names), and their ids, which group-mailbox access
      follows (mailboxes.permissions), so neither costs a query of its own.
    - the session's user comes with the session (accounts.sessions), or else is loaded with a
      compiled query (lifemsg.perf.compiled); on PostgreSQL either way with their permissions and groups
      along, filling the same per-request cache.

    Sessions name the backend that logged the user in: this one, for passwords, staff SSO and the
    citizens' test login."""

    def get_user(self, user_id):
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not perf.enabled():
            return super().get_user(user_id)
        offered = take_session_user(user_id)
        if offered is not None:
            user, arrays = offered
        else:
            with_permissions = perf.fast_sql()
            user = _USER.first({"with_permissions": with_permissions}, user_id=user_id)
            arrays = user if with_permissions else None
        if user is None or not self.user_can_authenticate(user):
            return None
        if arrays is not None:
            # What get_all_permissions below would read, for this request only, as it would; a
            # superuser has every permission, read when asked.
            permissions = None if user.is_superuser else [*arrays.own_permissions, *arrays.group_permissions]
            groups = zip(arrays.group_ids, arrays.group_names, strict=True)
            _remember(user, permissions=permissions, groups=groups)
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            rows = _PERMISSIONS_AND_GROUPS.fetch({"superuser": user_obj.is_superuser}, user_id=user_obj.pk)
            _remember(
                user_obj,
                permissions=[f"{app}.{codename}" for app, codename in rows if not app.startswith(_GROUP_ROW)],
                groups=[(int(key[1:]), name) for key, name in rows if key.startswith(_GROUP_ROW)],
            )
        return user_obj._perm_cache


def _remember(user, *, permissions, groups) -> None:
    """Keep what the request read of `user` on the instance, for the rest of the request: their
    permissions ("app.codename"; None: not read) as ModelBackend's own cache does, and their groups'
    ids and names ((id, name) pairs; accounts.roles)."""
    groups = list(groups)
    remember_group_names(user, sorted(name for _, name in groups))
    remember_group_ids(user, [pk for pk, _ in groups])
    if permissions is not None:
        user._perm_cache = set(permissions)
