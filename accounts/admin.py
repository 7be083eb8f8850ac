"""The Django admin's user and group pages. Every change of a user's groups, permissions or flags
made here is written to the change log (accounts.services), as role_grant and the membership services
do for the application's own pages."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from .models import User
from .services import (
    access_snapshot,
    group_permissions_change_record,
    permission_names,
    user_access_change_record,
)

VIA = "Django admin"


@admin.register(User)
class LifemsgUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "kind", "is_active")
    list_filter = ("kind", "is_active", "groups")
    fieldsets = (*UserAdmin.fieldsets, ("lifemsg", {"fields": ("kind", "personnummer", "address")}))

    def save_model(self, request, obj, form, change):
        # Read from the database before the save: `obj` already carries the new flags.
        request._lifemsg_access_before = access_snapshot(obj) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # groups and permissions saved here
        user_access_change_record(
            actor=request.user,
            user=form.instance,
            before=getattr(request, "_lifemsg_access_before", {}),
            via=VIA,
        )


admin.site.unregister(Group)


@admin.register(Group)
class LifemsgGroupAdmin(GroupAdmin):
    def save_model(self, request, obj, form, change):
        request._lifemsg_group_permissions = permission_names(obj.permissions) if change else []
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        group_permissions_change_record(
            actor=request.user,
            group=form.instance,
            before=getattr(request, "_lifemsg_group_permissions", []),
            via=VIA,
        )
