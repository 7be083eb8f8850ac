from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class LifemsgUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "kind", "is_active")
    list_filter = ("kind", "is_active", "groups")
    fieldsets = (*UserAdmin.fieldsets, ("lifemsg", {"fields": ("kind",)}))
