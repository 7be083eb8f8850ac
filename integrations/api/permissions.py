from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from ..models import ApiClient


class HasScopes(BasePermission):
    """The view's `required_scopes[method]` must all be granted to the calling client."""

    def has_permission(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return False
        # HEAD is GET without the body: the same answer (an existence oracle, the size in
        # Content-Length), so the same scopes. Django's View serves HEAD with the view's get().
        method = "GET" if request.method == "HEAD" else request.method
        required = view.required_scopes.get(method, ())
        missing = [scope for scope in required if not client.has_scope(scope)]
        if missing:
            self.message = _("This token lacks the scope %(scopes)s.") % {"scopes": ", ".join(missing)}
            return False
        return True
