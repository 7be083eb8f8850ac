"""Forms for planning an absence, taking a sick call and finding a handler. Dates are local
(Europe/Stockholm); a date without a time means the whole day."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailboxes.models import Mailbox

from .models import Absence
from .selectors import default_forward_target, forward_target_choices
from .timeutil import end_of, split_end, split_start, start_of

DATE_WIDGET = {"type": "date"}
TIME_WIDGET = {"type": "time"}


def target_label(mailbox: Mailbox) -> str:
    if mailbox.kind == Mailbox.Kind.GROUP:
        return _("Group mailbox: %(name)s") % {"name": mailbox.name}
    return _("Deputy: %(name)s (personal mailbox)") % {"name": mailbox.name}


class ForwardTargetMixin:
    """A `forward_to` choice among the handler's allowed targets (group mailboxes of their units,
    named deputies where the unit allows it); preselected when there is only one unit."""

    def _setup_target(self, handler, initial: Mailbox | None) -> None:
        self.targets = {m.pk: m for m in forward_target_choices(handler)}
        field = self.fields["forward_to"]
        field.choices = [("", _("Choose where messages go"))] + [
            (pk, target_label(m)) for pk, m in self.targets.items()
        ]
        default = initial or default_forward_target(handler, list(self.targets.values()))
        if default is not None and not self.is_bound:
            self.initial["forward_to"] = default.pk

    def clean_forward_to(self) -> Mailbox:
        value = self.cleaned_data["forward_to"]
        try:
            return self.targets[int(value)]
        except (KeyError, TypeError, ValueError):
            raise forms.ValidationError(_("Choose where messages go."), code="invalid_choice")


class OwnAbsenceForm(ForwardTargetMixin, forms.Form):
    start_date = forms.DateField(
        label=_("First day"), widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(
        label=_("From time (optional)"),
        required=False,
        help_text=_("Leave empty to start at the beginning of the day."),
        widget=forms.TimeInput(attrs=TIME_WIDGET, format="%H:%M"),
    )
    end_date = forms.DateField(
        label=_("Last day"), widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d")
    )
    end_time = forms.TimeField(
        label=_("Until time (optional)"),
        required=False,
        help_text=_("Leave empty to be away the whole last day."),
        widget=forms.TimeInput(attrs=TIME_WIDGET, format="%H:%M"),
    )
    forward_to = forms.ChoiceField(label=_("Forward my messages to"))
    message_to_colleagues = forms.CharField(
        label=_("Out-of-office text for colleagues"),
        required=False,
        max_length=1000,
        help_text=_("Shown to colleagues who write to you while you are away."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    message_to_citizens = forms.CharField(
        label=_("Out-of-office text for citizens (optional)"),
        required=False,
        max_length=1000,
        help_text=_(
            "Leave empty to use the standard text: that you are away and that colleagues read the "
            "message. Do not write anything about a case or why you are away."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    show_return_date_to_citizens = forms.BooleanField(label=_("Tell citizens when I am back"), required=False)
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        help_text=_("Only you and the administrators who handle sick calls see this."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, handler, instance: Absence | None = None, now: datetime | None = None, **kw):
        self.handler = handler
        self.instance = instance
        self.now = now or timezone.now()
        if instance is not None and "initial" not in kw:
            start_day, start_at = split_start(instance.starts_at)
            end_day, end_at = split_end(instance.ends_at)
            kw["initial"] = {
                "start_date": start_day,
                "start_time": start_at,
                "end_date": end_day,
                "end_time": end_at,
                "forward_to": instance.forward_to_id,
                "message_to_colleagues": instance.message_to_colleagues,
                "message_to_citizens": instance.message_to_citizens,
                "show_return_date_to_citizens": instance.show_return_date_to_citizens,
                "reason": instance.reason,
            }
        super().__init__(*args, **kw)
        self._setup_target(handler, instance.forward_to if instance else None)
        self.started = instance is not None and instance.starts_at <= self.now
        # A sick leave may stay open-ended; a planned absence always has a last day.
        self.open_ended_allowed = instance is not None and instance.kind == Absence.Kind.UNPLANNED
        if self.open_ended_allowed:
            self.fields["end_date"].required = False
            self.fields["end_date"].label = _("Last day (optional)")
            self.fields["end_date"].help_text = _("Leave empty to stay away until further notice.")
        if self.started:
            # An absence under way keeps its start; only the rest can change.
            for name in ("start_date", "start_time"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("The absence has begun; its start cannot be changed.")

    def clean(self):
        data = super().clean()
        start_day, end_day = data.get("start_date"), data.get("end_date")
        open_ended = end_day is None and self.open_ended_allowed and "end_date" not in self.errors
        if start_day is None or (end_day is None and not open_ended):
            return data
        today = timezone.localdate(self.now)
        starts_at = start_of(start_day, data.get("start_time"))
        ends_at = None if open_ended else end_of(end_day, data.get("end_time"))
        if self.started:
            starts_at = self.instance.starts_at
        elif start_day < today:
            self.add_error("start_date", _("The first day cannot be in the past."))
            return data
        if ends_at is None:
            pass
        elif ends_at <= starts_at:
            self.add_error(
                "end_date", _("The last day must be on or after the first day, and end after it starts.")
            )
        elif ends_at <= self.now:
            self.add_error("end_date", _("The end has already passed."))
        data["starts_at"] = starts_at
        data["ends_at"] = ends_at
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "starts_at": d["starts_at"],
            "ends_at": d["ends_at"],
            "forward_to": d["forward_to"],
            "message_to_colleagues": d["message_to_colleagues"],
            "message_to_citizens": d["message_to_citizens"],
            "show_return_date_to_citizens": d["show_return_date_to_citizens"],
            "reason": d["reason"],
        }

    def preview_absence(self) -> Absence:
        """An unsaved Absence with what was typed, to show what citizens and colleagues will see."""
        kind = self.instance.kind if self.instance is not None else Absence.Kind.PLANNED
        return Absence(handler=self.handler, kind=kind, **self.service_kwargs())


class SickCallForm(ForwardTargetMixin, forms.Form):
    until = forms.DateField(
        label=_("Last day of absence (optional)"),
        required=False,
        help_text=_("Leave empty for an open-ended absence (sick leave); it is then ended by hand."),
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
    )
    forward_to = forms.ChoiceField(label=_("Forward messages to"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("For example who called and when. Seen only by those who handle absences."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, handler, now: datetime | None = None, **kw):
        self.handler = handler
        self.now = now or timezone.now()
        super().__init__(*args, **kw)
        self._setup_target(handler, None)

    def clean_until(self):
        day = self.cleaned_data.get("until")
        if day is not None and day < timezone.localdate(self.now):
            raise forms.ValidationError(_("The last day cannot be in the past."))
        return day

    def ends_at(self) -> datetime | None:
        day = self.cleaned_data.get("until")
        return end_of(day) if day else None


class StaffSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a handler"),
        max_length=100,
        required=False,
        help_text=_("First name, last name or username."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
