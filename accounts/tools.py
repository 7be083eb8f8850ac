"""The tools a staff member's roles give them, for the start page and the workspace's menu."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (permission, URL name, label), in the order the start page lists them.
TOOLS = (
    ("accounts.use_mailboxes", "mailboxes:index", _("My mailboxes")),
    ("accounts.plan_own_absence", "absence:mine", _("My absence")),
    ("accounts.take_sick_calls", "absence:sick_call", _("Sick call / forwarding")),
    ("accounts.view_unit_overview", "absence:unit_overview", _("Unit overview")),
    ("accounts.assign_cases", "eservices:staff_cases", _("Cases and handlers")),
    ("accounts.manage_membership", "administration:units", _("Units, members and roles")),
    ("accounts.review_access_log", "audit:search", _("Access log review")),
    ("accounts.view_unit_overview", "replies:saved_list", _("Saved replies")),
    ("accounts.use_mailboxes", "replies:notice_settings", _("Reminder of waiting messages")),
)


def staff_tools(user, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Each tool the user may use: its URL and label (a URL not installed is left out)."""
    links = []
    for permission, url_name, label in TOOLS:
        if url_name in exclude or not user.has_perm(permission):
            continue
        try:
            links.append({"url": reverse(url_name), "label": label, "name": url_name})
        except NoReverseMatch:
            continue
    return links
