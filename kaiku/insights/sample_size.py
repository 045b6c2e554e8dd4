"""How many answers are needed, using this survey's own mix of answers (domain.md §1.4)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from kaiku import metrics
from kaiku.insights.queries.grouped import Scope

MARGIN_POINTS = 5.0
DELTA_POINTS = 5.0
POWER = 0.8


@dataclass(frozen=True)
class SampleSize:
    metric: str  # "nps", or "csat"/"ces" for their % satisfied / % agree
    variance: float  # per answer, fraction scale; the worst case when there is no data yet
    from_data: bool
    margin_points: float
    for_margin: int  # answers for ±margin_points
    for_margin_worst: int
    delta_points: float
    for_delta: int  # answers per period/group to detect delta_points (80% power)
    n: int


def sample_sizes(
    scope: Scope, hist: list[int], margin: float = MARGIN_POINTS, delta: float = DELTA_POINTS
) -> SampleSize:
    """Answers needed for ±margin points and to detect a change of delta points."""
    kind = scope.kind
    low, high = scope.scale
    n = sum(hist)
    if kind == "nps":
        counts = metrics.NpsCounts.from_histogram(hist)
        variance = metrics.nps_variance(counts) if n else 1.0
        worst = metrics.sample_size_for_margin(margin)
        return SampleSize(
            kind,
            variance,
            bool(n),
            margin,
            metrics.sample_size_for_margin(margin, variance) if variance else 1,
            worst,
            delta,
            metrics.sample_size_for_difference(delta, variance, variance) if variance else 1,
            n,
        )
    # CSAT and CES: a proportion (% satisfied, % agree); Var = p(1 - p), worst case 1/4.
    top = (
        range(high - 1, high + 1) if kind == "csat" else range(int((low + high) / 2) + 1, high + 1)
    )
    hits = sum(hist[s] for s in top)
    variance = (hits / n) * (1 - hits / n) if n else 0.25
    return SampleSize(
        kind,
        variance,
        bool(n),
        margin,
        _proportion_n(variance, margin),
        _proportion_n(0.25, margin),
        delta,
        _difference_n(variance, delta),
        n,
    )


def _proportion_n(variance: float, margin_points: float) -> int:
    z = metrics.z_for_confidence(0.95)
    return max(1, math.ceil(z * z * variance / (margin_points / 100) ** 2 - 1e-9))


def _difference_n(variance: float, delta_points: float) -> int:
    z = metrics.z_for_confidence(0.95) + metrics.phi_inv(POWER)
    return max(1, math.ceil(z * z * 2 * variance / (delta_points / 100) ** 2 - 1e-9))
