"""Single proportions (CSAT, % agree, retention): Wilson's interval and a two-sample test."""

from __future__ import annotations

import math

from kaiku.metrics.normal import z_for_confidence


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for successes/n, on the fraction scale.

    Wilson (1927), "Probable inference, the law of succession, and statistical inference",
    JASA 22:209-212; recommended over Wald by Newcombe (1998), Statistics in Medicine
    17:857-872, whose examples are the tests' check values. Never leaves [0, 1], and is not
    degenerate at 0 or n successes.
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 ≤ successes ≤ n and n > 0, got {successes}/{n}")
    z = z_for_confidence(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Difference x1/n1 - x2/n2 and its pooled standard error (fraction scale).

    The pooled SE is the one of the classical z-test (equivalently Pearson's χ² without
    continuity correction): under H0 both groups share one proportion.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both groups need answers")
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return x1 / n1 - x2 / n2, se
