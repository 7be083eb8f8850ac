from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from .forms import StaffAuthenticationForm
from .oidc.logout import end_session_url


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True


class StaffLogoutView(auth_views.LogoutView):
    """Logout; after a single sign-on login, at the identity provider too (RP-initiated logout), so
    that the next person at the computer is asked to log in there rather than let in silently."""

    def post(self, request, *args, **kwargs):
        provider_url = end_session_url(request)
        response = super().post(request, *args, **kwargs)
        return redirect(provider_url) if provider_url else response


def _first_reachable(names: list[str]) -> str | None:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


@login_required
def home(request):
    """Landing page per role: each role sees the tools it has, and nothing else."""
    user = request.user
    if user.is_citizen:
        return redirect("eservices:portal")
    tools = []
    if user.has_perm("accounts.use_mailboxes"):
        tools.append(("mailboxes:index", "mailboxes"))
    if user.has_perm("accounts.plan_own_absence"):
        tools.append(("absence:mine", "my_absence"))
    if user.has_perm("accounts.take_sick_calls"):
        tools.append(("absence:sick_call", "sick_call"))
    if user.has_perm("accounts.view_unit_overview"):
        tools.append(("absence:unit_overview", "unit_overview"))
    if user.has_perm("accounts.assign_cases"):
        tools.append(("eservices:staff_cases", "cases"))
    if user.has_perm("accounts.manage_membership"):
        tools.append(("administration:units", "units"))
    if user.has_perm("accounts.review_access_log"):
        tools.append(("audit:search", "log_review"))
    links = []
    for url_name, key in tools:
        url = _first_reachable([url_name])
        if url:
            links.append({"url": url, "key": key})
    return render(request, "accounts/home.html", {"links": links})


@require_POST
def keepalive(request):
    """The idle-warning dialog's "stay logged in": any non-passive request counts as activity."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse(status=204)


def _safe_next(request) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("accounts:home")


@login_required
def otp_setup(request):
    from audit.services import audit_event_record

    from .forms import OtpTokenForm
    from .otp import confirmed_device, pending_device, qr_data_uri, secret_base32

    if request.user.is_citizen or not settings.STAFF_OTP_ENABLED:
        raise Http404
    if confirmed_device(request.user) is not None and not request.user.is_verified():
        return redirect("accounts:otp_verify")
    device = pending_device(request.user)
    form = OtpTokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        otp_login(request, device)
        audit_event_record(actor=request.user, action="otp.enrol", target=request.user)
        return redirect(_safe_next(request))
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "qr": qr_data_uri(device),
            "secret": secret_base32(device),
            "next": _safe_next(request),
        },
    )


@login_required
def otp_verify(request):
    from .forms import OtpTokenForm
    from .otp import confirmed_device

    device = confirmed_device(request.user) if not request.user.is_citizen else None
    if device is None:
        raise Http404
    form = OtpTokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        otp_login(request, device)
        return redirect(_safe_next(request))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _safe_next(request)})
