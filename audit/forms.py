from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts import personnummer as pnr
from eservices.models import Citizen
from mailboxes.models import Unit

from .models import AccessLogEntry, LogReview
from .selectors import LogFilters

MAX_SAMPLE = 500


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _blank(choices, label):
    return [("", label), *choices]


class PeriodMixin:
    """date_from / date_to, both optional here, checked to be in order."""

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        return data


class LogSearchForm(PeriodMixin, forms.Form):
    personnummer = forms.CharField(
        label=_("Citizen's personal identity number"),
        required=False,
        max_length=20,
        help_text=_("12 digits, for example 19800101-1234."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    staff = forms.CharField(
        label=_("Staff member"),
        required=False,
        max_length=120,
        help_text=_("User name, or first and/or last name."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    unit = forms.ModelChoiceField(
        label=_("Unit"),
        required=False,
        queryset=Unit.objects.order_by("name"),
        empty_label=_("All units"),
        help_text=_("Reads of the unit's cases and mailbox, and reads by the unit's members."),
    )
    date_from = forms.DateField(label=_("From date"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To date"), required=False, widget=DateInput())
    action = forms.ChoiceField(
        label=pgettext_lazy("access log", "Action"),
        required=False,
        choices=_blank(AccessLogEntry.Action.choices, _("All actions")),
    )
    route = forms.ChoiceField(
        label=_("Access route"), required=False, choices=_blank(AccessLogEntry.Route.choices, _("All routes"))
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.citizen: Citizen | None = None

    @classmethod
    def from_query(cls, query) -> LogSearchForm:
        """Bind to a results URL, where the citizen is named by user id (a personal identity number
        never goes into a URL, so it stays out of server logs and browser history)."""
        data = query.copy()
        citizen_id = data.pop("citizen", [""])[-1]
        data.pop("page", None)
        if citizen_id:
            citizen = Citizen.objects.filter(user_id=citizen_id if citizen_id.isdigit() else 0).first()
            data["personnummer"] = pnr.formatted(citizen.personnummer) if citizen else "-"
        return cls(data)

    def querystring(self) -> str:
        """The results URL's query for the valid form (see from_query)."""
        data = self.cleaned_data
        query = QueryDict(mutable=True)
        if self.citizen is not None:
            query["citizen"] = str(self.citizen.user_id)
        for name in ("staff", "action", "route"):
            if data.get(name):
                query[name] = data[name].strip()
        if data.get("unit") is not None:
            query["unit"] = str(data["unit"].pk)
        for name in ("date_from", "date_to"):
            if data.get(name):
                query[name] = data[name].isoformat()
        return query.urlencode()

    def clean_personnummer(self) -> str:
        value = self.cleaned_data["personnummer"].strip()
        if not value:
            return ""
        number = pnr.normalise(value)
        self.citizen = Citizen.objects.filter(personnummer=number).select_related("user").first()
        if self.citizen is None:
            raise ValidationError(
                _("No citizen with this personal identity number is registered."), code="unknown"
            )
        return number

    def filters(self) -> LogFilters:
        data = self.cleaned_data
        citizen = self.citizen
        return LogFilters(
            citizen_user_id=citizen.user_id if citizen else None,
            staff=data.get("staff", "").strip(),
            unit=data.get("unit"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            action=data.get("action", ""),
            route=data.get("route", ""),
        )


def default_period() -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    return today - dt.timedelta(days=30), today


class ChecksForm(PeriodMixin, forms.Form):
    OUTSIDE = "outside"
    BULK = "bulk"
    PROTECTED = "protected"
    KIN = "kin"
    CLIENT = "client"
    CHECKS = [
        (OUTSIDE, _("Reads by staff outside the case team")),
        (BULK, _("Bulk reads")),
        (PROTECTED, _("Reads of citizens with protected identity")),
        (KIN, _("Reads of citizens with the reader's surname or address")),
        (CLIENT, _("Reads by staff who are themselves clients")),
    ]

    check = forms.ChoiceField(label=_("Check"), choices=CHECKS, widget=forms.RadioSelect)
    date_from = forms.DateField(label=_("From date"), widget=DateInput())
    date_to = forms.DateField(label=_("To date"), widget=DateInput())

    @staticmethod
    def threshold() -> int:
        return settings.ACCESS_LOG_BULK_READ_THRESHOLD


class SampleForm(PeriodMixin, forms.Form):
    date_from = forms.DateField(label=_("From date"), widget=DateInput())
    date_to = forms.DateField(label=_("To date"), widget=DateInput())
    size = forms.IntegerField(
        label=_("Number of entries"),
        min_value=1,
        max_value=MAX_SAMPLE,
        initial=25,
        help_text=format_lazy(
            _("Between 1 and {max} entries are drawn at random from the period."), max=MAX_SAMPLE
        ),
    )


class ReviewConclusionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=LogReview.Outcome.choices, widget=forms.RadioSelect
    )
    conclusion = forms.CharField(
        label=_("Conclusion"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What you checked, what you found and any follow-up (for example who was contacted)."),
    )


class ReviewRecordForm(ReviewConclusionForm):
    """Record a review of the search or check currently shown; the selection is re-read from `query`
    by the view, never trusted as sent."""

    kind = forms.ChoiceField(
        choices=[
            (LogReview.Kind.SEARCH, LogReview.Kind.SEARCH),
            (LogReview.Kind.TARGETED, LogReview.Kind.TARGETED),
        ],
        widget=forms.HiddenInput,
    )
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    period_start = forms.DateField(label=_("Period reviewed, from"), widget=DateInput())
    period_end = forms.DateField(label=_("Period reviewed, to"), widget=DateInput())

    field_order = ["kind", "query", "period_start", "period_end", "outcome", "conclusion"]

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The end date must be on or after the start date."))
        return data


class EventFilterForm(PeriodMixin, forms.Form):
    # area -> the action prefixes it covers (services name actions "<entity>.<verb>").
    AREA_PREFIXES = {
        "membership": ("membership.", "unit.", "mailbox_access."),
        "roles": ("role.",),
        "cases": ("case.", "thread."),
        "absence": ("absence.",),
        "integrations": ("api", "sso."),
        "retention": ("retention.",),
        "log_review": ("log_review.",),
    }
    AREAS = [
        ("", _("All changes")),
        ("membership", _("Units and membership")),
        ("roles", _("Roles")),
        ("cases", _("Cases")),
        ("absence", _("Absence and forwarding")),
        ("integrations", _("Integrations and single sign-on")),
        ("retention", _("Retention")),
        ("log_review", _("Log reviews")),
    ]
    area = forms.ChoiceField(label=_("Area"), required=False, choices=AREAS)
    actor = forms.CharField(
        label=_("Done by"),
        required=False,
        max_length=120,
        help_text=_("User name, or first and/or last name."),
    )
    date_from = forms.DateField(label=_("From date"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To date"), required=False, widget=DateInput())

    def prefixes(self) -> tuple[str, ...]:
        return self.AREA_PREFIXES.get(self.cleaned_data.get("area") or "", ())
