"""Retention, report subscriptions, analytics settings and the public shared dashboard."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from kaiku.accounts.access import get_membership
from kaiku.insights import charts
from kaiku.insights.dashboard import Options, build_dashboard
from kaiku.insights.labels import BAND_LABELS, METRIC_LABELS, group_labels
from kaiku.insights.models import (
    DashboardShare,
    Frequency,
    ReportSubscription,
    WorkspaceAnalyticsSettings,
    hash_token,
)
from kaiku.insights.page import PROPERTY_KEY, read_page
from kaiku.insights.privacy import IDENTIFYING
from kaiku.insights.queries.filters import ResponseFilter
from kaiku.insights.queries.grouped import Scope
from kaiku.insights.retention import retention_report
from kaiku.surveys.models import Survey


@login_required
def retention(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    page = read_page(request, workspace_slug, survey_id)
    report = retention_report(page.scope, page.flt)
    return render(
        request,
        "insights/retention.html",
        {
            "workspace": page.workspace,
            "survey": page.survey,
            "page": page,
            "flt": page.flt,
            "report": report,
            "group_labels": group_labels(page.scope.kind),
        },
    )


@login_required
def subscriptions(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """A member's own report emails: weekly or monthly, one survey or all."""
    membership = get_membership(request, workspace_slug)
    surveys = list(Survey.objects.filter(workspace=membership.workspace).order_by("name"))
    if request.method == "POST":
        frequency = request.POST.get("frequency", "")
        survey_id = request.POST.get("survey") or ""
        survey = next((s for s in surveys if str(s.pk) == survey_id), None)
        existing = ReportSubscription.objects.filter(member=membership, survey=survey)
        if frequency in Frequency.values:
            if not existing.update(frequency=frequency):
                ReportSubscription.objects.create(
                    member=membership, survey=survey, frequency=frequency
                )
            messages.success(request, _("Report email saved."))
        else:
            existing.delete()
            messages.success(request, _("Report email turned off."))
        return redirect("insights:subscriptions", workspace_slug=workspace_slug)
    return render(
        request,
        "insights/subscriptions.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "surveys": surveys,
            "subscriptions": list(
                ReportSubscription.objects.filter(member=membership).select_related("survey")
            ),
            "frequencies": Frequency.choices,
            "settings": WorkspaceAnalyticsSettings.for_workspace(membership.workspace),
        },
    )


@login_required
def analytics_settings(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Owners and admins name the contact properties that hold lifecycle dates (POST)."""
    membership = get_membership(request, workspace_slug)
    if request.method != "POST":
        return redirect("insights:subscriptions", workspace_slug=workspace_slug)
    if not membership.can_manage:
        raise PermissionDenied
    cfg = WorkspaceAnalyticsSettings.for_workspace(membership.workspace)
    since = (request.POST.get("customer_since_property") or "").strip()
    churned = (request.POST.get("churned_at_property") or "").strip()
    if PROPERTY_KEY.match(since) and PROPERTY_KEY.match(churned) and "@" not in since + churned:
        cfg.customer_since_property, cfg.churned_at_property = since, churned
        cfg.save()
        messages.success(request, _("Saved."))
    else:
        messages.error(request, _("Property names are letters, digits, _ . - and spaces."))
    return redirect("insights:subscriptions", workspace_slug=workspace_slug)


@never_cache
def shared_dashboard(request: HttpRequest, token: str) -> HttpResponse:
    """A read-only dashboard by its link: figures, trend, segments; no comments, no identities.

    Unknown, expired and revoked links are all the same 404.
    """
    share = (
        DashboardShare.objects.select_related("survey__workspace")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if share is None or not share.is_live(timezone.now()):
        raise Http404
    survey = share.survey
    flt = ResponseFilter.from_dict(share.filters)
    by = str(share.filters.get("by") or "")
    options = Options(
        period=str(share.filters.get("period") or "month"),
        by="" if by in IDENTIFYING else by,
    )
    board = build_dashboard(Scope.of(survey), flt, options)
    context: dict[str, Any] = {
        "survey": survey,
        "shared_workspace": survey.workspace,
        "board": board,
        "flt": flt,
        "share": share,
        "metric_label": METRIC_LABELS[board.kind],
        "band_labels": BAND_LABELS,
        "group_labels": group_labels(board.kind),
        "chart_data": charts.chart_data(board),
    }
    response = render(request, "insights/shared.html", context)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
