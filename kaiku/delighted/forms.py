"""The Delighted settings form: which survey Delighted clients use, and Autopilot."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kaiku.delighted.models import DelightedSettings
from kaiku.surveys.models import Survey


class DelightedSettingsForm(forms.ModelForm):
    class Meta:
        model = DelightedSettings
        fields = ["target_survey", "autopilot_active", "autopilot_frequency_days"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["target_survey"]
        assert isinstance(field, forms.ModelChoiceField)
        # Only this workspace's surveys: another tenant's ids are not even offered.
        field.queryset = Survey.objects.filter(workspace_id=self.instance.workspace_id)
        field.empty_label = _("The first NPS survey (default)")
        frequency = self.fields["autopilot_frequency_days"]
        assert isinstance(frequency, forms.IntegerField)
        frequency.min_value = 1
        frequency.max_value = 3650
        frequency.widget.attrs.update({"min": 1, "max": 3650})
