"""Units, membership and roles for superusers and system administrators (accounts.manage_membership,
accounts.manage_roles)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.enrolment import enrolment_link_issue
from accounts.roles import ROLE_LABELS
from audit.csvexport import csv_response
from mailboxes.models import Unit

from . import selectors, services
from .forms import MemberAddForm, RolesForm, StaffSearchForm
from .permissions import MANAGE_ROLES, membership_required, roles_required

PAGE_SIZE = 50


def _role_labels(user) -> list[str]:
    return [str(ROLE_LABELS.get(g.name, g.name)) for g in getattr(user, "role_groups", [])]


@membership_required
def units(request: HttpRequest) -> HttpResponse:
    return render(request, "administration/units.html", {"units": selectors.units_overview()})


def _unit_page(request: HttpRequest, unit: Unit, *, add_form: MemberAddForm | None = None, status: int = 200):
    members = list(selectors.unit_members(unit=unit))
    for m in members:
        m.roles = _role_labels(m.user)
        m.other_units = [om.unit.name for om in m.user.unit_memberships.all()]
    return render(
        request,
        "administration/unit.html",
        {
            "unit": unit,
            "members": members,
            "add_form": add_form or MemberAddForm(unit=unit),
            "stray": selectors.unit_stray_access(unit=unit),
            "changes": selectors.unit_changes(unit=unit),
            "printed_at": timezone.localtime(),
        },
        status=status,
    )


@membership_required
def unit(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(Unit.objects.select_related("group_mailbox"), pk=pk)
    return _unit_page(request, obj)


@membership_required
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(Unit.objects.select_related("group_mailbox"), pk=pk)
    form = MemberAddForm(request.POST, unit=obj)
    if not form.is_valid():
        return _unit_page(request, obj, add_form=form, status=400)
    user = form.cleaned_data["user"]
    try:
        services.unit_member_add(unit=obj, user=user, actor=request.user)
    except ValidationError as exc:
        form.add_error("user", exc)
        return _unit_page(request, obj, add_form=form, status=400)
    messages.success(
        request,
        _("%(name)s is now a member of %(unit)s and reaches its group mailbox.")
        % {"name": user.display_name, "unit": obj.name},
    )
    return redirect("administration:unit", pk=obj.pk)


@membership_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    obj = get_object_or_404(Unit.objects.select_related("group_mailbox"), pk=pk)
    membership = obj.memberships.select_related("user").filter(user_id=user_id).first()
    if membership is None:
        raise Http404
    member = membership.user
    if request.method == "POST":
        services.unit_member_remove(unit=obj, user=member, actor=request.user)
        messages.success(
            request,
            _("%(name)s is no longer a member of %(unit)s and no longer reaches its group mailbox.")
            % {"name": member.display_name, "unit": obj.name},
        )
        return redirect("administration:unit", pk=obj.pk)
    return render(
        request,
        "administration/member_remove.html",
        {"unit": obj, "member": member, "open_cases": selectors.open_cases_of(unit=obj, user=member)},
    )


@membership_required
@require_POST
def access_reset(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(Unit, pk=pk)
    summary = services.unit_access_reset(unit=obj, actor=request.user)
    if any(summary.values()):
        messages.success(request, _("Access to the group mailbox now follows the unit's membership exactly."))
    else:
        messages.info(request, _("Access to the group mailbox already followed the unit's membership."))
    return redirect("administration:unit", pk=obj.pk)


def _member_rows(unit_objs):
    for u in unit_objs:
        for m in selectors.unit_members(unit=u):
            yield [
                u.name,
                u.group_mailbox.name,
                m.user.username,
                m.user.last_name,
                m.user.first_name,
                ", ".join(_role_labels(m.user)),
                timezone.localtime(m.created_at).strftime("%Y-%m-%d"),
                "" if m.user.is_active else _("Account disabled"),
                ", ".join(om.unit.name for om in m.user.unit_memberships.all()),
            ]


def _member_header() -> list[str]:
    return [
        _("Unit"),
        _("Group mailbox"),
        _("User name"),
        _("Last name"),
        _("First name"),
        _("Roles"),
        _("Member since"),
        _("Account"),
        _("Also member of"),
    ]


@membership_required
def unit_export(request: HttpRequest, pk: int) -> HttpResponse:
    obj = get_object_or_404(Unit.objects.select_related("group_mailbox"), pk=pk)
    stamp = timezone.localtime().strftime("%Y%m%d")
    return csv_response(f"medlemmar-{obj.slug}-{stamp}.csv", _member_header(), _member_rows([obj]))


@membership_required
def units_export(request: HttpRequest) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d")
    unit_objs = list(Unit.objects.select_related("group_mailbox").order_by("name"))
    return csv_response(f"medlemmar-alla-enheter-{stamp}.csv", _member_header(), _member_rows(unit_objs))


# --- staff and roles ---------------------------------------------------------------------------


@roles_required
def staff(request: HttpRequest) -> HttpResponse:
    form = StaffSearchForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page = Paginator(
        selectors.staff_list(text=data.get("q", ""), role=data.get("role", "")), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for person in page.object_list:
        person.roles = _role_labels(person)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "administration/staff.html", {"form": form, "page": page, "query": query.urlencode()}
    )


@roles_required
@require_http_methods(["GET", "POST"])
def staff_member(request: HttpRequest, user_id: int) -> HttpResponse:
    person = selectors.staff_member(user_id=user_id)
    if person is None:
        raise Http404
    own_account = person.pk == request.user.pk
    current = [g.name for g in person.role_groups]
    form = RolesForm(request.POST if request.method == "POST" else None, initial={"roles": current})
    if request.method == "POST":
        if own_account or not request.user.has_perm(MANAGE_ROLES):
            raise PermissionDenied
        if form.is_valid():
            given, taken = services.staff_roles_set(
                user=person,
                roles=form.cleaned_data["roles"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
            if given or taken:
                messages.success(
                    request, _("The roles of %(name)s have been changed.") % {"name": person.display_name}
                )
            else:
                messages.info(request, _("No roles were changed."))
            return redirect("administration:staff_member", user_id=person.pk)
    person.roles = _role_labels(person)
    return render(
        request,
        "administration/staff_member.html",
        {
            "person": person,
            "form": form,
            "own_account": own_account,
            "memberships": list(person.unit_memberships.all()),
            "changes": selectors.staff_changes(user=person),
            "otp": selectors.staff_second_factor(user=person),
        },
    )


@roles_required
@require_POST
def enrolment_link(request: HttpRequest, user_id: int) -> HttpResponse:
    """Issue a one-time link with which the staff member enrols their second factor (shown once)."""
    person = selectors.staff_member(user_id=user_id)
    if person is None:
        raise Http404
    if person.pk == request.user.pk:
        raise PermissionDenied
    try:
        link, token = enrolment_link_issue(user=person, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("administration:staff_member", user_id=person.pk)
    url = request.build_absolute_uri(reverse("accounts:otp_enrol", args=[token]))
    response = render(
        request, "administration/enrolment_link.html", {"person": person, "link": link, "url": url}
    )
    response["Cache-Control"] = "no-store"
    return response
