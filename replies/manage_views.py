"""The unit manager's pages for the unit's saved replies, and the handläggare's reminder setting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mailboxes.permissions import staff_mailbox_required

from . import selectors, services
from .forms import SavedReplyForm, WaitingMailSettingForm
from .models import SavedReply, WaitingMailSetting
from .notice import waiting_mail_setting_set
from .permissions import access_saved_reply_to_manage, managed_units, require_unit_manager


@login_required
@require_http_methods(["GET"])
def saved_list(request):
    require_unit_manager(request.user)
    units = managed_units(request.user)
    context = {"units": units, "saved_replies": selectors.saved_replies_managed(units=units)}
    return render(request, "replies/saved_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def saved_create(request):
    require_unit_manager(request.user)
    units = managed_units(request.user)
    form = SavedReplyForm(
        request.POST if request.method == "POST" else None, units=units, instance=SavedReply()
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.saved_reply_create(
            unit=data["unit"], title=data["title"], body=data["body"], actor=request.user
        )
        messages.success(request, _("The saved reply has been created."))
        return redirect("replies:saved_list")
    status = 400 if form.errors else 200
    return render(request, "replies/saved_form.html", {"form": form, "saved": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def saved_edit(request, saved_reply_id: int):
    saved = access_saved_reply_to_manage(user=request.user, saved_reply_id=saved_reply_id)
    form = SavedReplyForm(
        request.POST if request.method == "POST" else None, units=managed_units(request.user), instance=saved
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = SavedReply.objects.select_related("unit").get(pk=saved.pk)  # unchanged by the form
        saved.unit = data["unit"]
        services.saved_reply_update(saved=saved, title=data["title"], body=data["body"], actor=request.user)
        messages.success(request, _("The saved reply has been changed."))
        return redirect("replies:saved_list")
    status = 400 if form.errors else 200
    return render(request, "replies/saved_form.html", {"form": form, "saved": saved}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def saved_delete(request, saved_reply_id: int):
    saved = access_saved_reply_to_manage(user=request.user, saved_reply_id=saved_reply_id)
    if request.method == "POST":
        services.saved_reply_delete(saved=saved, actor=request.user)
        messages.success(request, _("The saved reply has been deleted."))
        return redirect("replies:saved_list")
    return render(request, "replies/saved_delete.html", {"saved": saved})


@require_http_methods(["GET", "POST"])
@staff_mailbox_required
def notice_settings(request):
    current = WaitingMailSetting.objects.filter(user=request.user).first()
    initial = {"daily_email": bool(current and current.daily_email)}
    form = WaitingMailSettingForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        waiting_mail_setting_set(user=request.user, daily_email=form.cleaned_data["daily_email"])
        messages.success(request, _("Your choice has been saved."))
        return redirect("replies:notice_settings")
    return render(
        request, "replies/notice_settings.html", {"form": form, "has_email": bool(request.user.email)}
    )
