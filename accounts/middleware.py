from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CITIZEN_PREFIX = "/medborgare/"
# Reachable by anyone whatever their session: assets, language switch, health, public pages.
OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz", "/tillganglighet/", "/favicon")


class SessionKindMiddleware:
    """Citizens never reach staff pages and staff sessions never reach citizen pages; citizen
    sessions idle out after CITIZEN_SESSION_IDLE_SECONDS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        path = request.path_info
        if user is not None and user.is_authenticated and not path.startswith(OPEN_PREFIXES):
            is_citizen_path = path.startswith(CITIZEN_PREFIX)
            if user.is_citizen:
                request.session.set_expiry(settings.CITIZEN_SESSION_IDLE_SECONDS)
                if not is_citizen_path:
                    return render(request, "403.html", status=403)
            elif is_citizen_path and not path.startswith(CITIZEN_PREFIX + "logga-in"):
                return render(request, "403.html", status=403)
        return self.get_response(request)
