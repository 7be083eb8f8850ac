"""PDF of a citizen thread (or chosen messages) for the case file, made with reportlab.

Each message shows its sender, its received time (server time at storing, in the local time zone)
and the list of its attachments; the head names the case number, e-service, unit and citizen.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from eservices.models import Case
from mailboxes.models import Message

from .selectors import sender_kind

# A TrueType font embedded in the PDF (subset), so Swedish and other non-ASCII text survives
# printing, archiving and text extraction. DejaVu where the system has it (more scripts); otherwise
# Bitstream Vera, which ships inside reportlab.
_FONT_CANDIDATES = [
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
    (
        Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
        Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf",
    ),
]
FONT, FONT_BOLD = "LifemsgSans", "LifemsgSans-Bold"


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for regular, bold in _FONT_CANDIDATES:
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(regular)))
            pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
            pdfmetrics.registerFontFamily(
                FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
            )
            return
    raise RuntimeError("no TrueType font found for PDF export")


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


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


def thread_pdf(
    *, case: Case, messages: list[Message], exported_by, exported_at: datetime, total: int
) -> bytes:
    _register_fonts()
    styles = {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=4 * mm),
        "h2": ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=3 * mm),
        "meta": ParagraphStyle(
            "meta", fontName=FONT, fontSize=9.5, leading=12.5, textColor=colors.HexColor("#333333")
        ),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=14.5, alignment=TA_LEFT),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=10, leading=13),
        "cell_bold": ParagraphStyle("cell_bold", fontName=FONT_BOLD, fontSize=10, leading=13),
    }
    citizen = case.citizen
    head_rows = [
        (_("Case number"), case.reference),
        (_("External case id"), case.external_id or "–"),
        (_("E-service"), case.eservice.name),
        (_("Unit"), case.unit.name),
        (_("Citizen"), f"{citizen.first_name} {citizen.last_name}".strip()),
        (_("Personal identity number"), citizen.personnummer_formatted),
        (_("Subject"), case.thread.subject),
        (_("Handler"), case.handler.display_name if case.handler_id else "–"),
        (_("Exported at"), f"{local_time(exported_at)}, {exported_by.display_name}"),
        (
            _("Messages"),
            _("%(chosen)s of %(total)s in the thread") % {"chosen": len(messages), "total": total},
        ),
    ]
    head = Table(
        [
            [Paragraph(_text(k), styles["cell_bold"]), Paragraph(_text(str(v)), styles["cell"])]
            for k, v in head_rows
        ],
        colWidths=[48 * mm, 122 * mm],
        hAlign="LEFT",
    )
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story: list = [
        Paragraph(_text(_("Messages for the case file")), styles["title"]),
        head,
        Spacer(1, 6 * mm),
    ]
    label_from = _text(_("From"))
    label_received = _text(_("Received"))
    label_attachments = _text(_("Attachments"))
    for number, message in enumerate(messages, start=1):
        attachments = list(message.attachments.all())
        parts = [
            Paragraph(
                _text(_("Message %(n)s of %(count)s") % {"n": number, "count": len(messages)}), styles["h2"]
            ),
            Paragraph(f"<b>{label_from}:</b> {_text(sender_label(message, case))}", styles["meta"]),
            Paragraph(f"<b>{label_received}:</b> {local_time(message.created_at)}", styles["meta"]),
        ]
        if message.kind == Message.Kind.NOTE:
            parts.append(Paragraph(_text(_("Internal note, not shown to the citizen.")), styles["meta"]))
        story.append(KeepTogether(parts))
        story.append(Spacer(1, 2 * mm))
        story.append(Paragraph(_text(message.body) or "–", styles["body"]))
        story.append(Spacer(1, 2 * mm))
        if attachments:
            story.append(Paragraph(f"<b>{label_attachments}:</b>", styles["meta"]))
            for attachment in attachments:
                story.append(
                    Paragraph(
                        "• "
                        + _text(
                            f"{attachment.filename} ({attachment.content_type}, "
                            f"{filesizeformat(attachment.size)})"
                        ),
                        styles["meta"],
                    )
                )
        else:
            story.append(Paragraph(_text(_("No attachments.")), styles["meta"]))
        story.append(Spacer(1, 4 * mm))

    footer = _("Case %(reference)s – exported %(when)s – page") % {
        "reference": case.reference,
        "when": local_time(exported_at),
    }

    def draw_footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(20 * mm, 12 * mm, f"{footer} {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=_("Messages for the case file") + f" {case.reference}",
        author=exported_by.display_name,
        creator="lifemsg",
        lang=translation.get_language() or "sv",
    )
    doc.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()
