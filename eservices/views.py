from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import TestEidLoginForm
from .models import Citizen


def citizen_required(view):
    """Only a logged-in citizen; staff are stopped earlier by SessionKindMiddleware."""

    @login_required(login_url="eservices:login")
    def wrapper(request, *args, **kwargs):
        if not request.user.is_citizen:
            raise Http404
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


def citizen_login(request):
    """Start page for citizens: e-ID through OIDC in production, a labelled test login in development."""
    if request.user.is_authenticated and request.user.is_citizen:
        return redirect("eservices:portal")
    form = None
    if settings.CITIZEN_TEST_LOGIN_ENABLED:
        form = TestEidLoginForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            citizen = (
                Citizen.objects.select_related("user")
                .filter(personnummer=form.cleaned_data["personnummer"])
                .first()
            )
            if citizen is None:
                form.add_error(None, _no_citizen_message())
            else:
                if request.user.is_authenticated:
                    logout(request)
                login(request, citizen.user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("eservices:portal")
    return render(
        request,
        "eservices/login.html",
        {"form": form, "oidc_enabled": settings.CITIZEN_OIDC_ENABLED},
    )


def _no_citizen_message():
    from django.utils.translation import gettext as _

    return _("We have no messages for this personal identity number.")


@require_POST
def citizen_logout(request):
    logout(request)
    return redirect("eservices:login")


@citizen_required
def portal(request):
    citizen = request.user.citizen
    cases = citizen.cases.select_related("eservice", "thread").order_by("eservice__name", "-created_at")
    return render(request, "eservices/portal.html", {"citizen": citizen, "cases": cases})
