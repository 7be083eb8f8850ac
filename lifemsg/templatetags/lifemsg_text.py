"""Message bodies are plain text: escaped, line breaks kept by CSS, and only http(s) links made
clickable (with rel="noopener noreferrer nofollow" and never javascript:, data: or other schemes)."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Matched on the escaped text, so the URL can contain no raw <, >, " or '.
URL_RE = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]}"


def _link(match: re.Match) -> str:
    url = match.group(0)
    trail = ""
    while url and url[-1] in TRAILING:
        trail = url[-1] + trail
        url = url[:-1]
    if url.endswith("&amp"):  # an escaped & cut by the trailing strip
        url, trail = url[:-4], "&amp" + trail
    return f'<a href="{url}" rel="noopener noreferrer nofollow" target="_blank">{url}</a>{trail}'


@register.filter(name="message_text", is_safe=True)
def message_text(value) -> SafeString:
    return mark_safe(URL_RE.sub(_link, escape(value or "")))  # noqa: S308 - input escaped first
