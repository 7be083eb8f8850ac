from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

MANAGE_MEMBERSHIP = "accounts.manage_membership"
MANAGE_ROLES = "accounts.manage_roles"


def require_perm(perm: str):
    """Staff with `perm` only: anonymous users go to the login page, everyone else gets 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.user.is_citizen or not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


membership_required = require_perm(MANAGE_MEMBERSHIP)
roles_required = require_perm(MANAGE_ROLES)
