"""Printable report (HTML and PDF) and the scheduled report emails."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from kaiku.insights import charts
from kaiku.insights.dashboard import Dashboard, Options, build_dashboard
from kaiku.insights.labels import BAND_LABELS, METRIC_LABELS, group_labels
from kaiku.insights.models import Frequency, Goal, ReportSubscription
from kaiku.insights.page import read_page
from kaiku.insights.queries.filters import ResponseFilter, score_range
from kaiku.insights.queries.grouped import Scope, answers
from kaiku.lib.mail import send_email
from kaiku.lib.security import csp_update, head_of, inline_style_sources
from kaiku.surveys.models import Survey

logger = logging.getLogger("kaiku.insights")
RECENT_DETRACTOR_COMMENTS = 3
TOP_SEGMENTS = 3
REPORT_BREAKDOWN = "plan"


def _report_context(board: Dashboard, survey: Survey) -> dict[str, Any]:
    return {
        "survey": survey,
        "workspace": survey.workspace,
        "board": board,
        "flt": board.flt,
        "metric_label": METRIC_LABELS[board.kind],
        "band_labels": BAND_LABELS,
        "group_labels": group_labels(board.kind),
        "trend_svg": charts.svg_trend(board),
        "distribution_svg": charts.svg_distribution(board),
        "generated": timezone.now(),
    }


@login_required
def report_html(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    page = read_page(request, workspace_slug, survey_id)
    board = build_dashboard(
        page.scope, page.flt, page.options, list(Goal.objects.filter(survey=page.survey))
    )
    response = render(request, "insights/report.html", _report_context(board, page.survey))
    # The print styles stay inline (WeasyPrint reads the same HTML for the PDF).
    csp_update(response, style_src=inline_style_sources(head_of(response)))
    return response


@login_required
def report_pdf(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    page = read_page(request, workspace_slug, survey_id)
    board = build_dashboard(
        page.scope, page.flt, page.options, list(Goal.objects.filter(survey=page.survey))
    )
    html = render_to_string(
        "insights/report.html", _report_context(board, page.survey), request=request
    )
    response = HttpResponse(render_pdf(html), content_type="application/pdf")
    name = f"kaiku-report-survey{page.survey.pk}-{page.flt.since}-{page.flt.until}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def render_pdf(html: str) -> bytes:
    """HTML → PDF with WeasyPrint (needs Pango; imported lazily so the app starts without it)."""
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=settings.SITE_URL).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


# --- Scheduled emails ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPeriod:
    since: date
    until: date


def report_period(frequency: str, today: date) -> ReportPeriod:
    """The last full week (Mon-Sun) or month before `today`."""
    if frequency == Frequency.WEEKLY:
        end = today - timedelta(days=today.weekday() + 1)
        return ReportPeriod(end - timedelta(days=6), end)
    end = today.replace(day=1) - timedelta(days=1)
    return ReportPeriod(end.replace(day=1), end)


def send_due_reports(today: date | None = None) -> int:
    """Send every due report; returns how many emails went out. Safe to run twice a day.

    A subscription is claimed with a conditional update of last_sent_on before its email is
    sent, so two workers never send the same report. A failed send is logged and the claim
    undone, so that the next run tries again.
    """
    sent = 0
    subscriptions = ReportSubscription.objects.select_related(
        "member__user", "member__workspace", "survey"
    )
    for subscription in subscriptions:
        local_today = (
            today or timezone.now().astimezone(subscription.member.workspace.tzinfo).date()
        )
        if not subscription.is_due(local_today):
            continue
        claimed = ReportSubscription.objects.filter(
            pk=subscription.pk, last_sent_on=subscription.last_sent_on
        ).update(last_sent_on=local_today)
        if not claimed:
            continue
        try:
            send_report(subscription, local_today)
        except Exception:
            logger.exception("report email %s failed", subscription.pk)
            ReportSubscription.objects.filter(pk=subscription.pk).update(
                last_sent_on=subscription.last_sent_on
            )
            continue
        sent += 1
    return sent


def send_report(subscription: ReportSubscription, today: date) -> None:
    member = subscription.member
    workspace = member.workspace
    surveys = (
        [subscription.survey]
        if subscription.survey
        else list(Survey.objects.filter(workspace=workspace, is_active=True).order_by("name"))
    )
    period = report_period(subscription.frequency, today)
    flt = ResponseFilter(since=period.since, until=period.until)
    language = member.user.language
    with translation.override(language):
        sections = [_survey_section(survey, flt) for survey in surveys]
    send_email(
        member.user.email,
        "insights/emails/report_subject.txt",
        "insights/emails/report.txt",
        "insights/emails/report.html",
        {
            "workspace": workspace,
            "sections": sections,
            "period": period,
            "frequency": subscription.frequency,
            "settings_url": settings.SITE_URL
            + reverse("insights:subscriptions", kwargs={"workspace_slug": workspace.slug}),
        },
        language,
    )


def _survey_section(survey: Survey, flt: ResponseFilter) -> dict[str, Any]:
    scope = Scope.of(survey)
    board = build_dashboard(scope, flt, Options(period="week", by=REPORT_BREAKDOWN))
    segments = [row for table in board.segments for row in table.rows if row.get("vs_rest")]
    ranked = sorted(segments, key=lambda r: r["vs_rest"]["delta"])
    url = settings.SITE_URL + reverse(
        "insights:dashboard",
        kwargs={"workspace_slug": survey.workspace.slug, "survey_id": survey.pk},
    )
    return {
        "survey": survey,
        "board": board,
        "metric_label": METRIC_LABELS[board.kind],
        "up": [r for r in ranked[::-1] if r["vs_rest"]["delta"] > 0][:TOP_SEGMENTS],
        "down": [r for r in ranked if r["vs_rest"]["delta"] < 0][:TOP_SEGMENTS],
        "comments": _detractor_comments(scope, flt),
        "url": f"{url}?{flt.to_query()}",
    }


def _detractor_comments(scope: Scope, flt: ResponseFilter) -> list[dict[str, Any]]:
    low, high = scope.scale
    scores = list(score_range(scope.kind, low, high, "low"))
    # Only the comment, score and date: no names, emails or properties in an email.
    rows = (
        answers(scope, flt)
        .filter(score__in=scores)
        .exclude(comment="")
        .order_by("-created_at")
        .values("score", "comment", "created_at")[:RECENT_DETRACTOR_COMMENTS]
    )
    return [dict(row) for row in rows]
