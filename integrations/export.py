"""The case-file PDF of a citizen thread (or chosen messages): PDF/A-3b, made with WeasyPrint.

PDF/A is the archival PDF the case file keeps (ISO 19005): every font embedded (WeasyPrint embeds the
subset of each font it uses; DejaVu Sans from the system, `fonts-dejavu-core` in the image), an sRGB
output intent, XMP metadata naming the conformance, nothing fetched from outside (no URL is
fetched at all: the document is built only from the database), no scripts. Level 3 rather than 2
so that the original attachments can be embedded later without changing the format.

Each message shows its sender, its received time (server time at storing, in the local time zone)
and the list of its attachments; the head names the case number, e-service, unit and citizen.
tests/integrations/pdfa_check.py checks the output's conformance.
"""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from eservices.models import Case
from mailboxes.models import Message

from .selectors import sender_kind

PDF_VARIANT = "pdf/a-3b"
PDFA_CONFORMANCE = "PDF/A-3B"
FONT_FAMILY = "DejaVu Sans"


def local_time(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def sender_label(message: Message, case: Case) -> str:
    kind = sender_kind(message)
    if kind == "system":
        return _("Automatic message")
    if kind == "citizen":
        return _("%(name)s (citizen)") % {
            "name": f"{case.citizen.first_name} {case.citizen.last_name}".strip()
        }
    return _("%(name)s (staff)") % {"name": message.sender.display_name}


def css_string(value: str) -> str:
    """`value` as a quoted CSS string: every character but letters, digits and spaces as a CSS
    escape, so no text can end the string early. CSS consumes one whitespace after a hex escape as
    its end, so each escape is followed by one space of its own."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x} " for c in value) + '"'


def _head_rows(*, case: Case, exported_by, exported_at: datetime, chosen: int, total: int) -> list:
    citizen = case.citizen
    return [
        (_("Case number"), case.reference),
        (_("External case id"), case.external_id or "–"),
        (_("E-service"), case.eservice.name),
        (_("Unit"), case.unit.name),
        (_("Citizen"), f"{citizen.first_name} {citizen.last_name}".strip()),
        (_("Personal identity number"), citizen.personnummer_formatted),
        (_("Subject"), case.thread.subject),
        (_("Handler"), case.handler.display_name if case.handler_id else "–"),
        (_("Exported at"), f"{local_time(exported_at)}, {exported_by.display_name}"),
        (_("Messages"), _("%(chosen)s of %(total)s in the thread") % {"chosen": chosen, "total": total}),
    ]


def thread_pdf(
    *, case: Case, messages: list[Message], exported_by, exported_at: datetime, total: int
) -> bytes:
    """The PDF/A-3b of `messages` (attachments prefetched) in the active language."""
    rows = [
        {
            "message": message,
            "heading": _("Message %(n)s of %(count)s") % {"n": n, "count": len(messages)},
            "sender": sender_label(message, case),
            "received": local_time(message.created_at),
            "is_note": message.kind == Message.Kind.NOTE,
            "attachments": list(message.attachments.all()),
        }
        for n, message in enumerate(messages, start=1)
    ]
    footer = _("Case %(reference)s – exported %(when)s – page") % {
        "reference": case.reference,
        "when": local_time(exported_at),
    }
    html = render_to_string(
        "integrations/pdf/case_file.html",
        {
            "lang": translation.get_language() or "sv",
            "title": _("Messages for the case file") + f" {case.reference}",
            "exported_by_name": exported_by.display_name,
            "footer_css": css_string(footer),
            "font_family": FONT_FAMILY,
            "head_rows": _head_rows(
                case=case,
                exported_by=exported_by,
                exported_at=exported_at,
                chosen=len(messages),
                total=total,
            ),
            "rows": rows,
        },
    )
    # No protocol allowed: the document refers to nothing outside itself.
    fetcher = URLFetcher(allowed_protocols=())
    return HTML(string=html, url_fetcher=fetcher).write_pdf(pdf_variant=PDF_VARIANT)
