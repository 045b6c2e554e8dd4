"""Customer Effort Score (CES 2.0): the mean on the 1-7 agreement scale, and the share agreeing.

"{brand} made it easy for me to handle my issue", 1 = strongly disagree … 7 = strongly agree;
high is good. Agree = 5-7, i.e. every score above the scale's midpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kaiku.metrics.student_t import t_quantile


def agree_count(counts: Sequence[int], scale_min: int, scale_max: int) -> int:
    """Answers above the midpoint (5-7 on 1-7, 4-5 on 1-5); counts[i] is score scale_min + i."""
    midpoint = (scale_min + scale_max) / 2
    return sum(count for i, count in enumerate(counts) if scale_min + i > midpoint)


def mean_t_interval(
    n: int, mean: float, sd: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Student's t-interval for a mean: mean ± t_{1-alpha/2, n-1}·sd/√n (needs n ≥ 2)."""
    if n < 2 or math.isnan(sd):
        raise ValueError(f"a t-interval needs at least 2 answers, got {n}")
    half = t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half
