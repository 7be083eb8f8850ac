from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from mailboxes.services import mailbox_personal_for

from .enrolment import enrolment_complete, enrolment_link_valid, pending_device, recovery_code_used
from .forms import OtpTokenForm, StaffAuthenticationForm
from .oidc.logout import end_session_url
from .otp import confirmed_device, qr_data_uri, recovery_device, secret_base32
from .tools import staff_tools


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


@login_required
def home(request):
    """Landing page per role: staff who work in mailboxes land in the workspace on their own
    mailbox; everyone else sees the tools their roles give them, and nothing else."""
    user = request.user
    if user.is_citizen:
        return redirect("eservices:portal")
    if user.has_perm("accounts.use_mailboxes"):
        # Made on first need, so someone new lands in the workspace before any mail reached them.
        return redirect("mailboxes:mailbox", mailbox_id=mailbox_personal_for(user).pk)
    return render(request, "accounts/home.html", {"links": staff_tools(user)})


@require_POST
def keepalive(request):
    """The idle-warning dialog's "stay logged in": any non-passive request counts as activity."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse(status=204)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("accounts:home")


def _staff_otp_user(request):
    if request.user.is_citizen or not settings.STAFF_OTP_ENABLED:
        raise Http404
    return request.user


@login_required
def otp_setup(request):
    """Where a staff member without a second factor is sent: enrolment needs a link from an
    administrator, never the password alone, so this page only says so."""
    user = _staff_otp_user(request)
    if confirmed_device(user) is not None and not user.is_verified():
        return redirect("accounts:otp_verify")
    return render(request, "accounts/otp_setup.html", {"next": _safe_next(request)})


@login_required
def otp_enrol(request, token: str):
    """Enrol with the one-time link: scan, confirm a code, see the recovery codes once."""
    user = _staff_otp_user(request)
    if enrolment_link_valid(user=user, token=token) is None:
        return render(request, "accounts/otp_link_invalid.html", status=410)
    device = pending_device(user)
    form = OtpTokenForm(request.POST or None, devices=[device])
    if request.method == "POST" and form.is_valid():
        try:
            codes = enrolment_complete(user=user, token=token, device=device)
        except ValidationError:  # used or expired between the two requests
            return render(request, "accounts/otp_link_invalid.html", status=410)
        otp_login(request, device)
        response = render(
            request, "accounts/otp_recovery_codes.html", {"codes": codes, "next": _safe_next(request)}
        )
        response["Cache-Control"] = "no-store"
        return response
    context = {"form": form, "qr": qr_data_uri(device), "secret": secret_base32(device)}
    response = render(request, "accounts/otp_enrol.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def otp_verify(request):
    device = confirmed_device(request.user) if not request.user.is_citizen else None
    if device is None:
        raise Http404
    form = OtpTokenForm(request.POST or None, devices=[device, recovery_device(request.user)])
    if request.method == "POST" and form.is_valid():
        otp_login(request, form.device_used)
        if form.device_used != device:
            left = recovery_code_used(user=request.user)
            text = _("Recovery code used, %(left)s left. Lost your phone? Ask for a new enrolment link.")
            messages.warning(request, text % {"left": left})
        return redirect(_safe_next(request))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _safe_next(request)})
