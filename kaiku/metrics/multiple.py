"""Multiple comparisons: Benjamini-Hochberg false discovery rate control for table cells."""

from __future__ import annotations

import math
from collections.abc import Sequence


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (q-values), in input order: significant at FDR 5% when q < 0.05.

    Benjamini & Hochberg (1995), "Controlling the false discovery rate", JRSS B 57(1):289-300;
    the step-up form of R's ``p.adjust(method = "BH")``: q_(i) = min_{j ≥ i} p_(j)·m/j, capped at 1.
    """
    m = len(p_values)
    if any(not 0.0 <= p <= 1.0 or math.isnan(p) for p in p_values):
        raise ValueError(f"p-values must lie in [0, 1]: {list(p_values)}")
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for rank_from_top, index in enumerate(order):
        rank = m - rank_from_top
        # m/rank ≥ 1 first, so that q ≥ p holds in floating point too (p·m/m can be < p).
        running = min(running, p_values[index] * (m / rank))
        adjusted[index] = running
    return adjusted
