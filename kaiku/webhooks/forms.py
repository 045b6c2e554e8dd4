"""Forms of the webhooks and event rules pages."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.accounts.models import Workspace
from kaiku.surveys.models import Survey
from kaiku.webhooks import rules
from kaiku.webhooks.models import EVENT_TYPES, MAX_DELAY_MINUTES, PayloadFormat
from kaiku.webhooks.netguard import UnsafeUrl, check_url

URL_ERRORS: dict[str, StrOrPromise] = {
    "invalid": _("Enter a valid URL."),
    "scheme": _("Use an https:// (or http://) URL."),
    "credentials": _("Leave the user name and password out of the URL; check the signature."),
    "private": _(
        "This address is on a private or local network. Webhooks only go to public addresses."
    ),
    "unresolvable": _("This host name does not resolve. Check the spelling."),
}
EVENT_TYPE_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")


def clean_webhook_url(url: str) -> str:
    try:
        check_url(url)
    except UnsafeUrl as exc:
        raise ValidationError(URL_ERRORS.get(exc.code, URL_ERRORS["invalid"])) from None
    return url.strip()


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Where Kaiku POSTs the events, e.g. https://example.com/hooks/kaiku."),
    )
    description = forms.CharField(label=_("Description (optional)"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["response.created"],
    )
    payload_format = forms.ChoiceField(
        label=_("Payload format"),
        choices=PayloadFormat.choices,
        initial=PayloadFormat.KAIKU,
        help_text=_("Delighted-compatible suits receivers written for Delighted's webhooks."),
    )

    def __init__(self, *args: Any, current_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_url = current_url

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        if url == self.current_url:  # unchanged: checked again at every send anyway
            return url
        return clean_webhook_url(url)


class RuleForm(forms.Form):
    event_type = forms.CharField(
        label=_("Event type"),
        max_length=100,
        help_text=_("As your helpdesk or CRM sends it, e.g. ticket.solved or order.delivered."),
    )
    survey = forms.ModelChoiceField(label=_("Survey"), queryset=Survey.objects.none())
    delay_minutes = forms.IntegerField(
        label=_("Delay (minutes)"),
        min_value=0,
        max_value=MAX_DELAY_MINUTES,
        initial=0,
        help_text=_("How long after the event the invitation is sent (at most 30 days)."),
    )
    conditions = forms.CharField(
        label=_("Conditions (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            "One per line: property eq value, property neq value, "
            "property in value1, value2, or property exists. All must hold."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        survey_field = self.fields["survey"]
        assert isinstance(survey_field, forms.ModelChoiceField)
        survey_field.queryset = Survey.objects.filter(workspace=workspace)

    def clean_event_type(self) -> str:
        value: str = self.cleaned_data["event_type"].strip()
        if not EVENT_TYPE_NAME.match(value):
            raise ValidationError(_("Use letters, digits and . _ : - only, e.g. ticket.solved."))
        return value

    def clean_conditions(self) -> list[dict[str, Any]]:
        return rules.parse_text(self.cleaned_data.get("conditions") or "")
