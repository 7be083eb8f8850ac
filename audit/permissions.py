from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

REVIEW_PERM = "accounts.review_access_log"


def reviewer_required(view):
    """Log reviewers only (accounts.review_access_log): anonymous users go to the login page, every
    other user gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_citizen or not user.has_perm(REVIEW_PERM):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
