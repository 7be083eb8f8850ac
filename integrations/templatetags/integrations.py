from django import template
from django.conf import settings

from ..permissions import can_export
from ..selectors import case_file_entries_for_thread as _case_file_entries_for_thread
from ..selectors import exports_for_thread as _exports_for_thread

register = template.Library()


@register.simple_tag
def exports_for_thread(thread):
    """For the export panel in the staff thread view: one query."""
    return _exports_for_thread(thread)


@register.simple_tag
def case_file_entries_for_thread(thread):
    """For the export panel: the thread's journalföring and its receipts (one query)."""
    return _case_file_entries_for_thread(thread)


@register.simple_tag(takes_context=True)
def can_export_thread(context, thread) -> bool:
    request = context.get("request")
    return bool(thread.is_citizen and request is not None and can_export(request.user))


@register.simple_tag
def staff_sso_enabled() -> bool:
    return settings.STAFF_OIDC_ENABLED
