"""Django admin: structure only, read-only. Units, group mailboxes and membership change through
mailboxes.services (membership also moves the guardian group), never by editing rows here. Messages,
deliveries and attachments are deliberately not registered: managing the system does not give a
right to read citizens' messages, and messages are never edited or deleted by staff."""

from django.contrib import admin

from .models import Mailbox, Unit, UnitMembership


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = UnitMembership
    fields = ("user", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Unit)
class UnitAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug", "allows_deputy_forwarding")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]


@admin.register(Mailbox)
class MailboxAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "owner", "unit")
    list_filter = ("kind",)
    search_fields = ("name",)
    list_select_related = ("owner", "unit")
