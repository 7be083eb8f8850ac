from django.contrib import admin

from .models import ApiClient, CaseFileEntry, ThreadExport, WebhookDelivery


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible for support; every change goes through the services (management commands)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyAdmin):
    list_display = ["name", "scopes", "is_active", "webhook_url", "created_at", "last_used_at"]
    exclude = ["token_hash", "webhook_secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event", "client", "status", "attempts", "last_status_code", "last_error"]
    list_filter = ["status", "event"]


@admin.register(ThreadExport)
class ThreadExportAdmin(ReadOnlyAdmin):
    list_display = ["exported_at", "case", "exported_by", "whole_thread"]


@admin.register(CaseFileEntry)
class CaseFileEntryAdmin(ReadOnlyAdmin):
    """Journalföring: which are waiting for the case system, which failed and why."""

    list_display = ["requested_at", "case", "requested_by", "status", "attempts", "last_error", "document_id"]
    list_filter = ["status"]
    # The PDF holds message content: never shown here.
    exclude = ["pdf"]
