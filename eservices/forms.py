from django import forms
from django.utils.translation import gettext_lazy as _

from . import personnummer


class TestEidLoginForm(forms.Form):
    personnummer = forms.CharField(
        label=_("Personal identity number"),
        help_text=_("12 digits, for example 19121212-1212."),
        max_length=13,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_personnummer(self) -> str:
        return personnummer.normalise(self.cleaned_data["personnummer"])
