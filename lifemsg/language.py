"""Swedish first: the UI language is Swedish unless the user has chosen English with the language
switch (Django's set_language view, remembered in its cookie). The browser's Accept-Language is not
consulted: the product is Swedish, and a browser set up in English by default (common on work
computers) must not silently switch a Swedish user's pages. The REST API has no language switch: a
case system chooses with Accept-Language there."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def chosen_language(request) -> str:
    if request.path_info.startswith("/api/"):
        return translation.get_language_from_request(request)
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in dict(settings.LANGUAGES):
        return chosen
    return settings.LANGUAGE_CODE


class SwedishFirstLocaleMiddleware:
    """Replaces Django's LocaleMiddleware (which would follow Accept-Language)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        translation.activate(chosen_language(request))
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        # The language depends on the cookie only (Vary: Cookie comes with the session).
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
