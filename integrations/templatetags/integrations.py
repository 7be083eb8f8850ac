from django import template
from django.conf import settings

from ..permissions import can_export
from ..selectors import export_panel_rows as _export_panel_rows

register = template.Library()


@register.simple_tag
def export_panel_rows(thread):
    """For the export panel: the thread's journalföring and its downloaded copies (one query)."""
    return _export_panel_rows(thread)


@register.simple_tag(takes_context=True)
def can_export_thread(context, thread) -> bool:
    request = context.get("request")
    return bool(thread.is_citizen and request is not None and can_export(request.user))


@register.simple_tag
def staff_sso_enabled() -> bool:
    return settings.STAFF_OIDC_ENABLED
