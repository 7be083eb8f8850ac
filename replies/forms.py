from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mailboxes.forms import BODY_MAX

from .models import SavedReply


class SavedReplyForm(forms.ModelForm):
    class Meta:
        model = SavedReply
        fields = ["unit", "title", "body"]
        labels = {"unit": _("Unit"), "title": _("Title"), "body": _("Text")}
        help_texts = {
            "title": _("Shown in the list when a reply is written."),
            "body": _(
                "You may use {handläggare} for the name of the person sending and {enhet} for the "
                "unit's name. Nothing about the citizen or the case can be filled in."
            ),
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].empty_label = None
        self.fields["body"].max_length = BODY_MAX
        self.fields["title"].strip = True


class WaitingMailSettingForm(forms.Form):
    daily_email = forms.BooleanField(
        label=_("E-mail me on working days when citizen messages wait unread in my personal mailbox"),
        help_text=_(
            "The e-mail says only how many messages wait, with a link to your mailbox: never what "
            "they say, who wrote them or which case. It is not sent while you are away, nor when "
            "nothing waits."
        ),
        required=False,
    )
