"""Workspace settings at /w/<slug>/settings/: brand, time zone, languages and sending limits.

Owners and admins only (others get 403, outsiders 404). The form parses, the
action `update_workspace_settings` validates with the model's validators and
writes the changed fields in one transaction.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaiku.accounts.access import get_manager_membership
from kaiku.accounts.models import MANAGER_ROLES, SUPPORTED_LANGUAGES, Membership, Workspace

SETTINGS_FIELDS = (
    "brand_name",
    "brand_color",
    "logo_url",
    "time_zone",
    "languages",
    "recontact_days",
    "open_tracking",
    "email_rate_per_minute",
)
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
LANGUAGE_NAMES = {
    "en": gettext_lazy("English"),
    "fi": gettext_lazy("Finnish"),
    "et": gettext_lazy("Estonian"),
}


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")
    return [(zone, zone.replace("_", " ")) for zone in zones]


class WorkspaceSettingsForm(forms.Form):
    brand_name = forms.CharField(
        label=gettext_lazy("Brand name"),
        max_length=120,
        required=False,
        help_text=gettext_lazy("Shown to respondents and in emails. Empty: the workspace name."),
    )
    brand_color = forms.CharField(
        label=gettext_lazy("Brand colour"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text=gettext_lazy("Buttons and accents; darkened where needed for legibility."),
    )
    logo_url = forms.URLField(
        label=gettext_lazy("Logo URL"),
        required=False,
        assume_scheme="https",
        help_text=gettext_lazy("An https address of an image, shown at the top of emails."),
    )
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), choices=time_zone_choices)
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages"),
        choices=[(code, LANGUAGE_NAMES[code]) for code in SUPPORTED_LANGUAGES],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Surveys are offered in these languages."),
    )
    recontact_days = forms.IntegerField(
        label=gettext_lazy("Recontact window (days)"),
        min_value=0,
        max_value=365,
        help_text=gettext_lazy(
            "Nobody is invited twice within this many days, across all surveys. "
            "A survey may set its own."
        ),
    )
    open_tracking = forms.BooleanField(
        label=gettext_lazy("Track email opens"),
        required=False,
        help_text=gettext_lazy(
            "Adds an invisible image to invitation emails to record when they are opened."
        ),
    )
    email_rate_per_minute = forms.IntegerField(
        label=gettext_lazy("Emails per minute"),
        min_value=1,
        max_value=100_000,
        help_text=gettext_lazy("The most invitation and reminder emails sent in any one minute."),
    )

    def clean_brand_color(self) -> str:
        colour = str(self.cleaned_data["brand_color"]).strip()
        if not HEX_COLOUR.match(colour):
            raise forms.ValidationError(_("Give a colour like #2454d6."))
        return colour.lower()

    def clean_logo_url(self) -> str:
        url = str(self.cleaned_data["logo_url"])
        if url and not url.startswith("https://"):
            raise forms.ValidationError(_("Use an https:// address: mail programs block others."))
        return url


def update_workspace_settings(actor: Membership, **values: Any) -> Workspace:
    """Owners and admins change the workspace's settings; the model validates them."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"not settings fields: {sorted(unknown)}")
    with transaction.atomic(durable=True):
        fresh = Membership.objects.filter(pk=actor.pk, workspace_id=actor.workspace_id).first()
        if fresh is None or fresh.role not in MANAGER_ROLES:
            raise PermissionDenied
        workspace = Workspace.objects.select_for_update().get(pk=actor.workspace_id)
        for name, value in values.items():
            setattr(workspace, name, value)
        workspace.full_clean(
            exclude=[f.name for f in Workspace._meta.fields if f.name not in values]
        )
        workspace.save(update_fields=list(values))
    return workspace


@login_required
def workspace_settings(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    workspace = membership.workspace
    initial = {name: getattr(workspace, name) for name in SETTINGS_FIELDS}
    form = WorkspaceSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_workspace_settings(membership, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("workspace_settings", workspace_slug=workspace_slug)
    context = {"workspace": workspace, "membership": membership, "form": form}
    status = 400 if form.is_bound else 200
    return render(request, "accounts/workspace_settings.html", context, status=status)
