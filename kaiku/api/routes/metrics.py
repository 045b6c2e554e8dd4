"""`GET /api/v1/surveys/{id}/metrics`: the survey's figures in `kaiku analyze --format json` shape.

The same query layer and the same summary code as the dashboard (kaiku.insights.analysis), so
the API, the web UI and the CLI agree on every number.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kaiku.api.access import get_survey_for_workspace
from kaiku.api.auth import request_workspace
from kaiku.api.errors import ApiError
from kaiku.api.schemas import READ_ERRORS, ErrorOut
from kaiku.insights.analysis import analyze_counts
from kaiku.insights.queries.filters import FilterError, ResponseFilter, today_in_zone
from kaiku.insights.queries.grouped import Grouping, Scope, histogram_set

router = Router(tags=["metrics"])
MAX_BY = 5


class MetricsParams(Schema):
    since: str | None = Field(
        None, description="first local day, YYYY-MM-DD (default: a year before until)"
    )
    until: str | None = Field(None, description="last local day, inclusive (default: today)")
    period: Literal["week", "month", "quarter"] | None = Field(None, description="trend buckets")
    by: list[str] = Field([], description="a segment table per channel, language or property")
    channel: list[str] = Field([], description="only these channels")
    language: list[str] = Field([], description="only these languages")
    group: list[Literal["low", "mid", "high"]] = Field([], description="only these score groups")
    property: list[str] = Field([], description="name:value, e.g. plan:pro (repeatable)")


class _Params:
    """request.GET with the API's parameter names mapped to the filter's (since → from)."""

    def __init__(self, request: HttpRequest) -> None:
        self.query = request.GET

    def get(self, key: str) -> str | None:
        name = {"from": "since", "to": "until"}.get(key, key)
        return self.query.get(name)

    def getlist(self, key: str) -> list[str]:
        return self.query.getlist(key)


@router.get(
    "/{int:survey_id}/metrics",
    response={200: dict[str, Any], 422: ErrorOut, **READ_ERRORS},
    summary="Survey metrics",
    operation_id="get_survey_metrics",
)
def survey_metrics(
    request: HttpRequest, survey_id: int, params: Query[MetricsParams]
) -> dict[str, Any]:
    """NPS (or CSAT, CES) with n and 95% CI, the trend with tested changes, and segment
    tables with Benjamini-Hochberg adjusted tests: the JSON of `kaiku analyze --format json`."""
    workspace = request_workspace(request)
    survey = get_survey_for_workspace(workspace, survey_id)
    try:
        flt = ResponseFilter.from_query(_Params(request), today_in_zone(workspace.tzinfo))
    except FilterError as exc:
        field = {"from": "since", "to": "until"}.get(exc.field, exc.field)
        raise ApiError(422, exc.message, field=field) from None
    names = list(dict.fromkeys(params.by))
    if len(names) > MAX_BY:
        raise ApiError(422, _("At most %(count)d segment columns.") % {"count": MAX_BY}, field="by")
    scope = Scope.of(survey)
    requests = [(Grouping("day"), flt)] + [(Grouping.for_name(n), flt) for n in names]
    results = histogram_set(scope, requests)
    days = {date.fromisoformat(str(k)): v for k, v in results[0].items() if k}
    analysis, _points = analyze_counts(
        scope, days, dict(zip(names, results[1:], strict=True)), params.period, flt.since, flt.until
    )
    return analysis.result
