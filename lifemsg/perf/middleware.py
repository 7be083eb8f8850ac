"""Replaces the lazy `request.user` with the user itself (fast path; see lifemsg.perf)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, empty

from . import enabled

__all__ = ["ResolvedUserMiddleware"]


class ResolvedUserMiddleware:
    """Replaces the lazy `request.user` (Django's, wrapped again by django-otp) with the user itself.
    Every page asks who the user is before it renders (the idle timeout does), and every attribute
    read through the two lazy wrappers costs a detour: a few hundred reads a page. Must come after
    django_otp's OTPMiddleware, so the user is already verified. With the fast path off, the lazy
    objects stay as Django made them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and enabled():
            while isinstance(user, LazyObject):
                if user._wrapped is empty:
                    user._setup()
                user = user._wrapped
            request.user = user
        return self.get_response(request)
