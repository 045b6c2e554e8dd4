"""Numerical building blocks: root finding, quadrature and the incomplete beta function.

Stdlib only, so that the statistics run anywhere the web app runs (no numpy/scipy wheels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

_EPS = 2.220446049250313e-16


def brentq(
    f: Callable[[float], float],
    a: float,
    b: float,
    xtol: float = 1e-12,
    max_iterations: int = 200,
) -> float:
    """A root of ``f`` in the bracket [a, b] (f(a) and f(b) of opposite signs).

    Brent's method (Brent 1973, "Algorithms for Minimization without Derivatives", ch. 4):
    inverse quadratic interpolation guarded by bisection, so it never leaves the bracket and
    converges superlinearly on smooth functions. ``f`` must return finite values.
    """
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa < 0.0) == (fb < 0.0):
        raise ValueError(f"root not bracketed: f({a}) = {fa}, f({b}) = {fb}")
    x_pre, x_cur, f_pre, f_cur = a, b, fa, fb
    x_blk = f_blk = s_pre = s_cur = 0.0
    for _ in range(max_iterations):
        if f_pre != 0.0 and f_cur != 0.0 and (f_pre < 0.0) != (f_cur < 0.0):
            x_blk, f_blk = x_pre, f_pre
            s_pre = s_cur = x_cur - x_pre
        if abs(f_blk) < abs(f_cur):
            x_pre, x_cur, x_blk = x_cur, x_blk, x_cur
            f_pre, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = (xtol + 4 * _EPS * abs(x_cur)) / 2
        s_bis = (x_blk - x_cur) / 2
        if f_cur == 0.0 or abs(s_bis) < delta:
            return x_cur
        if abs(s_pre) > delta and abs(f_cur) < abs(f_pre):
            if x_pre == x_blk:  # secant step
                s_try = -f_cur * (x_cur - x_pre) / (f_cur - f_pre)
            else:  # inverse quadratic interpolation
                d_pre = (f_pre - f_cur) / (x_pre - x_cur)
                d_blk = (f_blk - f_cur) / (x_blk - x_cur)
                s_try = -f_cur * (f_blk * d_blk - f_pre * d_pre) / (d_blk * d_pre * (f_blk - f_pre))
            if 2 * abs(s_try) < min(abs(s_pre), 3 * abs(s_bis) - delta):
                s_pre, s_cur = s_cur, s_try
            else:
                s_pre = s_cur = s_bis
        else:
            s_pre = s_cur = s_bis
        x_pre, f_pre = x_cur, f_cur
        x_cur += s_cur if abs(s_cur) > delta else math.copysign(delta, s_bis)
        f_cur = f(x_cur)
    raise ArithmeticError(f"brentq did not converge in {max_iterations} iterations")


@cache
def gauss_legendre(order: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Nodes and weights of the ``order``-point Gauss-Legendre rule on [-1, 1].

    Newton's iteration on the Legendre polynomial from Tricomi's initial guesses
    (Press et al., Numerical Recipes, 3rd ed., §4.6). Cached: it is computed once per order.
    """
    nodes: list[float] = []
    weights: list[float] = []
    for i in range(1, order + 1):
        x = math.cos(math.pi * (i - 0.25) / (order + 0.5))
        for _ in range(100):
            p_n, dp_n = _legendre(order, x)
            step = p_n / dp_n
            x -= step
            if abs(step) < 1e-16:
                break
        _, dp_n = _legendre(order, x)
        nodes.append(x)
        weights.append(2.0 / ((1.0 - x * x) * dp_n * dp_n))
    return tuple(nodes), tuple(weights)


def _legendre(order: int, x: float) -> tuple[float, float]:
    """P_order(x) and its derivative, by the three-term recurrence."""
    p_prev, p_n = 1.0, x
    for k in range(2, order + 1):
        p_prev, p_n = p_n, ((2 * k - 1) * x * p_n - (k - 1) * p_prev) / k
    return p_n, order * (x * p_n - p_prev) / (x * x - 1.0)


def integrate(
    f: Callable[[float], float], a: float, b: float, panels: int = 8, order: int = 12
) -> float:
    """∫_a^b f by composite Gauss-Legendre: ``panels`` equal panels of ``order`` points."""
    if b <= a:
        return 0.0
    nodes, weights = gauss_legendre(order)
    width = (b - a) / panels
    total = 0.0
    for panel in range(panels):
        mid = a + (panel + 0.5) * width
        half = width / 2
        total += half * sum(w * f(mid + half * x) for x, w in zip(nodes, weights, strict=True))
    return total


def log_beta(a: float, b: float) -> float:
    """log B(a, b)."""
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def betainc(a: float, b: float, x: float, y: float | None = None) -> float:
    """The regularized incomplete beta function I_x(a, b).

    ``y`` may pass 1 - x computed without cancellation (Student t tails need it). Continued
    fraction by the modified Lentz method (Press et al., Numerical Recipes, 3rd ed., §6.4),
    on whichever side of the mean converges fast.
    """
    if y is None:
        y = 1.0 - x
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log(y) - log_beta(a, b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b); converges quickly for x < (a + 1)/(a + b + 2)."""
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        # Even step.
        aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        # Odd step.
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")
