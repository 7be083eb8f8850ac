from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.roles import ALL_ROLES, ROLE_LABELS

from .selectors import staff_addable


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        name = f"{obj.last_name}, {obj.first_name}".strip(", ")
        return f"{name} ({obj.username})" if name else obj.username


class MemberAddForm(forms.Form):
    user = StaffChoiceField(
        label=_("Staff member to add"),
        queryset=None,
        empty_label=_("Choose a staff member"),
        help_text=_("Members reach the unit's group mailbox at once."),
        error_messages={"required": _("Choose who to add."), "invalid_choice": _("Choose who to add.")},
    )

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff_addable(unit=unit)


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        required=False,
        choices=[(name, ROLE_LABELS[name]) for name in ALL_ROLES],
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=500,
        help_text=_("For example the decision or ticket the change is based on. Saved in the change log."),
    )


class StaffSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or user name"), required=False, max_length=120)
    role = forms.ChoiceField(
        label=_("Role"),
        required=False,
        choices=[("", _("All roles"))] + [(n, ROLE_LABELS[n]) for n in ALL_ROLES],
    )
