from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from ..models import ApiClient


class HasScopes(BasePermission):
    """The view's `required_scopes[method]` must all be granted to the calling client."""

    def has_permission(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return False
        required = view.required_scopes.get(request.method, ())
        missing = [scope for scope in required if not client.has_scope(scope)]
        if missing:
            self.message = _("This token lacks the scope %(scopes)s.") % {"scopes": ", ".join(missing)}
            return False
        return True
