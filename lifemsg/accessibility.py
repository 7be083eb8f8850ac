"""The accessibility statement (lagen (2018:1937) om tillgänglighet till digital offentlig service,
DIGG's model): the body responsible, its contact for feedback and the review dates come from
settings, so each municipality's statement names itself and the review it made."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

# DIGG's page for reporting a public body that does not meet the law (the enforcement procedure).
DIGG_REPORT_URL = "https://www.digg.se/tdosanmalan"


@require_GET
def accessibility_statement(request: HttpRequest) -> HttpResponse:
    context = {
        "municipality": settings.MUNICIPALITY_NAME,
        "contact_email": settings.ACCESSIBILITY_CONTACT_EMAIL,
        "contact_phone": settings.ACCESSIBILITY_CONTACT_PHONE,
        "reviewed_on": dt.date.fromisoformat(settings.ACCESSIBILITY_REVIEWED_ON),
        "published_on": dt.date.fromisoformat(settings.ACCESSIBILITY_PUBLISHED_ON),
        "digg_report_url": DIGG_REPORT_URL,
    }
    return render(request, "accessibility.html", context)
