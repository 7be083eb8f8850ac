from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from .forms import StaffAuthenticationForm


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True


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
