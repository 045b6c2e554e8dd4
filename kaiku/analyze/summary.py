"""Turn histograms into the `kaiku analyze` result: figures and tests all come from kaiku.metrics.

The result dict is exactly the documented JSON (docs/cli.md); key order is part of the contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from kaiku import metrics
from kaiku.analyze.reader import Histograms, IntArray, Period

Metric = Literal["nps", "csat", "ces"]
METRICS: tuple[Metric, ...] = ("nps", "csat", "ces")
# Scale tops (--scale) and bottoms: NPS is always 0-10, CSAT and CES answers start at 1.
DEFAULT_SCALE: dict[Metric, int] = {"nps": 10, "csat": 5, "ces": 7}
SCALE_MIN: dict[Metric, int] = {"nps": 0, "csat": 1, "ces": 1}
# CSAT and CES have one interval method each; only NPS offers a choice.
FIXED_CI_METHOD: dict[Metric, str] = {"csat": "wilson", "ces": "t/wilson"}
# Fewest answers per side for a test: a mean's t-test needs a sample SD, so 2 for CES.
MIN_COMPARE_N: dict[Metric, int] = {"nps": 1, "csat": 1, "ces": 2}
ALPHA = 0.05
P_PLACES = 4  # p and q rounded for display only; `significant` uses the unrounded values


@dataclass(frozen=True)
class Figures:
    """One metric at one scale: per-group figures and two-group tests from kaiku.metrics."""

    metric: Metric
    scale_max: int
    ci_method: metrics.CiMethod = "adjusted-wald"

    @property
    def scale_min(self) -> int:
        return SCALE_MIN[self.metric]

    @property
    def delta_places(self) -> int:
        # Like the figures themselves: kaiku.metrics gives means 2 decimals, points 1.
        return 2 if self.metric == "ces" else 1

    @property
    def method_name(self) -> str:
        return self.ci_method if self.metric == "nps" else FIXED_CI_METHOD[self.metric]

    def stats(self, hist: IntArray) -> dict[str, Any]:
        if self.metric == "nps":
            return metrics.nps_stats(_nps_counts(hist), method=self.ci_method).to_dict()
        mapping = self._mapping(hist)
        if self.metric == "csat":
            return metrics.csat_stats(mapping, self.scale_min, self.scale_max).to_dict()
        return metrics.ces_stats(mapping, self.scale_min, self.scale_max).to_dict()

    def compare(self, x: IntArray, y: IntArray) -> metrics.Comparison | None:
        """x vs y, or None when a side has too few answers to test (e.g. no rest at all)."""
        if min(x.sum(), y.sum()) < MIN_COMPARE_N[self.metric]:
            return None
        if self.metric == "nps":
            return metrics.compare_nps(_nps_counts(x), _nps_counts(y))
        return metrics.compare_stats(
            self.metric, self._mapping(x), self._mapping(y), self.scale_min, self.scale_max
        )

    def _mapping(self, hist: IntArray) -> dict[int, int]:
        # A mapping, not a list: score -> count is unambiguous for scales that start at 1.
        return {score: int(hist[score]) for score in range(self.scale_min, self.scale_max + 1)}


def _nps_counts(hist: IntArray) -> metrics.NpsCounts:
    return metrics.NpsCounts.from_histogram([int(count) for count in hist])


@dataclass
class Analysis:
    """The JSON result plus what the table needs to say that JSON leaves out."""

    result: dict[str, Any]
    rows: int
    period: Period | None
    hidden: dict[str, int] = field(default_factory=dict)  # --by column -> values with n < 5


def summarise(hists: Histograms, figures: Figures, period: Period | None) -> Analysis:
    tables = {column: _segment_table(values, figures) for column, values in hists.segments.items()}
    result: dict[str, Any] = {
        "metric": figures.metric,
        "ci_method": figures.method_name,
        "skipped": {"count": sum(hists.skipped.values()), "reasons": dict(hists.skipped)},
        "overall": figures.stats(hists.overall),
        "periods": _period_rows(hists.periods, figures),
        "segments": {column: rows for column, (rows, _) in tables.items()},
    }
    hidden = {column: count for column, (_, count) in tables.items()}
    return Analysis(result, hists.rows, period, hidden)


def _period_rows(periods: Mapping[str, IntArray], figures: Figures) -> list[dict[str, Any]]:
    rows = []
    previous: IntArray | None = None
    for label, hist in periods.items():
        test = None if previous is None else figures.compare(hist, previous)
        change = None if test is None else _change(test, figures.delta_places)
        rows.append({"period": label, **figures.stats(hist), "change": change})
        previous = hist
    return rows


def _change(comparison: metrics.Comparison, delta_places: int) -> dict[str, Any]:
    return {
        "delta": metrics.round_half_up(comparison.delta, delta_places),
        "p_value": metrics.round_half_up(comparison.p_value, P_PLACES),
        "significant": comparison.p_value < ALPHA,
    }


def _segment_table(
    values: Mapping[str, IntArray], figures: Figures
) -> tuple[list[dict[str, Any]], int]:
    """Rows for one --by column (largest first, each tested against the rest) and how many
    values were hidden."""
    total = sum(values.values(), start=np.zeros(figures.scale_max + 1, dtype=np.int64))
    # Hidden values (n < HIDE_N) still belong to everyone else's "rest"; they are just not shown.
    shown = [(value, hist) for value, hist in values.items() if hist.sum() >= metrics.HIDE_N]
    shown.sort(key=lambda item: (-int(item[1].sum()), item[0]))
    tests = [figures.compare(hist, total - hist) for _, hist in shown]
    q_values = _bh([t.p_value for t in tests if t is not None])
    rows = []
    for (value, hist), test in zip(shown, tests, strict=True):
        vs_rest = None if test is None else _vs_rest(test, next(q_values), figures.delta_places)
        rows.append({"value": value, **figures.stats(hist), "vs_rest": vs_rest})
    return rows, len(values) - len(shown)


def _bh(p_values: list[float]) -> Iterator[float]:
    """Benjamini-Hochberg q-values across one column's shown values, as an iterator."""
    return iter(metrics.benjamini_hochberg(p_values) if p_values else [])


def _vs_rest(comparison: metrics.Comparison, q_value: float, delta_places: int) -> dict[str, Any]:
    return {
        "delta": metrics.round_half_up(comparison.delta, delta_places),
        "p_value": metrics.round_half_up(comparison.p_value, P_PLACES),
        "q_value": metrics.round_half_up(q_value, P_PLACES),
        "significant": q_value < ALPHA,
    }
