"""The Delighted settings page at /w/<slug>/delighted/ (owners and admins)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kaiku.accounts.access import get_manager_membership
from kaiku.delighted.access import default_survey
from kaiku.delighted.forms import DelightedSettingsForm
from kaiku.delighted.models import DelightedSettings


@login_required
@require_http_methods(["GET", "POST"])
def delighted_settings(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    workspace = membership.workspace
    instance = DelightedSettings.objects.filter(workspace=workspace).first()
    instance = instance or DelightedSettings(workspace=workspace)
    form = DelightedSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, _("The Delighted settings are saved."))
            return redirect("delighted:settings", workspace_slug=workspace.slug)
        status = 400
    else:
        status = 200
    context = {
        "workspace": workspace,
        "form": form,
        "current_survey": default_survey(workspace),
        "base_url": f"{settings.SITE_URL.rstrip('/')}/delighted/v1/",
    }
    return render(request, "delighted/settings.html", context, status=status)
