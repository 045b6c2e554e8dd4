"""Student's t distribution: CDF, two-sided p-value and quantile (for CES means).

The CDF is the regularized incomplete beta identity (Abramowitz & Stegun 26.7.1 / 26.5.27):
P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2). The quantile inverts it with Brent's method, so it is as
accurate as the CDF (≈1e-12), for fractional df too (Welch-Satterthwaite degrees of freedom).
"""

from __future__ import annotations

import math

from kaiku.metrics.normal import phi_inv
from kaiku.metrics.numeric import betainc, brentq

# Beyond this many degrees of freedom t and z differ by < 1e-6 at any usual confidence
# (the first Cornish-Fisher term is z(1 + z²)/(4df)), and the continued fraction slows down.
_NORMAL_DF = 1e8


def _two_tail(t: float, df: float) -> float:
    """P(|T| > |t|) with df = df."""
    t2 = t * t
    return betainc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom (df > 0, fractional allowed)."""
    _check_df(df)
    half_tail = _two_tail(t, df) / 2.0
    return 1.0 - half_tail if t > 0 else half_tail


def t_two_sided_p(t: float, df: float) -> float:
    """The two-sided p-value P(|T| ≥ |t|)."""
    _check_df(df)
    if math.isinf(t):
        return 0.0
    return _two_tail(t, df)


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom.

    t_quantile(0.975, 10) = 2.228… Closed forms for df = 1 and 2 (Hill 1970, Comm. ACM
    13(10):617-619); otherwise Brent's method on the CDF, bracketed by doubling; the normal
    quantile when df > 1e8.
    """
    _check_df(df)
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if df == 1.0:
        return math.tan(math.pi * (p - 0.5))
    if df == 2.0:
        return (2.0 * p - 1.0) / math.sqrt(2.0 * p * (1.0 - p))
    if df > _NORMAL_DF:
        return phi_inv(p)
    two_tail = 2.0 * (1.0 - p)
    high = max(1.0, phi_inv(p))
    while _two_tail(high, df) > two_tail:
        high *= 2.0
    return brentq(lambda t: _two_tail(t, df) - two_tail, 0.0, high, xtol=1e-13)


def _check_df(df: float) -> None:
    if not df > 0.0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
