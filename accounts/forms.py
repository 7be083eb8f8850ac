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


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, device=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        verified = False
        if self.device is not None:
            allowed, _data = self.device.verify_is_allowed()
            if not allowed:
                raise forms.ValidationError(_("Too many wrong codes. Wait a moment and try again."))
            verified = self.device.verify_token(token)
        if not verified:
            raise forms.ValidationError(
                _("The code is wrong or has expired. Try the newest code in the app.")
            )
        return token
