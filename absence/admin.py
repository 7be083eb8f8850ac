"""Read-only admin: absences change only through the services (audited, with forwarding at start),
so the admin shows them and nothing more."""

from django.contrib import admin

from .models import Absence, AutoReply, GroupUnreadEscalation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Absence)
class AbsenceAdmin(ReadOnlyAdmin):
    list_display = ("handler", "kind", "starts_at", "ends_at", "ended_at", "forward_to", "set_by")
    list_filter = ("kind",)
    search_fields = ("handler__username", "handler__first_name", "handler__last_name")
    list_select_related = ("handler", "forward_to", "set_by")
    date_hierarchy = "starts_at"


@admin.register(AutoReply)
class AutoReplyAdmin(ReadOnlyAdmin):
    list_display = ("absence", "thread", "created_at")
    list_select_related = ("absence__handler", "thread")


@admin.register(GroupUnreadEscalation)
class GroupUnreadEscalationAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "escalated_at", "recipients")
