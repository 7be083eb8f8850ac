"""The form for a retention rule's new version (retention_rules.services.rule_change)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retention_rules.models import KeepReason, Kind, RetentionRule
from retention_rules.rules import rule_validate


class RuleForm(forms.Form):
    period = forms.IntegerField(
        label=_("Retention period"),
        required=False,
        min_value=1,
        max_value=36500,
        help_text=_("How long the records are kept. Leave it empty if they are to be kept for good."),
        error_messages={
            "invalid": _("Enter the period as a whole number."),
            "min_value": _("The period must be at least 1."),
            "max_value": _("The period can be at most 36500."),
        },
    )
    unit = forms.ChoiceField(label=_("Unit of the period"), choices=RetentionRule.Unit.choices)
    decision = forms.CharField(
        label=_("Decision"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The archive authority's decision the rule follows, e.g. its reference number and date."),
        error_messages={"required": _("Enter the decision the rule follows.")},
    )
    research_sample = forms.BooleanField(
        label=_("Keep the research sample: people born on the 5th, 15th and 25th of a month (SoL 12:2)"),
        required=False,
    )
    active_from = forms.DateField(
        label=_("In effect from"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Today or a later date."),
        error_messages={
            "required": _("Enter the date the rule comes into effect."),
            "invalid": _("Enter a valid date."),
        },
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=500,
        help_text=_("Saved in the change log."),
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_active_from(self):
        value = self.cleaned_data["active_from"]
        if value < timezone.localdate():
            raise ValidationError(_("The date has passed. Choose today or a later date."), code="past")
        return value

    def clean(self):
        data = super().clean()
        try:
            rule_validate(
                kind=self.kind, period=data.get("period"), research_sample=data.get("research_sample", False)
            )
        except ValidationError as exc:
            self.add_error("research_sample" if exc.code == "research_sample" else "period", exc)
        return data


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the run is cancelled"),
        required=False,
        max_length=500,
        help_text=_("Saved in the change log."),
    )


class ItemFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of record"),
        required=False,
        choices=[("", _("All kinds"))]
        + [
            (k, label)
            for k, label in Kind.choices
            if k in (Kind.CITIZEN_THREAD, Kind.INTERNAL_THREAD, Kind.ATTACHMENT)
        ],
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("All")), ("delete", _("To be removed"))] + list(KeepReason.choices),
    )
