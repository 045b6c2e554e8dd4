"""Daily histograms (local days) into trend buckets: ISO weeks, months, quarters, rolling windows.

The database groups by the local day (at most a few thousand rows); pooling days into buckets
here is exact, because a bucket is a set of whole local days. Labels are the ones `kaiku
analyze` prints (2026-W09, 2026-03, 2026-Q1), so both produce the same periods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from kaiku.analyze.reader import period_label
from kaiku.insights.queries.base import SLOTS

Period = Literal["week", "month", "quarter", "rolling30", "rolling90"]
PERIODS: tuple[Period, ...] = ("week", "month", "quarter", "rolling30", "rolling90")
CALENDAR_PERIODS = ("week", "month", "quarter")
ROLLING_DAYS = {"rolling30": 30, "rolling90": 90}


@dataclass(frozen=True)
class Bucket:
    label: str
    start: date  # first local day of the bucket (clipped to the range)
    end: date  # last local day, inclusive
    histogram: list[int]


def calendar_buckets(days: Mapping[date, list[int]], period: str) -> list[Bucket]:
    """Pool days into ISO weeks, months or quarters, chronologically; empty buckets absent."""
    pooled: dict[str, Bucket] = {}
    for day in sorted(days):
        label = period_label(day, period)  # type: ignore[arg-type]
        bucket = pooled.get(label)
        if bucket is None:
            pooled[label] = Bucket(label, day, day, list(days[day]))
            continue
        hist = [a + b for a, b in zip(bucket.histogram, days[day], strict=True)]
        pooled[label] = Bucket(label, bucket.start, day, hist)
    return list(pooled.values())


def rolling_buckets(
    days: Mapping[date, list[int]], since: date, until: date, window: int
) -> list[Bucket]:
    """One point per week ending on `until`, each pooling the `window` days up to it.

    Rolling points overlap, so consecutive points are not independent samples: the dashboard
    does not test their changes.
    """
    points: list[Bucket] = []
    end = until
    while end >= since:
        start = end - timedelta(days=window - 1)
        hist = [0] * SLOTS
        day = start
        while day <= end:
            for score, count in enumerate(days.get(day, ())):
                hist[score] += count
            day += timedelta(days=1)
        if sum(hist):
            points.append(Bucket(end.isoformat(), start, end, hist))
        end -= timedelta(days=7)
    return points[::-1]


def buckets(days: Mapping[date, list[int]], period: str, since: date, until: date) -> list[Bucket]:
    if period in ROLLING_DAYS:
        return rolling_buckets(days, since, until, ROLLING_DAYS[period])
    return calendar_buckets(days, period)
