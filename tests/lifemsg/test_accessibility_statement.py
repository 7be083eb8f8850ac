"""The accessibility statement has every part DIGG's model asks for (issue 24), names the
municipality and its contact from settings, and states compliance honestly."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def statement(client):
    def get(language: str = "sv") -> str:
        client.cookies["django_language"] = language
        response = client.get("/tillganglighet/", HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        return response.content.decode()

    return get


@override_settings(
    MUNICIPALITY_NAME="Sjöstads kommun",
    ACCESSIBILITY_CONTACT_EMAIL="tillganglighet@sjostad.se",
    ACCESSIBILITY_CONTACT_PHONE="0123-45 67 89",
    ACCESSIBILITY_REVIEWED_ON="2026-12-01",
    ACCESSIBILITY_PUBLISHED_ON="2026-06-15",
)
def test_statement_has_every_required_part_in_swedish(statement):
    page = statement("sv")
    # The body responsible and the service covered.
    assert "Sjöstads kommun ansvarar för" in page
    # Compliance status, stated as partial while shortcomings are listed.
    assert "delvis förenlig med lagen om tillgänglighet till digital offentlig service" in page
    assert "fullt förenlig" not in page
    # Content that is not accessible, with why.
    assert 'id="not-accessible"' in page and "taggad PDF" in page
    # Alternatives, feedback reaching a person, and the contact from settings.
    assert 'id="alternatives"' in page
    assert 'href="mailto:tillganglighet@sjostad.se?subject=' in page
    assert 'href="tel:0123456789"' in page
    assert "En person på kommunen läser" in page
    # The enforcement procedure: DIGG, linked.
    assert 'href="https://www.digg.se/tdosanmalan"' in page
    # How it was tested, and the dates from settings.
    assert "axe-core" in page and "tangentbordet" in page and "självskattning" in page
    assert "1 december 2026" in page and "15 juni 2026" in page
    assert "28 november 2026" not in page  # no hard-coded date


def test_statement_in_english(statement):
    page = statement("en")
    assert "partially compliant" in page
    assert "Report to Digg" in page


def test_no_untranslated_text_on_the_swedish_statement(statement):
    page = statement("sv")
    body = re.sub(r"<[^>]+>", " ", page.split("<article", 1)[1].split("</article>", 1)[0])
    for english in ("How accessible", "Report accessibility problems", "We assessed", "The service was"):
        assert english not in body
