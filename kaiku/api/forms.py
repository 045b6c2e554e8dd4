"""The form on the API keys page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.api.models import Scope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses this key, e.g. “Helpdesk integration”."),
    )
    scope = forms.ChoiceField(label=_("Access"), choices=Scope.choices, initial=Scope.READ)
    expires_on = forms.DateField(
        label=_("Valid until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The key stops working at the end of this day. Empty: until revoked."),
    )

    def __init__(self, *args: Any, time_zone: dt.tzinfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name."))
        return name

    def clean_expires_on(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("expires_on")
        if day is not None and day < timezone.localdate(timezone=self.time_zone):
            raise forms.ValidationError(_("Choose today or a later day."))
        return day

    def expires_at(self) -> dt.datetime | None:
        """The end of the chosen day in the workspace's time zone."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.time_zone)
