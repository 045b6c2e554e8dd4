"""Display rounding: half away from zero, as people and spreadsheets expect."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

# Beyond this a double carries no fractional digits worth rounding (and Decimal's default
# 28-digit context could not quantize it).
_NO_FRACTION = 1e15


def round_half_up(value: float, places: int = 1) -> float:
    """Round half away from zero: 2.5 → 3, -2.5 → -3, 0.15 → 0.2 (with places=1).

    Python's round() rounds half to even (round(2.5) == 2) and works on the binary value
    (round(0.15, 1) == 0.1), so a table could show 12 where a reader computes 13. repr() gives
    the shortest decimal that reads back as the same float, i.e. the number as written.
    """
    if not math.isfinite(value) or abs(value) >= _NO_FRACTION:
        return value
    step = Decimal(1).scaleb(-places)
    rounded = float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))
    return rounded + 0.0  # -0.0 → 0.0, so JSON never shows "-0.0"


def round_pair(pair: tuple[float, float], places: int = 1) -> list[float]:
    """An interval rounded for JSON: [lo, hi]."""
    return [round_half_up(pair[0], places), round_half_up(pair[1], places)]
