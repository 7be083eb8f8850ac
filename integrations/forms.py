from django import forms
from django.utils.translation import gettext_lazy as _


class ExportForm(forms.Form):
    """Which messages of the thread go into the PDF (all are checked to begin with)."""

    messages = forms.TypedMultipleChoiceField(
        label=_("Messages to export"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one message to export."),
            "invalid_choice": _("A chosen message is not in this thread. Reload the page and try again."),
        },
    )

    # A key made when the form is shown: the same form sent twice journals once.
    request_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, message_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["messages"].choices = [(pk, str(pk)) for pk in message_ids]
