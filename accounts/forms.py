from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class StaffAuthenticationForm(AuthenticationForm):
    """Staff login; citizens log in through e-ID only."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username or password. Note that both fields are case-sensitive."),
        "not_staff": _("This login is for staff. Citizens log in with e-ID."),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_citizen:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")
