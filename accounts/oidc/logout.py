"""Logout that reaches the provider (OpenID Connect RP-Initiated Logout 1.0).

At login, the flow's callback keeps in the session what ending the provider's session needs (its
end-session endpoint, the ID token as id_token_hint, our client id and the page to come back to),
if the provider has an end-session endpoint. Logout then sends the browser there, so that the next
person at a shared computer is asked to log in again rather than let in silently.

The logout is a form POST answered with a redirect to the provider; browsers hold a form's redirect
chain to the page's CSP `form-action`. `CSPMiddleware` therefore adds exactly that endpoint's origin
to `form-action`, on the pages of a session that will log out there, and on no other.
"""

from __future__ import annotations

from urllib.parse import urlencode

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.http import HttpRequest

from .provider import Provider

SESSION_KEY = "oidc_end_session"


def end_session_remember(
    request: HttpRequest, *, provider: Provider, id_token: str | None, client_id: str, return_to: str
) -> None:
    """Called right after login, in the session the login made."""
    if not provider.end_session_endpoint or not id_token:
        request.session.pop(SESSION_KEY, None)
        return
    request.session[SESSION_KEY] = {
        "endpoint": provider.end_session_endpoint,
        "origin": provider.end_session_origin,
        "id_token_hint": id_token,
        "client_id": client_id,
        "post_logout_redirect_uri": request.build_absolute_uri(return_to),
    }


def end_session_url(request: HttpRequest) -> str | None:
    """Where to send the browser to end the provider's session too (call before logging out)."""
    data = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not data:
        return None
    query = urlencode(
        {
            "id_token_hint": data["id_token_hint"],
            "post_logout_redirect_uri": data["post_logout_redirect_uri"],
            "client_id": data["client_id"],
        }
    )
    endpoint = data["endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware, with the provider's end-session origin in `form-action` for a
    session that logs out there. `get_policy_parts` is django-csp's documented extension point."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        session = getattr(request, "session", None)
        data = session.get(SESSION_KEY) if session is not None else None
        if data and data.get("origin"):
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", []), data["origin"]]
            parts.update = update
        return parts
