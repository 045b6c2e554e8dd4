"""`/api/v1/surveys/{id}/themes`: the themes table of a survey, as on its Themes page."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kaiku.api.access import get_survey_for_workspace
from kaiku.api.auth import request_workspace
from kaiku.api.errors import ApiError
from kaiku.api.schemas import READ_ERRORS
from kaiku.themes.queries import DEFAULT_DAYS, parse_period
from kaiku.themes.report import themes_report

router = Router(tags=["themes"])


class NpsFigures(Schema):
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    ci95: list[float] | None = Field(description="Adjusted Wald 95% interval, [lo, hi].")
    low_base: bool


class ThemeOut(Schema):
    id: int
    key: str
    name: str
    mentions: int = Field(description="Answers in the period that mention the theme.")
    mention_pct: float | None
    share_of_detractors: float | None = Field(description="% of detractors who mention it.")
    share_of_passives: float | None
    share_of_promoters: float | None
    nps_mentioners: NpsFigures
    nps_rest: NpsFigures
    delta: float | None = Field(description="NPS of mentioners minus NPS of the rest, raw.")
    p_value: float | None
    q_value: float | None = Field(description="Benjamini–Hochberg over the listed themes.")
    significant: bool = Field(description="q_value < 0.05.")
    impact: float | None = Field(
        description="NPS of all answers minus NPS without the theme's answers."
    )
    impact_ci95: list[float] | None = Field(description="Bootstrap 95% interval of impact.")
    points_at_stake: float | None = Field(
        description="NPS gain if the theme's detractors became passives (100 × D_theme / N)."
    )


class ThemesOut(Schema):
    survey: int
    from_: date = Field(alias="from")
    to: date
    nps: NpsFigures
    comments: int
    comparisons: int = Field(description="How many themes were tested (the BH family).")
    up_to_date: bool = Field(description="False while themes are being recomputed.")
    themes: list[ThemeOut] = Field(description="Most negative impact first.")
    passives_top: list[str] = Field(description="Theme keys most mentioned by passives.")


@router.get(
    "/{int:survey_id}/themes",
    response={200: ThemesOut, **READ_ERRORS},
    summary="Themes of a survey ranked by impact on NPS",
    operation_id="get_survey_themes",
    by_alias=True,
)
def get_survey_themes(
    request: HttpRequest,
    survey_id: int,
    from_: str | None = Query(
        None, alias="from", description=f"First day, YYYY-MM-DD (default {DEFAULT_DAYS} days ago)."
    ),
    to: str | None = Query(None, description="Last day, inclusive, YYYY-MM-DD (default today)."),
) -> dict[str, object]:
    """The themes table of the Themes page over [from, to] in the workspace's time zone."""
    workspace = request_workspace(request)
    survey = get_survey_for_workspace(workspace, survey_id)
    start, end = _day(from_, "from"), _day(to, "to")
    if start and end and start > end:
        raise ApiError(422, _("'from' must not be after 'to'."), field="from")
    zone = workspace.tzinfo
    period = parse_period(
        start.isoformat() if start else None,
        end.isoformat() if end else None,
        zone,
        timezone.now().astimezone(zone).date(),
    )
    return themes_report(survey, period).to_dict()


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(422, _("Use a date like 2026-03-31."), field=field) from None
