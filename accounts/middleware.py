import time

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from .idle import LAST_ACTIVITY_KEY, idle_seconds_for
from .otp import confirmed_device, otp_required_for, sso_satisfies

CITIZEN_PREFIX = "/medborgare/"
# Reachable by anyone whatever their session: assets, language switch, health, public pages, and
# /metrics (its bearer token decides, not a session).
OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz", "/metrics", "/tillganglighet/", "/favicon", "/session/")


class SessionKindMiddleware:
    """Citizens never reach staff pages and staff sessions never reach citizen pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        path = request.path_info
        if user is not None and user.is_authenticated and not path.startswith(OPEN_PREFIXES):
            is_citizen_path = path.startswith(CITIZEN_PREFIX)
            if user.is_citizen:
                if not is_citizen_path:
                    return render(request, "403.html", status=403)
            elif is_citizen_path and not path.startswith(CITIZEN_PREFIX + "logga-in"):
                return render(request, "403.html", status=403)
        return self.get_response(request)


class IdleTimeoutMiddleware:
    """Log out after STAFF_SESSION_IDLE_SECONDS (citizens: CITIZEN_SESSION_IDLE_SECONDS) without
    activity. Views marked @idle_passive (background polling) are not activity."""

    SESSION_KEY = LAST_ACTIVITY_KEY
    RESOLUTION = 15

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        now = time.time()
        if user is not None and user.is_authenticated:
            last = request.session.get(self.SESSION_KEY)
            if last is not None and now - last > idle_seconds_for(user):
                was_citizen = user.is_citizen
                logout(request)
                login_url = reverse("eservices:login" if was_citizen else "accounts:login")
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = login_url
                    return response
                messages.info(request, _("You were logged out because you were inactive for a while."))
                return redirect(f"{login_url}?next={request.path}" if request.method == "GET" else login_url)
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not getattr(request, "idle_passive", False)
            and hasattr(request, "session")
        ):
            last = request.session.get(self.SESSION_KEY)
            # Written at most every RESOLUTION seconds: a session save per request costs three queries.
            if last is None or now - last >= self.RESOLUTION:
                request.session[self.SESSION_KEY] = now
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "idle_passive", False):
            request.idle_passive = True


class SecondFactorMiddleware:
    """With STAFF_OTP_ENABLED, every staff member reaches nothing but the second-factor pages (and
    logout) until they have verified one in this session, or logged in through the staff IdP with
    its multi-factor required (accounts.otp.sso_satisfies). Staff without a device are sent to the
    page that explains the enrolment link; those with one, to the code."""

    ALLOWED = ("/tvastegsverifiering/", "/logga-ut/", "/session/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        path = request.path_info
        if (
            user is not None
            and user.is_authenticated
            and not path.startswith(OPEN_PREFIXES + self.ALLOWED)
            and otp_required_for(user)
            and not user.is_verified()
            and not sso_satisfies(request)
        ):
            target = "accounts:otp_verify" if confirmed_device(user) else "accounts:otp_setup"
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = reverse(target)
                return response
            return redirect(f"{reverse(target)}?next={request.path}")
        return self.get_response(request)
