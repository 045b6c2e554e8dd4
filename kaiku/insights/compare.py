"""Two-period comparison: this period vs the previous equal one, overall and per segment value.

One query (two UNION ALL branches). Each value's change is tested with the metric's
two-sample test, and the p-values of the table are Benjamini-Hochberg adjusted together:
`significant` means q < 0.05, as in the segment tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kaiku import metrics
from kaiku.analyze.summary import ALPHA, P_PLACES
from kaiku.insights.analysis import figures_for, to_array
from kaiku.insights.queries.filters import ResponseFilter
from kaiku.insights.queries.grouped import Grouping, Scope, histogram_set, total


@dataclass
class CompareTable:
    by: str
    current: ResponseFilter
    previous: ResponseFilter
    overall: dict[str, Any]
    rows: list[dict[str, Any]]
    hidden: int


def compare_periods(scope: Scope, flt: ResponseFilter, by: str) -> CompareTable:
    previous = flt.previous()
    grouping = Grouping.for_name(by) if by else Grouping("all")
    now_counts, before_counts = histogram_set(scope, [(grouping, flt), (grouping, previous)])
    figures = figures_for(scope)
    top = figures.scale_max

    def row(value: str, now: list[int], before: list[int]) -> dict[str, Any]:
        a, b = to_array(now, top), to_array(before, top)
        test = figures.compare(a, b) if a.sum() and b.sum() else None
        return {
            "value": value,
            "current": figures.stats(a),
            "previous": figures.stats(b),
            "delta": None
            if test is None
            else metrics.round_half_up(test.delta, figures.delta_places),
            "p_value": None if test is None else test.p_value,
        }

    overall = row("", total(now_counts.values()), total(before_counts.values()))
    values = sorted({str(v) for v in [*now_counts, *before_counts] if v not in (None, "")})
    rows, hidden = [], 0
    empty = [0] * 11
    for value in values:
        now = now_counts.get(value, empty)
        before = before_counts.get(value, empty)
        if min(sum(now), sum(before)) < metrics.HIDE_N:
            hidden += 1
            continue
        rows.append(row(value, now, before))
    tested = [r for r in rows if r["p_value"] is not None]
    q_values = metrics.benjamini_hochberg([r["p_value"] for r in tested]) if tested else []
    for r, q in zip(tested, q_values, strict=True):
        r["q_value"] = metrics.round_half_up(q, P_PLACES)
        r["significant"] = q < ALPHA
        r["p_value"] = metrics.round_half_up(r["p_value"], P_PLACES)
    rows.sort(key=lambda r: -r["current"]["n"])
    return CompareTable(by, flt, previous, overall, rows, hidden)
