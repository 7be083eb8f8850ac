"""View decorators about who is logged in (staff and citizens share one user table: accounts.models)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.urls import reverse
from django.views.decorators.cache import never_cache


def citizen_required(view):
    """Only a logged-in citizen; anyone else is sent to the citizen login (staff are stopped earlier,
    with 403, by SessionKindMiddleware)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("eservices:login"))
        if not request.user.is_citizen:
            raise Http404
        return view(request, *args, **kwargs)

    return never_cache(wrapper)
