"""Tango's score interval for the NPS, Rocks' "iterative" method.

An NPS answer is a matched pair of indicators (is promoter, is detractor), so P - D is the
difference of two correlated proportions with discordant counts b = P and c = D (the concordant
"both" cell is empty). Tango (1998), "Equivalence test and confidence interval for the difference
in proportions for the paired-sample design", Statistics in Medicine 17:891-908, inverts the score
test of H0: Δ = Δ0:

    S(Δ) = (P - D - nΔ) / √(n·(2·q̂ + Δ(1 - Δ)))

where q̂ is the maximum-likelihood probability of the detractor cell under Δ, the positive root of
2n·q² + W·q - D·Δ(1 - Δ) = 0 with W = -P - D + (2n - P + D)·Δ. The limits solve S(Δ) = ±z.
Rocks (2016) calls this the "iterative" method; his R package NPS (``iterative()``) uses the
same statistic and halves a step 50 times. Here Brent's method finds each root in its bracket.
"""

from __future__ import annotations

import math

from kaiku.metrics.normal import z_for_confidence
from kaiku.metrics.numeric import brentq

# S(Δ) tends to ±∞ at Δ = ∓1 (its variance vanishes); a large finite stand-in keeps Brent's
# interpolation arithmetic finite while preserving the sign that brackets the root.
_HUGE = 1e12


def detractor_cell_mle(promoters: int, detractors: int, n: int, delta: float) -> float:
    """Tango's constrained MLE of the detractor probability given P - D = n·Δ (fraction scale)."""
    w = -promoters - detractors + (2 * n - promoters + detractors) * delta
    k = 8 * n * detractors * delta * (1 - delta)
    root = math.sqrt(max(0.0, w * w + k))
    if w > 0:
        # Same root without the cancellation of √(W² + K) - W when K is small.
        return k / (4 * n * (root + w)) if k > 0 else 0.0
    return (root - w) / (4 * n)


def tango_score(promoters: int, detractors: int, n: int, delta: float) -> float:
    """Tango's score statistic S(Δ); decreasing from +∞ at Δ = -1 to -∞ at Δ = 1."""
    numerator = promoters - detractors - n * delta
    q = detractor_cell_mle(promoters, detractors, n, delta)
    variance = n * (2 * q + delta * (1 - delta))
    if variance <= 0:
        return math.copysign(_HUGE, numerator) if numerator else 0.0
    return max(-_HUGE, min(_HUGE, numerator / math.sqrt(variance)))


def tango_interval(
    promoters: int, detractors: int, n: int, confidence: float = 0.95
) -> tuple[float, float]:
    """The score interval for (P - D)/n on the fraction scale, within [-1, 1]."""
    if n <= 0 or promoters + detractors > n:
        raise ValueError(f"need n ≥ P + D and n > 0, got P={promoters}, D={detractors}, n={n}")
    z = z_for_confidence(confidence)
    estimate = (promoters - detractors) / n

    def score(delta: float) -> float:
        return tango_score(promoters, detractors, n, delta)

    lower = -1.0 if detractors == n else brentq(lambda d: score(d) - z, -1.0, estimate)
    upper = 1.0 if promoters == n else brentq(lambda d: score(d) + z, estimate, 1.0)
    return lower, upper
