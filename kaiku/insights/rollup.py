"""The daily histogram rollup: answer counts per (survey, local day, key, value, score).

Why: bench/dashboard.py measured the dashboard's statement on the answers table at 1M answers
as ~50× (SQLite) and ~16× (PostgreSQL) slower than a numpy scan, because every answer in range
is visited once per grouping and its JSON parsed. The rollup holds at most one row per
(day, value, score), so a year of one survey is a few tens of thousands of index entries
whatever the number of answers (docs/performance.md has the numbers).

How it stays right:
- `refresh_rollups()` (a periodic job, every few minutes) rebuilds, per survey, the days up to
  yesterday that are new since the last run, plus every day that has an answer created or
  edited since the last run's start (`updated_at`, indexed). A rebuild is delete + INSERT …
  SELECT of that day's counts, in one transaction per survey.
- Readers (queries.grouped) take days up to `SurveyRollup.rolled_through` from the rollup and
  count later days (today, and anything not rolled up yet) live from the answers, in the same
  statement. Filters by channel, language or property are cross-tabulations the rollup does not
  hold: those requests read the answers table, as before.
- Not seen by the incremental run: deleted answers (and answers changed by a bulk `.update()`
  that does not touch updated_at). `refresh_rollups(full=True)` rebuilds everything; run it
  nightly (and after changing a workspace's time zone, which the refresh also detects).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Value
from django.db.models.expressions import Expression
from django.utils import timezone

from kaiku.insights.models import DailyHistogram, SurveyRollup
from kaiku.insights.privacy import NOT_ROLLED
from kaiku.insights.queries.expressions import LocalDate, Tenure, local_date_sql
from kaiku.insights.queries.filters import local_midnight
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey

logger = logging.getLogger("kaiku.insights")

MAX_VALUE = 200  # longer property values are left out of the rollup (read live instead)
SKEW = timedelta(minutes=2)  # answers saved just before a refresh started are looked at again
INSERT = "INSERT INTO insights_dailyhistogram (survey_id, day, key, value, score, count)"


def refresh_rollups(now: datetime | None = None, *, full: bool = False) -> int:
    """Bring every survey's rollup up to yesterday; returns the number of days rebuilt."""
    now = now or timezone.now()
    rebuilt = 0
    for survey in Survey.objects.select_related("workspace").order_by("pk"):
        rebuilt += refresh_survey(survey, now, full=full)
    return rebuilt


def refresh_survey(survey: Survey, now: datetime, *, full: bool = False) -> int:
    zone = survey.workspace.tzinfo
    through = now.astimezone(zone).date() - timedelta(days=1)
    state = SurveyRollup.objects.filter(survey=survey).first()
    if full or state is None or state.zone != survey.workspace.time_zone:
        days = _all_days(survey, through)
        clear_all = True
    else:
        days = _days_to_refresh(survey, state, through)
        clear_all = False
    with transaction.atomic():
        if clear_all:
            DailyHistogram.objects.filter(survey=survey).delete()
        for first, last in _ranges(days):
            DailyHistogram.objects.filter(survey=survey, day__range=(first, last)).delete()
            _insert(survey, first, last)
        SurveyRollup.objects.update_or_create(
            survey=survey,
            defaults={
                "rolled_through": through,
                "watermark": now,
                "zone": survey.workspace.time_zone,
            },
        )
    return len(days)


def _all_days(survey: Survey, through: date) -> list[date]:
    bounds = Response.objects.filter(survey=survey).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )
    if bounds["first"] is None:
        return []
    zone = survey.workspace.tzinfo
    first = bounds["first"].astimezone(zone).date()
    last = min(through, bounds["last"].astimezone(zone).date())
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _days_to_refresh(survey: Survey, state: SurveyRollup, through: date) -> list[date]:
    """New days since the last run, and days with answers created or edited since it began."""
    days = {
        state.rolled_through + timedelta(days=i + 1)
        for i in range((through - state.rolled_through).days)
    }
    zone = survey.workspace.tzinfo
    end = local_midnight(through + timedelta(days=1), zone)
    # workspace + updated_at: the (workspace, updated_at) index finds the few edited answers;
    # by survey alone the database would scan every answer of the survey every five minutes.
    touched = Response.objects.filter(
        workspace_id=survey.workspace_id,
        updated_at__gte=state.watermark - SKEW,
        survey=survey,
        created_at__lt=end,
    )
    bounds = touched.aggregate(first=Min("created_at"))
    if bounds["first"] is not None:
        start = bounds["first"]
        local = (
            touched.annotate(d=LocalDate("created_at", zone, start, end))
            .values_list("d", flat=True)
            .distinct()
            .order_by()
        )
        days.update(date.fromisoformat(str(d)) for d in local)
    return sorted(d for d in days if d <= through)


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) ranges."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _insert(survey: Survey, first: date, last: date) -> None:
    zone = survey.workspace.tzinfo
    start = local_midnight(first, zone)
    end = local_midnight(last + timedelta(days=1), zone)
    answers = Response.objects.filter(survey=survey, created_at__gte=start, created_at__lt=end)
    builtin: dict[str, Expression | F] = {
        "": Value(""),
        "@channel": F("channel"),
        "@language": F("language"),
        "@tenure": Tenure(),
    }
    day_cast = "::date" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        for key, expression in builtin.items():
            qs = (
                answers.annotate(d=LocalDate("created_at", zone, start, end), v=expression)
                .values("d", "v", "score")
                .annotate(n=Count("*"))
                .order_by()
            )
            sql, params = qs.query.sql_with_params()
            # Compiled ORM SQL and constants only; every value is a parameter.
            select = f"SELECT %s, sub.d{day_cast}, %s, sub.v, sub.score, sub.n FROM ({sql}) sub"  # noqa: S608
            cursor.execute(f"{INSERT} {select} WHERE sub.v IS NOT NULL", [survey.pk, key, *params])
        _insert_properties(cursor, survey, start, end)


def _insert_properties(cursor: object, survey: Survey, start: datetime, end: datetime) -> None:
    """Every snapshot property but identifying and lifecycle ones, one row per value."""
    zone = survey.workspace.tzinfo
    table = '"responses_response"'
    day_sql, day_params = local_date_sql(
        f'{table}."created_at"', zone, start, end, connection.vendor
    )
    excluded = sorted(NOT_ROLLED)
    marks = ", ".join(["%s"] * len(excluded))
    if connection.vendor == "postgresql":
        source = f'{table} CROSS JOIN LATERAL jsonb_each_text({table}."properties") AS j'
        value = "j.value"
        day = f"({day_sql})::date"
    else:
        source = f'{table}, json_each({table}."properties") AS j'
        value = "CAST(j.value AS TEXT)"
        day = day_sql
    # Table and column names are constants; every value is a parameter.
    select = f'SELECT %s, {day}, j.key, {value}, {table}."score", COUNT(*) FROM {source}'  # noqa: S608
    where = (
        f'{table}."survey_id" = %s AND {table}."created_at" >= %s '
        f"AND {table}.\"created_at\" < %s AND {value} IS NOT NULL AND {value} <> '' "
        f"AND length({value}) <= %s AND length(j.key) <= 64 AND j.key NOT IN ({marks})"
    )
    sql = f"{INSERT} {select} WHERE {where} GROUP BY 2, 3, 4, 5"
    adapt = connection.ops.adapt_datetimefield_value
    params = [survey.pk, *day_params, survey.pk, adapt(start), adapt(end), MAX_VALUE, *excluded]
    cursor.execute(sql, params)  # type: ignore[attr-defined]
