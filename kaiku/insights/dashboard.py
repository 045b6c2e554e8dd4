"""The survey dashboard's figures: one histogram query, then kaiku.metrics.

`build_dashboard` asks the query layer for everything the page shows in ONE statement (the
previous and current period by local day, the segment tables, every goal's period) and turns
the histograms into figures with `kaiku.analyze`'s summary code, so the page, the metrics API
and `kaiku analyze` agree. Nothing here loads individual answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from kaiku import metrics
from kaiku.analyze.summary import ALPHA, P_PLACES, Figures
from kaiku.insights.analysis import analyze_counts, figures_for, to_array
from kaiku.insights.goals import GoalStatus, goal_requests, goal_statuses
from kaiku.insights.models import Goal
from kaiku.insights.queries.buckets import Bucket
from kaiku.insights.queries.filters import ResponseFilter, score_range
from kaiku.insights.queries.grouped import Grouping, Scope, histogram_set, total
from kaiku.insights.sample_size import SampleSize, sample_sizes

BUILTIN_SEGMENTS = ("channel", "language")
# Breakdowns the seed guide asks for, offered first when the data has them.
SUGGESTED_PROPERTIES = ("@tenure", "plan", "support_channel", "product", "company_size")


@dataclass(frozen=True)
class Options:
    """What the page shows besides the filter: trend period and the breakdown property."""

    period: str = "month"
    by: str = ""


@dataclass
class SegmentTable:
    name: str
    rows: list[dict[str, Any]]
    hidden: int


@dataclass
class Dashboard:
    scope: Scope
    flt: ResponseFilter
    options: Options
    headline: dict[str, Any]
    previous: dict[str, Any]
    change: dict[str, Any] | None
    distribution: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    segments: list[SegmentTable]
    goals: list[GoalStatus] = field(default_factory=list)
    sample: SampleSize | None = None

    @property
    def kind(self) -> str:
        return self.scope.kind

    @property
    def breakdown(self) -> SegmentTable | None:
        return next((t for t in self.segments if t.name == self.options.by), None)

    @property
    def hidden_headline(self) -> bool:
        return bool(self.headline["n"] < metrics.HIDE_N)


def build_dashboard(
    scope: Scope, flt: ResponseFilter, options: Options, goals: Sequence[Goal] = ()
) -> Dashboard:
    previous = flt.previous()
    both = replace(flt, since=previous.since)
    names = list(dict.fromkeys([*BUILTIN_SEGMENTS, *([options.by] if options.by else [])]))
    requests: list[tuple[Grouping, ResponseFilter]] = [(Grouping("day"), both)]
    requests += [(Grouping.for_name(name), flt) for name in names]
    requests += goal_requests(goals, flt)
    results = histogram_set(scope, requests)
    days = {date.fromisoformat(str(k)): v for k, v in results[0].items() if k}
    current_days = {d: h for d, h in days.items() if d >= flt.since}
    previous_hist = total(h for d, h in days.items() if d < flt.since)
    segments = dict(zip(names, results[1 : 1 + len(names)], strict=True))
    analysis, points = analyze_counts(
        scope, current_days, segments, options.period, flt.since, flt.until
    )
    result = analysis.result
    figures = figures_for(scope)
    current_hist = total(current_days.values())
    return Dashboard(
        scope=scope,
        flt=flt,
        options=options,
        headline=result["overall"],
        previous=figures.stats(to_array(previous_hist, figures.scale_max)),
        change=period_change(figures, current_hist, previous_hist),
        distribution=distribution(scope, current_hist),
        trend=trend_rows(result["periods"], points),
        segments=[
            SegmentTable(name, result["segments"][name], analysis.hidden.get(name, 0))
            for name in names
        ],
        goals=goal_statuses(scope, goals, results[1 + len(names) :]),
        sample=sample_sizes(scope, current_hist),
    )


def period_change(
    figures: Figures, current: list[int], previous: list[int]
) -> dict[str, Any] | None:
    """This period vs the previous equal one: raw delta, p-value, significant at p < 0.05."""
    top = figures.scale_max
    if sum(current) < metrics.HIDE_N or sum(previous) < metrics.HIDE_N:
        return None
    test = figures.compare(to_array(current, top), to_array(previous, top))
    if test is None:
        return None
    return {
        "delta": metrics.round_half_up(test.delta, figures.delta_places),
        "p_value": metrics.round_half_up(test.p_value, P_PLACES),
        "significant": test.p_value < ALPHA,
    }


def distribution(scope: Scope, hist: list[int]) -> list[dict[str, Any]]:
    """Every score of the scale with its count, share and group (low / mid / high)."""
    low, high = scope.scale
    n = sum(hist)
    groups = {
        score: name
        for name in ("low", "mid", "high")
        for score in score_range(scope.kind, low, high, name)
    }
    return [
        {
            "score": score,
            "count": hist[score],
            "pct": metrics.round_half_up(100.0 * hist[score] / n, 1) if n else None,
            "group": groups.get(score, "mid"),
        }
        for score in range(low, high + 1)
    ]


def trend_rows(periods: list[dict[str, Any]], points: list[Bucket]) -> list[dict[str, Any]]:
    """The analyze period rows plus each bucket's first and last day."""
    spans = {b.label: (b.start, b.end) for b in points}
    return [
        {**row, "start": spans[row["period"]][0], "end": spans[row["period"]][1]} for row in periods
    ]


def headline_value(kind: str, stats: dict[str, Any]) -> tuple[Any, Any]:
    """(value, ci95) of a stats dict: NPS, CSAT % or the CES mean."""
    if kind == "ces":
        return stats["mean"], stats["mean_ci95"]
    if kind == "csat":
        return stats["csat"], stats["ci95"]
    return stats["nps"], stats["ci95"]
