"""How many answers are needed: for a margin of error, and to detect a difference."""

from __future__ import annotations

import math

from kaiku.metrics.normal import phi_inv, z_for_confidence
from kaiku.metrics.nps import PSEUDO_N

# Guards ceil() against float noise: 382.0000000001 must not become 383.
_CEIL_SLACK = 1e-9


def sample_size_for_margin(
    margin_points: float, variance: float = 1.0, confidence: float = 0.95
) -> int:
    """Answers for an adjusted-Wald NPS margin of ±margin_points: z²·Var/m² - 3, rounded up.

    ``variance`` is per answer on the fraction scale; 1 (all promoters or detractors, half each)
    is the worst case: ±5 points needs 1,534 answers, ±10 points 382. The -3 is the three
    pseudo-answers of the adjusted interval (Rocks 2016).
    """
    if margin_points <= 0:
        raise ValueError(f"margin must be positive, got {margin_points}")
    _check_variance(variance)
    margin = margin_points / 100.0
    z = z_for_confidence(confidence)
    return max(1, math.ceil(z * z * variance / (margin * margin) - PSEUDO_N - _CEIL_SLACK))


def sample_size_for_difference(
    delta_points: float,
    variance_x: float = 1.0,
    variance_y: float = 1.0,
    confidence: float = 0.95,
    power: float = 0.8,
) -> int:
    """Answers per group to detect an NPS difference of delta_points with the given power.

    n = (z_{alpha/2} + z_β)²·(Var_x + Var_y)/Δ², the usual two-sample normal approximation.
    """
    if delta_points == 0:
        raise ValueError("a zero difference cannot be detected")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    _check_variance(variance_x)
    _check_variance(variance_y)
    delta = delta_points / 100.0
    z_sum = z_for_confidence(confidence) + phi_inv(power)
    return max(1, math.ceil(z_sum**2 * (variance_x + variance_y) / delta**2 - _CEIL_SLACK))


def _check_variance(variance: float) -> None:
    # The per-answer NPS variance p + d - (p - d)² never exceeds 1.
    if not 0.0 <= variance <= 1.0:
        raise ValueError(f"per-answer NPS variance lies in [0, 1], got {variance}")
