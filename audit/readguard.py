"""Helpers for views that show citizen data: the read must be logged first, and if the entry cannot
be written the user gets an error page and none of the data."""

from functools import wraps

from django.shortcuts import render

from .services import AccessLogError


def log_unavailable_response(request):
    return render(request, "audit/log_unavailable.html", status=503)


def refuse_unlogged_reads(view):
    """Wrap a view that calls access_log_record before rendering: an AccessLogError becomes a 503
    page that shows nothing of what was asked for."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except AccessLogError:
            return log_unavailable_response(request)

    return wrapper
