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
    """A code from one of `devices`, tried in order: the authenticator app's, then (when given) a
    recovery code. `device_used` is the one that accepted it."""

    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args, devices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.devices = [d for d in devices if d is not None]
        self.device_used = None

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        for device in self.devices:
            allowed, _data = device.verify_is_allowed()
            if not allowed:
                raise forms.ValidationError(_("Too many wrong codes. Wait a moment and try again."))
            if device.verify_token(token):
                self.device_used = device
                return token
        raise forms.ValidationError(_("The code is wrong or has expired. Try the newest code in the app."))
