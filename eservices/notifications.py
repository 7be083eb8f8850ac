"""What a citizen is told when staff write: only that there is a new message and where to log in.
Never the unit, case, handler or any content (guarantee 6)."""

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Citizen
from .sms import get_backend


def notification_text() -> tuple[str, str]:
    subject = _("New message from the municipality")
    body = _(
        "You have a new message from the municipality's social services.\n\n"
        "Log in with e-ID to read it: %(url)s\n\n"
        "This is an automatic notification; do not reply to it."
    ) % {"url": settings.CITIZEN_PORTAL_URL}
    return subject, body


def citizen_notify(*, citizen: Citizen) -> list[str]:
    """Send by the citizen's chosen channels; raises if a backend fails (the task retries)."""
    sent = []
    with translation.override("sv"):
        subject, body = notification_text()
        channel = citizen.notify_channel
        if channel in (Citizen.Channel.EMAIL, Citizen.Channel.BOTH) and citizen.notify_email:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [citizen.notify_email], fail_silently=False)
            sent.append("email")
        if channel in (Citizen.Channel.SMS, Citizen.Channel.BOTH) and citizen.notify_phone:
            sms = _("You have a new message from the municipality's social services. Log in: %(url)s") % {
                "url": settings.CITIZEN_PORTAL_URL
            }
            get_backend().send(citizen.notify_phone, sms)
            sent.append("sms")
    return sent
