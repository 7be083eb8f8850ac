"""No cache keeps what a signed-in person was shown."""

from django.utils.cache import patch_cache_control


class PrivateNoStoreMiddleware:
    """`Cache-Control: no-store, private` on every answer to a signed-in staff member or citizen, or to
    an API client (a bearer token): such pages show citizens' names, personal identity numbers and
    messages, which neither a shared proxy nor the browser's disk cache (a shared computer, the back
    button after logout) may keep. One place rather than a decorator per view, so that no new page is
    left out. Pages anonymous visitors see stay cacheable; static files are served before this runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            patch_cache_control(response, no_store=True, private=True)
        return response
