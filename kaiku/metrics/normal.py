"""The standard normal distribution: Φ, its inverse, and the z for a confidence level."""

from __future__ import annotations

import math
from statistics import NormalDist

_STANDARD = NormalDist()


def phi(x: float) -> float:
    """Φ(x), the standard normal CDF (via erfc, so the lower tail keeps its precision)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def phi_inv(p: float) -> float:
    """Φ⁻¹(p), the standard normal quantile, for 0 < p < 1.

    The stdlib's ``NormalDist.inv_cdf`` implements Wichura's rational approximation
    (Wichura 1988, Algorithm AS 241 "PPND16", Applied Statistics 37(3):477-484), accurate to
    about 1e-16, so there is no reason to carry a second copy of its coefficients here.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    return _STANDARD.inv_cdf(p)


def z_for_confidence(confidence: float) -> float:
    """The two-sided critical value z_{1-alpha/2} for confidence 1 - alpha (0.95: 1.959964)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return phi_inv(1.0 - (1.0 - confidence) / 2.0)


def two_sided_p(z: float) -> float:
    """2·(1 - Φ(|z|)), computed as erfc(|z|/√2) so that tiny p-values do not round to 0."""
    return math.erfc(abs(z) / math.sqrt(2.0))
