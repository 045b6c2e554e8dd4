"""Forms of the loop pages: survey settings, preferences, categories and case actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.accounts.models import Membership, User, Workspace
from kaiku.loop.assignment import WORKER_ROLES
from kaiku.loop.models import (
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    MAX_NOTE_LENGTH,
    AlertPreference,
    CaseStatus,
    LoopSettings,
    ResolutionCategory,
)
from kaiku.loop.starter import REPLY_TEMPLATE_LABELS
from kaiku.webhooks.forms import clean_webhook_url


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.user.get_full_name()} ({obj.get_role_display()})"


class MembersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.user.get_full_name()} ({obj.get_role_display()})"


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name())


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.label)


def workers(workspace: Workspace) -> Any:
    return (
        Membership.objects.select_related("user")
        .filter(workspace=workspace, role__in=WORKER_ROLES, user__is_active=True)
        .order_by("user__name", "user__email")
    )


def url_field(label: StrOrPromise, help_text: StrOrPromise = "") -> forms.URLField:
    return forms.URLField(
        label=label, help_text=help_text, required=False, max_length=500, assume_scheme="https"
    )


class LoopSettingsForm(forms.ModelForm):
    promoter_url = url_field(_("Review or referral link"), _("Where the email's button leads."))
    slack_webhook_url = url_field(
        _("Team channel webhook"),
        _("A Slack-compatible incoming webhook: new cases and significant drops are posted there."),
    )
    keywords_text = forms.CharField(
        label=_("Comment keywords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line (or separated by commas). A case opens for any answer whose comment "
            "has one at the start of a word: refund also finds refunds."
        ),
    )
    themes = forms.MultipleChoiceField(
        label=_("Themes"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A case opens for any answer tagged with one of these themes."),
    )

    class Meta:
        model = LoopSettings
        fields = [
            "enabled",
            "open_for_detractors",
            "open_for_passives",
            "score_drop",
            "assignment",
            "assignees",
            "assignee_property",
            "fallback",
            "sla_hours",
            "resurvey_days",
            "promoter_action",
            "promoter_url",
            "slack_webhook_url",
        ]
        field_classes = {"assignees": MembersChoiceField, "fallback": MemberChoiceField}
        widgets = {"assignees": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        for name in ("assignees", "fallback"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = workers(workspace)
        fallback = self.fields["fallback"]
        assert isinstance(fallback, forms.ModelChoiceField)
        fallback.empty_label = _("Nobody: leave the case unassigned")
        theme_field = self.fields["themes"]
        assert isinstance(theme_field, forms.MultipleChoiceField)
        theme_field.choices = theme_choices(workspace)
        if self.instance.pk is not None or not self.is_bound:
            self.initial.setdefault("keywords_text", "\n".join(self.instance.keywords))
            self.initial.setdefault("themes", [str(t) for t in self.instance.theme_ids])
        # Order: the rules first, then the rest as in Meta.fields.
        order = ["enabled", "open_for_detractors", "open_for_passives", "keywords_text", "themes"]
        self.order_fields(order)
        if not theme_field.choices:
            del self.fields["themes"]

    def clean_keywords_text(self) -> list[str]:
        raw = self.cleaned_data.get("keywords_text") or ""
        words = [w.strip() for line in raw.splitlines() for w in line.split(",")]
        keywords = list(dict.fromkeys(w for w in words if w))
        if len(keywords) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD_LENGTH for k in keywords):
            raise ValidationError(
                _("At most %(max)d keywords of up to %(len)d characters each."),
                params={"max": MAX_KEYWORDS, "len": MAX_KEYWORD_LENGTH},
            )
        return keywords

    def clean_slack_webhook_url(self) -> str:
        url: str = self.cleaned_data.get("slack_webhook_url") or ""
        if not url or url == self.instance.slack_webhook_url:
            return url.strip()
        return clean_webhook_url(url)

    def save(self, commit: bool = True) -> LoopSettings:
        settings = super().save(commit=False)
        settings.keywords = self.cleaned_data["keywords_text"]
        settings.theme_ids = [int(t) for t in self.cleaned_data.get("themes") or []]
        if commit:
            settings.save()
            self.save_m2m()
        return settings


def theme_choices(workspace: Workspace) -> list[tuple[str, str]]:
    from kaiku.themes.models import Theme

    themes = Theme.objects.filter(workspace=workspace, is_active=True, merged_into__isnull=True)
    return [(str(t.pk), str(t.label)) for t in themes]


class PreferenceForm(forms.ModelForm):
    slack_webhook_url = url_field(
        _("My Slack-compatible webhook"),
        _("New cases for you are also posted here (an incoming webhook URL)."),
    )

    class Meta:
        model = AlertPreference
        fields = ["new_case_email", "overdue_email", "drop_email", "digest", "slack_webhook_url"]

    def clean_slack_webhook_url(self) -> str:
        url: str = self.cleaned_data.get("slack_webhook_url") or ""
        if not url or url == self.instance.slack_webhook_url:
            return url.strip()
        return clean_webhook_url(url)


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)


class AssignForm(forms.Form):
    assignee = UserChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False, empty_label=_("Nobody")
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(
            memberships__workspace=workspace,
            memberships__role__in=WORKER_ROLES,
            is_active=True,
        ).order_by("name", "email")


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=CaseStatus.choices)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only the team sees notes."),
    )


class ReplyForm(forms.Form):
    template = forms.ChoiceField(
        label=_("Start from a template"),
        required=False,
        choices=[("", "—"), *REPLY_TEMPLATE_LABELS.items()],
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Message"),
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 9}),
        help_text=_("Placeholders: {name}, {brand}, {agent}, {score}, {survey}."),
    )


class ResolveForm(forms.Form):
    category = CategoryChoiceField(
        label=_("Root cause / resolution"), queryset=ResolutionCategory.objects.none()
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ResolutionCategory.objects.filter(workspace=workspace, is_active=True)
