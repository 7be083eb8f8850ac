"""The case-file PDF is PDF/A-3b (tests/integrations/pdfa_check.py says what is checked and why)."""

from __future__ import annotations

import io

import pikepdf
import pytest
from django.utils import timezone
from weasyprint import HTML

from absence.routing import route_message
from eservices.services import citizen_message_send, staff_message_send
from integrations.export import css_string, thread_pdf
from tests import factories
from tests.integrations.pdfa_check import pdfa_problems
from tests.integrations.test_export import pdf_text

pytestmark = pytest.mark.django_db


def case_pdf(org, body: str = "Hej! Jag undrar över beslutet om försörjningsstöd.") -> tuple[bytes, object]:
    citizen = factories.citizen(first="Åsa", last="Öberg")
    case = factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1)
    first = citizen_message_send(case=case, citizen_user=citizen.user, body=body)
    reply = staff_message_send(case=case, sender=org.handler_a1, body="Tack, vi återkommer.")
    for message in (first, reply):
        route_message(message_id=message.pk)
    messages = list(case.thread.messages.prefetch_related("attachments").order_by("created_at", "id"))
    pdf = thread_pdf(
        case=case, messages=messages, exported_by=org.handler_a1, exported_at=timezone.now(), total=2
    )
    return pdf, case


def test_the_case_file_pdf_is_pdfa_3b_with_its_fonts_embedded(org):
    pdf, case = case_pdf(org)

    assert pdfa_problems(pdf) == []
    text = pdf_text(pdf)
    assert "Åsa Öberg (medborgare)" in text
    assert "försörjningsstöd" in text and case.reference in text
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        fonts = {str(f.get("/BaseFont")) for page in doc.pages for f in page.Resources.Font.values()}
        assert fonts and all("DejaVu" in name for name in fonts), fonts
        with doc.open_metadata() as meta:
            assert meta["dc:title"] == f"Meddelanden för journalföring {case.reference}"


def test_the_conformance_check_refuses_an_ordinary_pdf():
    """The check is not vacuous: the same renderer without the PDF/A variant fails it."""
    plain = HTML(string="<html lang='sv'><p>Hej</p></html>").write_pdf()
    problems = pdfa_problems(plain)
    assert "catalogue: no XMP metadata stream" in problems
    assert "no GTS_PDFA1 output intent" in problems


def test_markup_and_css_in_a_message_stay_text(org):
    """A message body is text: it can neither add markup nor fetch anything into the PDF."""
    body = '</p><img src="http://127.0.0.1:9/x.png"><style>*{display:none}</style>"; } @page { x'
    pdf, _case = case_pdf(org, body=body)
    assert pdfa_problems(pdf) == []
    assert '<img src="http://127.0.0.1:9/x.png">' in pdf_text(pdf)


def test_css_string_escapes_everything_that_could_end_it():
    assert css_string('a"b\\c') == '"a\\000022 b\\00005c c"'
    assert css_string("Ärende 1 – x") == '"Ärende 1 \\002013  x"'


def test_the_footer_keeps_its_spaces_around_escaped_characters(org):
    pdf, case = case_pdf(org)
    assert f"Ärende {case.reference} – exporterat" in pdf_text(pdf)
