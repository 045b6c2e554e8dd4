"""Template helpers of the loop pages, and the survey dashboard's follow-up section."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template

from kaiku.insights.queries.filters import ResponseFilter
from kaiku.loop.metrics import format_duration, loop_metrics
from kaiku.loop.models import CaseReason, CaseStatus
from kaiku.surveys.models import Survey

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    """A stored status value ("in_progress") as people read it ("In progress")."""
    return str(CaseStatus(value).label) if value in CaseStatus.values else value


@register.filter
def reason_label(value: str) -> str:
    return str(CaseReason(value).label) if value in CaseReason.values else value


@register.filter
def duration(value: timedelta | None) -> str:
    return format_duration(value)


@register.inclusion_tag("loop/_dashboard_section.html")
def loop_section(survey: Survey, flt: ResponseFilter) -> dict[str, Any]:
    """The follow-up metrics of the dashboard's survey and date range."""
    since, until = flt.utc_bounds(survey.workspace.tzinfo)
    return {
        "survey": survey,
        "workspace": survey.workspace,
        "metrics": loop_metrics(survey.workspace, since, until, [survey]),
    }
