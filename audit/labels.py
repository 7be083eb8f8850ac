from django.utils.translation import gettext_lazy as _

from .models import AccessLogEntry

Route = AccessLogEntry.Route

# Why someone at the municipality opened the citizen's messages, in words for the citizen's extract.
PURPOSES = {
    Route.OWN_MAILBOX: _("Handling of your case by the case worker"),
    Route.ASSIGNED_CASE: _("Handling of your case by the case worker"),
    Route.GROUP_MAILBOX: _("Handling of your message in the unit's shared mailbox"),
    Route.FORWARDING: _("Handling of your message while your case worker was away"),
    Route.LOG_REVIEW: _("Follow-up that access to your messages was correct (log review)"),
    Route.API: _("Transfer to or from the case management system"),
}


def purpose_label(route: str) -> str:
    return str(PURPOSES.get(route, _("Handling of your case")))
