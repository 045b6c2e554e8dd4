"""Forms of the import, export and privacy pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kaiku.surveys.models import Survey
from kaiku.transfer.importers.formats import format_choices
from kaiku.transfer.importers.mapping import FIELD_LABELS, FIELDS, IGNORE, PROPERTY
from kaiku.transfer.models import WorkspaceDataPolicy

CONTACTS_ONLY = ""


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    format = forms.ChoiceField(label=_("Format"), choices=format_choices)
    survey = forms.ChoiceField(
        label=_("Import into"),
        help_text=_("Answers go to this survey. Contacts only: people, no answers."),
    )

    def __init__(self, *args: Any, surveys: Sequence[Survey] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(s.pk), s.name) for s in surveys]
        survey = self.fields["survey"]
        assert isinstance(survey, forms.ChoiceField)
        survey.choices = [*choices, (CONTACTS_ONLY, _("Contacts only"))]
        if choices:
            # CONTACTS_ONLY is "", which an unbound field's None would select:
            # an answers export must not become a contacts-only import by default.
            survey.initial = choices[0][0]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; use `kaiku import` on the server instead."),
                params={"mb": settings.IMPORT_MAX_UPLOAD_MB},
            )
        return upload

    def survey_id(self) -> int | None:
        value = self.cleaned_data["survey"]
        return int(value) if value else None


def target_choices(header: str) -> list[tuple[str, Any]]:
    """What a column may hold: a field, a property named after the column, or nothing."""
    return [
        *((name, FIELD_LABELS[name]) for name in FIELDS),
        (PROPERTY + header.strip()[:64], _("Property “%(name)s”") % {"name": header.strip()[:64]}),
        (IGNORE, _("Do not import")),
    ]


class MappingForm(forms.Form):
    """One select per column of the file, prefilled with the format's guess."""

    date_format = forms.CharField(
        label=_("Date format"),
        required=False,
        max_length=40,
        help_text=_("Only for dates that are not ISO 8601, e.g. %d/%m/%Y %H:%M."),
    )
    time_zone = forms.CharField(
        label=_("Time zone of dates without one"),
        required=False,
        max_length=64,
        help_text=_("Empty: the workspace's time zone (UTC for Formbricks and Delighted JSON)."),
    )

    def __init__(
        self,
        *args: Any,
        headers: Sequence[str] = (),
        mapping: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        for index, header in enumerate(self.headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("(no name)"),
                choices=target_choices(header),
                initial=(mapping or {}).get(header, IGNORE),
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data[f"column_{i}"] for i, header in enumerate(self.headers)}


class RetentionForm(forms.ModelForm):
    class Meta:
        model = WorkspaceDataPolicy
        fields = ["retention_months"]
        widgets = {"retention_months": forms.NumberInput(attrs={"min": 1, "max": 240})}

    def clean_retention_months(self) -> int | None:
        value = self.cleaned_data["retention_months"]
        if value is not None and not 1 <= value <= 240:
            raise forms.ValidationError(_("Choose from 1 to 240 months, or leave it empty."))
        return value
