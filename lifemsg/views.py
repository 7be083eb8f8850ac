import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error as django_server_error

logger = logging.getLogger(__name__)


@requires_csrf_token
def server_error(request, template_name: str = "500.html"):
    """A database that cannot be reached is "service unavailable" (503, Swedish page, nothing was
    half-written because every write is one transaction); anything else is the plain 500 page.
    Both templates are static: rendering them needs no database."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("database unavailable: %s", type(exc).__name__)
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = "30"
        return response
    return django_server_error(request, template_name)
