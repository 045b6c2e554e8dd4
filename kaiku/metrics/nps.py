"""Net Promoter Score: point estimate, variance, standard error, intervals and bands.

Sources: Reichheld (2003) for the score; Rocks (2016), "Interval Estimation for the 'Net Promoter
Score'", The American Statistician 70(4):365-372 (arXiv:1601.07235), and his R package NPS
(github.com/brendan-r/NPS: ``nps_var``, ``nps_se``) for the variance and the intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from kaiku.metrics.bayes import dirichlet_difference_interval
from kaiku.metrics.counts import NpsCounts
from kaiku.metrics.normal import z_for_confidence
from kaiku.metrics.tango import tango_interval

CiMethod = Literal["adjusted-wald", "wald", "tango", "bayes"]
CI_METHODS: tuple[CiMethod, ...] = get_args(CiMethod)

Band = Literal["needs_improvement", "acceptable", "good", "excellent", "world_class"]

# Rocks (2016): ¾ promoter, 1½ passive, ¾ detractor (3 pseudo-answers in all) keep the
# interval's coverage near 95% at n = 20, where plain Wald drops to about 86%.
PSEUDO_PROMOTERS = 0.75
PSEUDO_PASSIVES = 1.5
PSEUDO_DETRACTORS = 0.75
PSEUDO_N = PSEUDO_PROMOTERS + PSEUDO_PASSIVES + PSEUDO_DETRACTORS


def nps(c: NpsCounts) -> float:
    """The raw NPS, 100·(P - D)/n, in -100…100: the headline figure."""
    _require_answers(c)
    return 100.0 * (c.promoters - c.detractors) / c.n


def nps_variance(c: NpsCounts) -> float:
    """Per-answer variance on the fraction scale: p + d - (p - d)².

    Score each answer +1/0/-1; NPS/100 is their mean. Promoters and detractors are not
    independent, which is why this is not p(1 - p) + d(1 - d).
    """
    _require_answers(c)
    return _variance(c.promoters / c.n, c.detractors / c.n)


def nps_se(c: NpsCounts) -> float:
    """Standard error of the raw NPS, in points: 100·√(Var/n)."""
    return 100.0 * math.sqrt(nps_variance(c) / c.n)


@dataclass(frozen=True)
class Adjusted:
    """The NPS after Rocks' pseudo-counts (n + 3 answers): centre and standard error, in points."""

    centre: float
    se: float


def adjusted(c: NpsCounts) -> Adjusted:
    """Centre and SE with ¾ promoter, 1½ passive and ¾ detractor added (Rocks 2016)."""
    n = c.n + PSEUDO_N
    p = (c.promoters + PSEUDO_PROMOTERS) / n
    d = (c.detractors + PSEUDO_DETRACTORS) / n
    return Adjusted(centre=100.0 * (p - d), se=100.0 * math.sqrt(_variance(p, d) / n))


def nps_ci(
    c: NpsCounts, method: CiMethod = "adjusted-wald", confidence: float = 0.95
) -> tuple[float, float]:
    """A confidence interval for the NPS, in points, within [-100, 100].

    - ``adjusted-wald`` (the product's ci95): adjusted centre ± z·(adjusted SE) (Rocks 2016).
    - ``wald``: raw NPS ± z·SE; too narrow for small n.
    - ``tango``: Tango's (1998) score interval, Rocks' "iterative" method.
    - ``bayes``: equal-tailed interval of the Dirichlet(1, 1, 1) posterior.
    """
    _require_answers(c)
    if method == "adjusted-wald":
        a = adjusted(c)
        return _clip(a.centre, z_for_confidence(confidence) * a.se)
    if method == "wald":
        return _clip(nps(c), z_for_confidence(confidence) * nps_se(c))
    if method == "tango":
        lo, hi = tango_interval(c.promoters, c.detractors, c.n, confidence)
    elif method == "bayes":
        lo, hi = dirichlet_difference_interval(
            c.promoters + 1, c.passives + 1, c.detractors + 1, confidence
        )
    else:
        raise ValueError(f"unknown interval method {method!r}; use one of {CI_METHODS}")
    return max(-100.0, 100.0 * lo), min(100.0, 100.0 * hi)


def nps_moe(c: NpsCounts, method: CiMethod = "adjusted-wald", confidence: float = 0.95) -> float:
    """The margin of error ("±"), in points.

    z·SE for the Wald forms (before clipping, as in the spec); half the interval's width for
    the score and Bayes intervals, which are not symmetric.
    """
    return nps_ci_and_moe(c, method, confidence)[1]


def nps_ci_and_moe(
    c: NpsCounts, method: CiMethod = "adjusted-wald", confidence: float = 0.95
) -> tuple[tuple[float, float], float]:
    """``nps_ci`` and ``nps_moe`` together: the Bayes interval is too dear to compute twice."""
    ci = nps_ci(c, method, confidence)
    if method == "adjusted-wald":
        return ci, z_for_confidence(confidence) * adjusted(c).se
    if method == "wald":
        return ci, z_for_confidence(confidence) * nps_se(c)
    return ci, (ci[1] - ci[0]) / 2.0


def shrink_toward_parent(c: NpsCounts, parent_nps: float, k: float) -> float:
    """A small group's NPS pulled toward its parent's: (n·NPS + k·NPS_parent)/(n + k).

    Optional and always labelled "adjusted" in the UI: it trades bias for stability in
    small segments; k is how many answers' worth of weight the parent gets.
    """
    if k < 0:
        raise ValueError(f"the parent's weight cannot be negative, got {k}")
    if c.n == 0:
        return parent_nps
    return (c.n * nps(c) + k * parent_nps) / (c.n + k)


def band(nps_value: float) -> Band:
    """The seed article's band of a raw NPS.

    needs_improvement < 0 ≤ acceptable < 30 ≤ good < 50 ≤ excellent ≤ 70 < world_class.
    """
    if nps_value < 0:
        return "needs_improvement"
    if nps_value < 30:
        return "acceptable"
    if nps_value < 50:
        return "good"
    if nps_value <= 70:
        return "excellent"
    return "world_class"


def _variance(p: float, d: float) -> float:
    # max(): p + d - (p - d)² is ≥ 0 mathematically but can round to -1e-17 at p = 1.
    return max(0.0, p + d - (p - d) ** 2)


def _clip(centre: float, moe: float) -> tuple[float, float]:
    return max(-100.0, centre - moe), min(100.0, centre + moe)


def _require_answers(c: NpsCounts) -> None:
    if c.n == 0:
        raise ValueError("the NPS of no answers is undefined")
