"""Loop settings per survey, resolution categories, my alert preferences, the loop overview."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from kaiku.accounts.access import get_manager_membership, get_membership, get_survey_for_member
from kaiku.accounts.models import MANAGER_ROLES, Membership
from kaiku.loop.access import get_category_for_manager
from kaiku.loop.alerts import defaults
from kaiku.loop.categories import add_category, categories, rename_category, set_active
from kaiku.loop.forms import CategoryForm, LoopSettingsForm, PreferenceForm
from kaiku.loop.metrics import loop_metrics_by_survey
from kaiku.loop.models import AlertDelivery, AlertPreference, LoopSettings
from kaiku.loop.rules import settings_for
from kaiku.surveys.models import Survey

PERIODS = (7, 30, 90, 365)
LOG_SIZE = 30


@login_required
def survey_settings(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    instance = settings_for(survey)
    form = LoopSettingsForm(request.POST or None, instance=instance, workspace=survey.workspace)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Follow-up settings saved."))
        return redirect("loop:survey_settings", workspace_slug=workspace_slug, survey_id=survey.pk)
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "survey": survey,
        "form": form,
    }
    return render(request, "loop/survey_settings.html", context, status=400 if form.errors else 200)


@login_required
def category_list(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    workspace = membership.workspace
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        add_category(workspace, form.cleaned_data["name"])
        messages.success(request, _("Category added."))
        return redirect("loop:categories", workspace_slug=workspace_slug)
    context = {
        "workspace": workspace,
        "membership": membership,
        "categories": categories(workspace),
        "form": form,
        "loop_tab": "categories",
    }
    return render(request, "loop/categories.html", context, status=400 if form.errors else 200)


@login_required
def category_edit(
    request: HttpRequest, workspace_slug: str, resolutioncategory_id: int
) -> HttpResponse:
    """Rename (a blank name restores a starter label), retire or bring back a category."""
    membership = get_manager_membership(request, workspace_slug)
    category = get_category_for_manager(membership, resolutioncategory_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    action = request.POST.get("action")
    if action == "rename":
        rename_category(category, (request.POST.get("name") or "")[:80])
    elif action in ("retire", "restore"):
        set_active(category, action == "restore")
    messages.success(request, _("Category saved."))
    return redirect("loop:categories", workspace_slug=workspace_slug)


@login_required
def preferences(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    instance = AlertPreference.objects.filter(membership=membership).first()
    if instance is None:
        instance = AlertPreference(membership=membership, **defaults(membership).__dict__)
    form = PreferenceForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Alert preferences saved."))
        return redirect("loop:preferences", workspace_slug=workspace_slug)
    log = AlertDelivery.objects.filter(
        workspace_id=membership.workspace_id, recipient_id=membership.user_id
    ).select_related("case")[:LOG_SIZE]
    context = {
        "workspace": membership.workspace,
        "membership": membership,
        "form": form,
        "log": log,
        "team_log": _team_log(membership),
        "loop_tab": "preferences",
    }
    return render(request, "loop/preferences.html", context, status=400 if form.errors else 200)


def _team_log(membership: Membership) -> list[AlertDelivery]:
    """Owners and admins also see the attempts to team channels and customers."""
    if membership.role not in MANAGER_ROLES:
        return []
    return list(
        AlertDelivery.objects.filter(
            workspace_id=membership.workspace_id, recipient__isnull=True
        ).select_related("case", "survey")[:LOG_SIZE]
    )


@login_required
def overview(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The loop metrics of the whole workspace and of each survey with cases."""
    membership = get_membership(request, workspace_slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    days = request.GET.get("days") or "30"
    period = int(days) if days.isdigit() and int(days) in PERIODS else 30
    now = timezone.now()
    since = now - timedelta(days=period)
    workspace = membership.workspace
    surveys = list(Survey.objects.filter(workspace=workspace).order_by("name"))
    configured = set(
        LoopSettings.objects.filter(survey__in=surveys).values_list("survey_id", flat=True)
    )
    total, by_survey = loop_metrics_by_survey(workspace, since, now, now=now)
    context = {
        "workspace": workspace,
        "membership": membership,
        "period": period,
        "periods": PERIODS,
        "loop_tab": "overview",
        "total": total,
        "per_survey": [(s, by_survey[s.pk], s.pk in configured) for s in surveys],
    }
    return render(request, "loop/overview.html", context)
