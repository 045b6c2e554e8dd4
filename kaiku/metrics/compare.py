"""Two-sample comparisons: periods, segments, a segment against the rest.

The groups must be independent. For the same customers in both (a panel), test per-customer
differences instead: these tests assume independence and would misstate the standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kaiku.metrics.ces import agree_count
from kaiku.metrics.counts import Histogram, NpsCounts, scale_counts, scale_moments
from kaiku.metrics.csat import satisfied_count
from kaiku.metrics.normal import two_sided_p
from kaiku.metrics.nps import adjusted, nps, nps_se
from kaiku.metrics.proportions import two_proportion_z
from kaiku.metrics.student_t import t_two_sided_p

# The default scale of each metric (scale_min, scale_max).
SCALES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "ces_agree": (1, 7),
}


@dataclass(frozen=True)
class Comparison:
    """x versus y: raw difference x - y, its standard error, the test statistic and p-value.

    Points for NPS, CSAT and % agree; scale units for the CES mean, whose ``z`` is Welch's t.
    """

    delta: float
    se: float
    z: float
    p_value: float


def compare_nps(x: NpsCounts, y: NpsCounts) -> Comparison:
    """The product's NPS test: z on the adjusted centres, p = 2·(1 - Φ(|z|)); raw delta.

    Rocks' pseudo-counts are added to each group (Rocks 2016), which keeps the test sane for
    small groups (a 3-answer segment of promoters has SE 0 without them).
    """
    ax, ay = adjusted(x), adjusted(y)
    se = math.hypot(ax.se, ay.se)
    z = (ax.centre - ay.centre) / se
    return Comparison(delta=nps(x) - nps(y), se=se, z=z, p_value=two_sided_p(z))


def compare_nps_wald(x: NpsCounts, y: NpsCounts) -> Comparison:
    """Plain Wald z-test on the raw NPS values, as ``nps_test`` in Rocks' R package NPS."""
    delta = nps(x) - nps(y)
    return _z_comparison(delta, math.hypot(nps_se(x), nps_se(y)))


def compare_stats(
    metric: str,
    x_hist: Histogram,
    y_hist: Histogram,
    scale_min: int | None = None,
    scale_max: int | None = None,
) -> Comparison:
    """Compare two histograms of answers on one metric.

    - ``nps``: ``compare_nps`` (0-10).
    - ``csat``: two-proportion z-test (pooled SE) on the top-2 box, in points.
    - ``ces``: Welch's t-test on the mean (``z`` holds t; p from Welch-Satterthwaite df).
    - ``ces_agree``: two-proportion z-test on % agree, in points.

    The scale defaults to the metric's usual one (see ``SCALES``).
    """
    if metric not in SCALES:
        raise ValueError(f"unknown metric {metric!r}; use one of {sorted(SCALES)}")
    low = SCALES[metric][0] if scale_min is None else scale_min
    high = SCALES[metric][1] if scale_max is None else scale_max
    if metric == "nps":
        if (low, high) != SCALES["nps"]:
            raise ValueError("NPS answers are on the 0-10 scale")
        return compare_nps(NpsCounts.from_histogram(x_hist), NpsCounts.from_histogram(y_hist))
    xs, ys = scale_counts(x_hist, low, high), scale_counts(y_hist, low, high)
    if metric == "ces":
        return _welch(xs, ys, low)
    if metric == "csat":
        x_hits, y_hits = satisfied_count(xs), satisfied_count(ys)
    else:
        x_hits, y_hits = agree_count(xs, low, high), agree_count(ys, low, high)
    delta, se = two_proportion_z(x_hits, sum(xs), y_hits, sum(ys))
    return _z_comparison(100.0 * delta, 100.0 * se)


def _welch(xs: list[int], ys: list[int], scale_min: int) -> Comparison:
    """Welch (1947) unequal-variance t-test on two histograms' means."""
    nx, mean_x, sd_x = scale_moments(xs, scale_min)
    ny, mean_y, sd_y = scale_moments(ys, scale_min)
    if nx < 2 or ny < 2:
        raise ValueError("comparing means needs at least 2 answers in each group")
    vx, vy = sd_x**2 / nx, sd_y**2 / ny
    delta, se = mean_x - mean_y, math.sqrt(vx + vy)
    if se == 0.0:
        return _z_comparison(delta, se)
    df = (vx + vy) ** 2 / (vx**2 / (nx - 1) + vy**2 / (ny - 1))
    t = delta / se
    return Comparison(delta=delta, se=se, z=t, p_value=t_two_sided_p(t, df))


def _z_comparison(delta: float, se: float) -> Comparison:
    # With no spread in either group, equal values are not different at all and unequal
    # ones certainly are.
    if se > 0.0:
        z = delta / se
    elif delta == 0.0:
        z = 0.0
    else:
        z = math.copysign(math.inf, delta)
    return Comparison(delta=delta, se=se, z=z, p_value=two_sided_p(z))
