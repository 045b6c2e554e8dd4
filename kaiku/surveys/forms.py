"""Forms of the survey pages: input parsing at the edge, rules in actions.py and the models."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django import forms
from django.db.models import URLField as URLModelField
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import SUPPORTED_LANGUAGES
from kaiku.responses.pages import score_group
from kaiku.surveys.models import MAX_HIDDEN_PROPERTIES, MAX_WIDGET_ORIGINS, Kind, Survey
from kaiku.surveys.texts import default_texts

LANGUAGE_CHOICES = [(code, code.upper()) for code in SUPPORTED_LANGUAGES]
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class NewSurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=Kind.choices,
        initial=Kind.NPS,
        widget=forms.RadioSelect,
        help_text=_(
            "NPS asks 0–10 how likely they are to recommend you; CSAT 1–5 how satisfied "
            "they were; CES 1–7 how easy it was."
        ),
    )
    default_language = forms.ChoiceField(label=_("Default language"), choices=LANGUAGE_CHOICES)


class GeneralForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["name", "is_active", "default_language", "brand_name"]
        help_texts = {
            "is_active": _(
                "Inactive surveys send nothing and their links say the survey is closed."
            ),
            "default_language": _("Used when a contact's language is unknown."),
        }


def _https_urls(db_field: Any, **kwargs: Any) -> Any:
    """Model URL fields as form fields that assume https:// (Django 6's default)."""
    if isinstance(db_field, URLModelField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class FollowUpForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["follow_up_enabled", "promoter_cta_text", "promoter_cta_url"]
        formfield_callback = _https_urls
        help_texts = {
            "promoter_cta_text": _("Shown to promoters on the thank-you page, e.g. “Review us”."),
            "promoter_cta_url": _("Where the button leads, e.g. your review page."),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("promoter_cta_text")) != bool(cleaned.get("promoter_cta_url")):
            raise forms.ValidationError(_("Give both the button text and its link, or neither."))
        return cleaned


class RemindersForm(forms.Form):
    reminder_days = forms.IntegerField(
        label=_("Send one reminder after (days)"),
        min_value=1,
        max_value=60,
        required=False,
        help_text=_("To those who have not answered. Empty: no reminder."),
    )
    recontact_days = forms.IntegerField(
        label=_("Recontact window (days)"),
        min_value=0,
        max_value=365,
        required=False,
        help_text=_(
            "Nobody is invited again within this many days of their last survey. "
            "Empty: the workspace's window (%(days)d days)."
        ),
    )

    def __init__(self, *args: Any, workspace_days: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["recontact_days"]
        field.help_text = str(field.help_text) % {"days": workspace_days}


class ChannelsForm(forms.Form):
    hidden_properties = forms.CharField(
        label=_("Hidden properties of the public link"),
        required=False,
        help_text=_(
            "Query parameters kept with each answer, separated by commas, e.g. plan, source: "
            "/s/…/?plan=pro stores plan = pro. Others are ignored."
        ),
    )
    widget_origins = forms.CharField(
        label=_("Sites allowed to show the widget"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One origin per line, like https://www.example.com."),
    )

    def clean_hidden_properties(self) -> list[str]:
        names = [n for n in re.split(r"[\s,]+", self.cleaned_data["hidden_properties"]) if n]
        if len(names) > MAX_HIDDEN_PROPERTIES:
            raise forms.ValidationError(
                _("At most %(max)d names.") % {"max": MAX_HIDDEN_PROPERTIES}
            )
        return list(dict.fromkeys(names))

    def clean_widget_origins(self) -> list[str]:
        origins = [o.strip().rstrip("/") for o in self.cleaned_data["widget_origins"].splitlines()]
        origins = [o.lower() for o in origins if o]
        if len(origins) > MAX_WIDGET_ORIGINS:
            raise forms.ValidationError(_("At most %(max)d origins.") % {"max": MAX_WIDGET_ORIGINS})
        return list(dict.fromkeys(origins))


class KioskForm(forms.Form):
    name = forms.CharField(label=_("Device name"), max_length=120)
    location = forms.CharField(
        label=_("Location"),
        max_length=200,
        required=False,
        help_text=_("Stored as the location property of every answer from this device."),
    )


def _score_range(survey: Survey, group: str) -> str:
    scores = [n for n in survey.scale if score_group(survey, n) == group]
    if not scores:
        return ""
    return str(scores[0]) if len(scores) == 1 else f"{scores[0]}–{scores[-1]}"


class TextsForm(forms.Form):
    """One language's texts; blank fields use the built-in text, shown as the placeholder."""

    question = forms.CharField(label=_("Question"), max_length=300, required=False)
    follow_up_detractor = forms.CharField(max_length=300, required=False)
    follow_up_passive = forms.CharField(max_length=300, required=False)
    follow_up_promoter = forms.CharField(max_length=300, required=False)
    thank_you = forms.CharField(label=_("Thank-you text"), max_length=300, required=False)

    def __init__(self, *args: Any, survey: Survey, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        builtin = default_texts(survey.kind, language)
        labels = {
            "follow_up_detractor": _("Follow-up question after a low score (%(range)s)"),
            "follow_up_passive": _("Follow-up question after a middle score (%(range)s)"),
            "follow_up_promoter": _("Follow-up question after a high score (%(range)s)"),
        }
        groups = {
            "follow_up_detractor": "low",
            "follow_up_passive": "middle",
            "follow_up_promoter": "high",
        }
        for name, field in self.fields.items():
            if name in labels:
                field.label = labels[name] % {"range": _score_range(survey, groups[name])}
            placeholder = getattr(builtin, name).replace("{brand}", survey.display_brand)
            field.widget = forms.Textarea(attrs={"rows": 2, "placeholder": placeholder})
            field.widget.attrs["lang"] = language
            field.help_text = _("Empty: “%(text)s”") % {"text": placeholder}


class SendForm(forms.Form):
    """When to send: now, at a time, or spread evenly over a window (workspace time)."""

    WHEN_CHOICES = [
        ("now", _("Now")),
        ("at", _("At a chosen time")),
        ("spread", _("Spread evenly over a time window")),
    ]
    when = forms.ChoiceField(
        label=_("When"), choices=WHEN_CHOICES, initial="now", widget=forms.RadioSelect
    )
    send_at = forms.DateTimeField(
        label=_("Start"),
        required=False,
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("Empty: now."),
    )
    spread_until = forms.DateTimeField(
        label=_("Until"),
        required=False,
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    filter = forms.CharField(widget=forms.HiddenInput, required=False, max_length=8000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("form_token", secrets.token_urlsafe(16))
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        when = cleaned.get("when")
        if when == "at" and not cleaned.get("send_at"):
            self.add_error("send_at", _("Choose when to send."))
        if when == "spread" and not cleaned.get("spread_until"):
            self.add_error("spread_until", _("Choose when the window ends."))
        if when == "now":
            cleaned["send_at"] = None
        if when != "spread":
            cleaned["spread_until"] = None
        return cleaned


class WaveForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, initial=_("Quarterly NPS"))
    every_days = forms.IntegerField(
        label=_("Survey each contact every (days)"),
        min_value=1,
        max_value=730,
        initial=90,
        help_text=_("90 is quarterly. A contact asked more recently waits."),
    )
    daily_cap = forms.IntegerField(
        label=_("At most this many invitations a day"),
        min_value=1,
        max_value=100_000,
        required=False,
        help_text=_("Spreads a large audience over several days. Empty: no limit."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
