from __future__ import annotations

import re

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mailboxes.forms import AttachmentsMixin

from . import personnummer
from .models import Citizen, ConversationTopic, EService

BODY_MAX_LENGTH = 20_000


class TestEidLoginForm(forms.Form):
    personnummer = forms.CharField(
        label=_("Personal identity number"),
        help_text=_("12 digits, for example 19121212-1212."),
        max_length=13,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_personnummer(self) -> str:
        return personnummer.normalise(self.cleaned_data["personnummer"])


def _body_field() -> forms.CharField:
    return forms.CharField(
        label=_("Your message"),
        max_length=BODY_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": _("Write a message before you send.")},
    )


class CitizenMessageForm(AttachmentsMixin):
    """A citizen's message in their case. A form that comes back with an error keeps the citizen's
    accepted uploads (AttachmentsMixin): the view calls keep_uploads(), the service attaches
    kept_uploads() with the new files."""

    body = _body_field()
    field_order = ["body", "attachments", "kept_attachments"]


TOPIC_HELP = {
    ConversationTopic.Topic.CHILDREN_FAMILY: _("questions about children, young people and families"),
    ConversationTopic.Topic.ADULTS: _("questions about your own situation as an adult"),
}


class TopicChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ConversationTopic) -> str:
        hint = TOPIC_HELP.get(obj.topic)
        return f"{obj.get_topic_display()} – {hint}" if hint else str(obj.get_topic_display())


class ConversationStartForm(AttachmentsMixin):
    topic = TopicChoiceField(
        queryset=ConversationTopic.objects.none(),
        label=_("What is your message about?"),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": _("Choose what your message is about.")},
    )
    subject = forms.CharField(
        label=_("Subject"),
        help_text=_("A few words, for example “Question about a meeting”."),
        max_length=120,
        error_messages={"required": _("Write a subject.")},
    )
    body = _body_field()
    field_order = ["topic", "subject", "body", "attachments", "kept_attachments"]

    def __init__(self, *args, eservice: EService, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.eservice = eservice
        topics = eservice.topics.select_related("unit").order_by("position", "id")
        if topics.exists():
            self.fields["topic"].queryset = topics
        else:
            del self.fields["topic"]


PHONE_RE = re.compile(r"^\+[1-9]\d{7,14}$")


def normalise_mobile(value: str) -> str:
    """A Swedish mobile number (07x…) or an international one (+…), stored as E.164."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"07\d{8}", digits):
        digits = "+46" + digits[1:]
    if not PHONE_RE.fullmatch(digits) or (
        digits.startswith("+46") and not re.fullmatch(r"\+467\d{8}", digits)
    ):
        raise ValidationError(
            _("Enter a mobile number, for example 070-123 45 67 or +46 70 123 45 67."), code="invalid"
        )
    return digits


class NotificationSettingsForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("How do you want to be told about new messages?"),
        choices=Citizen.Channel.choices,
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "").strip()
        return normalise_mobile(value) if value else ""

    def clean(self):
        data = super().clean()
        channel = data.get("channel")
        wants_email = channel in (Citizen.Channel.EMAIL, Citizen.Channel.BOTH)
        wants_sms = channel in (Citizen.Channel.SMS, Citizen.Channel.BOTH)
        if wants_email and not data.get("email") and "email" not in self.errors:
            self.add_error("email", _("Enter the e-mail address we should write to."))
        if wants_sms and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Enter the mobile number we should text."))
        return data


# --- staff: case assignment -------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=None, required=False, label=_("Unit"))
    eservice = forms.ModelChoiceField(
        queryset=EService.objects.order_by("name"), required=False, label=_("E-service")
    )
    without_handler = forms.BooleanField(required=False, label=_("Only cases without a handler"))
    q = forms.CharField(
        required=False,
        max_length=100,
        label=_("Search"),
        help_text=_("Case number, subject, citizen's name or full personal identity number."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].empty_label = _("All my units")
        self.fields["eservice"].empty_label = _("All e-services")


class StaffChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, away_ids=(), members=(), **kwargs):
        self.away_ids = set(away_ids)
        self.member_ids = set(members)
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        return _staff_label(obj, self.away_ids, self.member_ids)


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, *args, away_ids=(), members=(), **kwargs):
        self.away_ids = set(away_ids)
        self.member_ids = set(members)
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        return _staff_label(obj, self.away_ids, self.member_ids)


def _staff_label(user, away_ids: set[int], member_ids: set[int]) -> str:
    label = user.display_name
    notes = []
    if user.pk in away_ids:
        notes.append(str(_("away")))
    if user.pk not in member_ids:
        notes.append(str(_("no longer in the unit")))
    return f"{label} ({', '.join(notes)})" if notes else label


class CaseAssignForm(forms.Form):
    """Handler and co-handlers, picked among the case unit's members. People assigned earlier who
    have since left the unit stay selectable (so saving does not drop them unnoticed) but cannot be
    newly added."""

    handler = StaffChoiceField(
        queryset=None,
        required=False,
        label=_("Handler"),
        help_text=_("Without a handler, the citizen's messages go to the unit's group mailbox."),
    )
    co_handlers = StaffMultipleChoiceField(
        queryset=None,
        required=False,
        label=_("Co-handlers"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Co-handlers may also send messages to the citizen."),
    )
    reason = forms.CharField(
        required=False,
        max_length=500,
        label=_("Note for the log (optional)"),
        widget=forms.TextInput,
    )
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, case, members, away_ids=(), token: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        member_ids = [m.pk for m in members]
        current_ids = set(case.co_handlers.values_list("pk", flat=True))
        if case.handler_id:
            current_ids.add(case.handler_id)
        self.current_ids = current_ids
        self.member_ids = set(member_ids)
        User = get_user_model()
        choices = User.objects.filter(pk__in=set(member_ids) | current_ids).order_by(
            "last_name", "first_name", "id"
        )
        for name in ("handler", "co_handlers"):
            field = self.fields[name]
            field.queryset = choices
            field.away_ids = set(away_ids)
            field.member_ids = self.member_ids
        self.fields["handler"].empty_label = _("No handler")
        self.initial.setdefault("handler", case.handler_id)
        self.initial.setdefault("co_handlers", sorted(current_ids - {case.handler_id}))
        self.initial.setdefault("token", token)

    def clean(self):
        data = super().clean()
        handler = data.get("handler")
        if handler is not None and handler in (data.get("co_handlers") or []):
            self.add_error(
                "co_handlers",
                _("%(name)s is the handler and cannot also be a co-handler.")
                % {"name": handler.display_name},
            )
        return data


class ProtectedIdentityForm(forms.Form):
    protected = forms.BooleanField(
        label=_("Protected identity (skyddad identitet)"),
        required=False,
        help_text=_(
            "Only the handler, co-handlers and staff the case names can then read the citizen's "
            "messages; they never reach a group mailbox, and lists show no name."
        ),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("For example the decision from the Swedish Tax Agency. Recorded in the log."),
        error_messages={"required": _("Say why the protection is set or cleared.")},
    )
