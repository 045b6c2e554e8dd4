"""Survey dashboard pages: thin views over kaiku.insights.dashboard and the query layer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from kaiku.insights import charts
from kaiku.insights.comments import comments_for
from kaiku.insights.compare import compare_periods
from kaiku.insights.dashboard import Dashboard, build_dashboard
from kaiku.insights.funnel import funnel
from kaiku.insights.labels import BAND_LABELS, METRIC_LABELS, group_labels, segment_label
from kaiku.insights.models import DashboardShare, Goal
from kaiku.insights.page import Page, read_page
from kaiku.insights.queries.buckets import PERIODS
from kaiku.insights.queries.filters import GROUPS, score_range
from kaiku.responses.models import Channel

COMMENTS_PER_PAGE = 25


def dashboard_context(page: Page, board: Dashboard, **extra: Any) -> dict[str, Any]:
    return {
        "workspace": page.workspace,
        "membership": page.membership,
        "survey": page.survey,
        "page": page,
        "board": board,
        "flt": page.flt,
        "metric_label": METRIC_LABELS[board.kind],
        "band_labels": BAND_LABELS,
        "group_labels": group_labels(board.kind),
        "channels": Channel.choices,
        "groups": GROUPS,
        "periods": PERIODS,
        "properties": page.properties,
        "segment_label": segment_label,
        "chart_data": charts.chart_data(board),
        **extra,
    }


@login_required
def dashboard(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    page = read_page(request, workspace_slug, survey_id)
    goals = list(Goal.objects.filter(survey=page.survey))
    board = build_dashboard(page.scope, page.flt, page.options, goals)
    channel_table = next(t for t in board.segments if t.name == "channel")
    by_channel = {row["value"]: [row["n"]] for row in channel_table.rows}
    context = dashboard_context(
        page,
        board,
        funnel=funnel(page.scope, page.flt, by_channel),
        shares=_shares(page),
    )
    return render(request, "insights/dashboard.html", context)


def _shares(page: Page) -> list[DashboardShare]:
    if not page.membership.can_manage:
        return []
    return list(DashboardShare.objects.filter(survey=page.survey, revoked_at__isnull=True)[:10])


@login_required
def compare(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    """This period vs the previous equal one, per value of the breakdown property."""
    page = read_page(request, workspace_slug, survey_id)
    table = compare_periods(page.scope, page.flt, page.options.by)
    return render(
        request,
        "insights/compare.html",
        {
            "workspace": page.workspace,
            "survey": page.survey,
            "page": page,
            "flt": page.flt,
            "table": table,
            "segment_label": segment_label,
            "metric_label": METRIC_LABELS[page.scope.kind],
        },
    )


@login_required
def comments(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    page = read_page(request, workspace_slug, survey_id)
    text = (request.GET.get("q") or "").strip()[:200]
    paginator = Paginator(comments_for(page.scope, page.flt, text), COMMENTS_PER_PAGE)
    answers = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "insights/comments.html",
        {
            "workspace": page.workspace,
            "survey": page.survey,
            "page": page,
            "flt": page.flt,
            "answers": answers,
            "q": text,
            "channels": Channel.choices,
            "groups": GROUPS,
            "group_labels": group_labels(page.scope.kind),
            "group_of": _group_of(page),
            "properties": page.properties,
            "segment_label": segment_label,
            "title": _("Comments"),
        },
    )


def _group_of(page: Page) -> dict[int, Any]:
    """Score → its group's label (detractor / passive / promoter, or the CSAT/CES names)."""
    low, high = page.scope.scale
    labels = group_labels(page.scope.kind)
    return {
        score: labels[name]
        for name in GROUPS
        for score in score_range(page.scope.kind, low, high, name)
    }
