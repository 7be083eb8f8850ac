"""Django admin for configuration (e-services and their conversation topics). Cases, citizens and
notification logs are shown read-only: their writes go through eservices.services (case assignment
has its own page, /arenden/, which audits every change)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Case, Citizen, ConversationTopic, EService, NotificationLog


class ConversationTopicInline(admin.TabularInline):
    model = ConversationTopic
    extra = 0


@admin.register(EService)
class EServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "unit", "citizen_can_start")
    list_filter = ("citizen_can_start", "unit")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ConversationTopicInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Citizen)
class CitizenAdmin(ReadOnlyAdmin):
    list_display = ("masked", "first_name", "last_name", "protected_identity", "notify_channel")
    list_filter = ("protected_identity", "notify_channel")
    # Exact personnummer only: no browsing by partial numbers.
    search_fields = ("=personnummer",)
    exclude = ("personnummer", "notify_email", "notify_phone")

    @admin.display(description=_("personal identity number"))
    def masked(self, obj: Citizen) -> str:
        return obj.personnummer_masked


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("reference", "eservice", "unit", "handler", "status", "created_at")
    list_filter = ("status", "eservice", "unit")
    search_fields = ("=reference", "=external_id")
    list_select_related = ("eservice", "unit", "handler")
    exclude = ("citizen",)


@admin.register(NotificationLog)
class NotificationLogAdmin(ReadOnlyAdmin):
    list_display = ("message", "channel", "created_at", "attempts", "last_error", "sent_at")
    list_filter = ("channel",)
    date_hierarchy = "created_at"
