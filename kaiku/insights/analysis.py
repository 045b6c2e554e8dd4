"""Database histograms → the `kaiku analyze` result (docs/cli.md), with kaiku.analyze's own code.

The metrics API, the dashboard's trend and segment tables, exports and reports all call
`analyze_counts`, which feeds `kaiku.analyze.summary.summarise` exactly what the CSV reader
would have produced from an export of the same answers. So the API's JSON and
`kaiku analyze --format json` agree number for number (tests/test_insights_api.py checks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from kaiku.analyze.reader import Histograms, IntArray
from kaiku.analyze.summary import Analysis, Figures, Metric, summarise
from kaiku.insights.queries.buckets import CALENDAR_PERIODS, Bucket, buckets
from kaiku.insights.queries.grouped import Counts, Scope, total


@dataclass(frozen=True)
class Request:
    """What to summarise: the period of the trend (or None) and the segment columns."""

    period: str | None
    by: Sequence[str]


def figures_for(scope: Scope) -> Figures:
    metric: Metric = scope.kind  # type: ignore[assignment]
    return Figures(metric, scope.scale[1])


def to_array(hist: Sequence[int], scale_max: int) -> IntArray:
    # Slots above the survey's scale are empty (a CHECK constraint keeps scores in scale).
    return np.array(hist[: scale_max + 1], dtype=np.int64)


def analyze_counts(
    scope: Scope,
    days: Mapping[date, list[int]],
    segments: Mapping[str, Counts],
    period: str | None,
    since: date,
    until: date,
) -> tuple[Analysis, list[Bucket]]:
    """The analyze result for daily histograms and segment histograms of one filter."""
    figures = figures_for(scope)
    top = figures.scale_max
    points = buckets(days, period, since, until) if period else []
    hists = Histograms(
        overall=to_array(total(days.values()), top),
        periods={b.label: to_array(b.histogram, top) for b in points},
        segments={
            name: {
                str(value): to_array(hist, top)
                for value, hist in sorted(counts.items(), key=lambda kv: str(kv[0]))
                if value not in (None, "")
            }
            for name, counts in segments.items()
        },
        skipped={},
        rows=sum(sum(h) for h in days.values()),
        delimiter=",",
    )
    calendar = period if period in CALENDAR_PERIODS else None
    analysis = summarise(hists, figures, calendar)  # type: ignore[arg-type]
    if period and period not in CALENDAR_PERIODS:
        # Rolling windows overlap: consecutive points are not independent, so no test.
        for row in analysis.result["periods"]:
            row["change"] = None
    return analysis, points
