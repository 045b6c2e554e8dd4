"""Theme figures from the database: counts per theme × score group, never answers in Python.

The themes table is two grouped queries whatever the number of answers: the
survey's counts by group over the period, and the same per theme through the
ResponseTheme rows (index responsetheme_theme, joined to the answers'
(survey, created_at, score) index). kaiku.themes.text.impact does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from kaiku.metrics import NpsCounts
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from kaiku.themes.models import ResponseTheme, Theme

DEFAULT_DAYS = 90
_PROMOTER = Q(score__gte=9)
_PASSIVE = Q(score__gte=7, score__lte=8)
_DETRACTOR = Q(score__lte=6)


@dataclass(frozen=True)
class Period:
    """Whole days [start, end] in the workspace's time zone, as kept in the URL."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, self.zone)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def parse_period(start: str | None, end: str | None, zone: ZoneInfo, today: date) -> Period:
    """The ?from=YYYY-MM-DD&to=YYYY-MM-DD filter; bad or missing values fall back to
    the last DEFAULT_DAYS days (a hand-edited URL must not be an error page)."""
    end_date = _date(end) or today
    start_date = _date(start) or end_date - timedelta(days=DEFAULT_DAYS - 1)
    if start_date > end_date:
        start_date, end_date = end_date, start_date
    return Period(start_date, end_date, zone)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def answers_in(survey: Survey, period: Period) -> QuerySet[Response]:
    return Response.objects.filter(
        survey=survey, created_at__gte=period.since, created_at__lt=period.until
    )


def survey_counts(survey: Survey, period: Period) -> tuple[NpsCounts, int]:
    """(promoters/passives/detractors of every answer in the period, answers with a comment)."""
    row = (
        answers_in(survey, period)
        .order_by()
        .aggregate(
            p=Count("id", filter=_PROMOTER),
            a=Count("id", filter=_PASSIVE),
            d=Count("id", filter=_DETRACTOR),
            comments=Count("id", filter=~Q(comment="")),
        )
    )
    return NpsCounts(row["p"], row["a"], row["d"]), row["comments"]


def _links(survey: Survey, period: Period) -> QuerySet[ResponseTheme]:
    return ResponseTheme.objects.filter(
        removed=False,
        theme__is_active=True,
        response__survey=survey,
        response__created_at__gte=period.since,
        response__created_at__lt=period.until,
    )


def theme_counts(survey: Survey, period: Period) -> dict[int, NpsCounts]:
    """Per active theme id: the groups of the answers that mention it (one query)."""
    rows = (
        _links(survey, period)
        .order_by()
        .values("theme_id")
        .annotate(
            p=Count("id", filter=Q(response__score__gte=9)),
            a=Count("id", filter=Q(response__score__gte=7, response__score__lte=8)),
            d=Count("id", filter=Q(response__score__lte=6)),
        )
    )
    return {row["theme_id"]: NpsCounts(row["p"], row["a"], row["d"]) for row in rows}


def active_themes(workspace_id: int) -> list[Theme]:
    return list(Theme.objects.filter(workspace_id=workspace_id, is_active=True).order_by("pk"))


@dataclass(frozen=True)
class TrendPoint:
    month: str  # "2026-03"
    mentioners: NpsCounts
    total: NpsCounts


def theme_trend(survey: Survey, theme: Theme, period: Period) -> list[TrendPoint]:
    """Monthly pooled counts (workspace time zone) of the theme's mentioners and of all answers."""
    month = TruncMonth("created_at", tzinfo=period.zone)
    totals = {
        row["month"].strftime("%Y-%m"): NpsCounts(row["p"], row["a"], row["d"])
        for row in answers_in(survey, period)
        .order_by()
        .annotate(month=month)
        .values("month")
        .annotate(
            p=Count("id", filter=_PROMOTER),
            a=Count("id", filter=_PASSIVE),
            d=Count("id", filter=_DETRACTOR),
        )
    }
    mentioned = {
        row["month"].strftime("%Y-%m"): NpsCounts(row["p"], row["a"], row["d"])
        for row in answers_in(survey, period)
        .filter(theme_links__theme=theme, theme_links__removed=False)
        .order_by()
        .annotate(month=month)
        .values("month")
        .annotate(
            p=Count("id", filter=_PROMOTER),
            a=Count("id", filter=_PASSIVE),
            d=Count("id", filter=_DETRACTOR),
        )
    }
    return [
        TrendPoint(key, mentioned.get(key, NpsCounts(0, 0, 0)), totals[key])
        for key in sorted(totals)
    ]


def theme_answers(
    survey: Survey, theme: Theme, period: Period, group: str | None = None
) -> QuerySet[Response]:
    """The answers that mention the theme, newest first (the drill-down list)."""
    answers = answers_in(survey, period).filter(
        theme_links__theme=theme, theme_links__removed=False
    )
    if group == "detractor":
        answers = answers.filter(_DETRACTOR)
    elif group == "passive":
        answers = answers.filter(_PASSIVE)
    elif group == "promoter":
        answers = answers.filter(_PROMOTER)
    return answers.order_by("-created_at", "-pk")


def comments_for_discovery(
    survey: Survey, period: Period, language: str, limit: int
) -> list[tuple[int, str, int]]:
    """(id, comment, score) of the newest `limit` comments in one language.

    Discovery reads comment text, so this one does load rows, capped.
    """
    return list(
        answers_in(survey, period)
        .exclude(comment="")
        .filter(comment_language=language)
        .order_by("-created_at", "-pk")
        .values_list("pk", "comment", "score")[:limit]
    )


def comment_languages(survey: Survey, period: Period) -> dict[str, int]:
    rows = (
        answers_in(survey, period)
        .exclude(comment="")
        .order_by()
        .values("comment_language")
        .annotate(n=Count("id"))
    )
    return {row["comment_language"]: row["n"] for row in rows if row["comment_language"]}
