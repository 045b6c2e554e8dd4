"""kaiku.metrics: properties every NPS interval method must have, for any counts (hypothesis)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaiku.metrics import CiMethod, NpsCounts, adjusted, benjamini_hochberg, nps, nps_ci

METHODS: list[CiMethod] = ["adjusted-wald", "wald", "tango", "bayes"]
TOLERANCE = 1e-6  # points; the score and Bayes limits come from root finding

count = st.integers(min_value=0, max_value=400)
nps_counts = st.builds(NpsCounts, count, count, count).filter(lambda c: c.n > 0)

# The Bayes interval integrates numerically (tens of milliseconds): fewer, slower examples.
property_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


def centre(c: NpsCounts, method: CiMethod) -> float:
    """The point each interval is built around."""
    if method == "adjusted-wald":
        return adjusted(c).centre
    if method == "bayes":
        return 100.0 * (c.promoters - c.detractors) / (c.n + 3)  # posterior mean
    return nps(c)


def width(c: NpsCounts, method: CiMethod) -> float:
    lo, hi = nps_ci(c, method)
    return hi - lo


@pytest.mark.parametrize("method", METHODS)
@property_settings
@given(c=nps_counts)
def test_intervals_contain_their_centre_and_stay_in_range(c: NpsCounts, method: CiMethod) -> None:
    lo, hi = nps_ci(c, method)
    assert -100.0 <= lo <= hi <= 100.0
    assert lo - TOLERANCE <= centre(c, method) <= hi + TOLERANCE


@pytest.mark.parametrize("method", METHODS)
@property_settings
@given(c=nps_counts, k=st.integers(min_value=2, max_value=5))
def test_intervals_shrink_as_answers_grow(c: NpsCounts, k: int, method: CiMethod) -> None:
    bigger = NpsCounts(k * c.promoters, k * c.passives, k * c.detractors)
    assert width(bigger, method) <= width(c, method) + TOLERANCE


@pytest.mark.parametrize("method", METHODS)
@property_settings
@given(c=nps_counts)
def test_swapping_promoters_and_detractors_negates_the_interval(
    c: NpsCounts, method: CiMethod
) -> None:
    lo, hi = nps_ci(c, method)
    swapped_lo, swapped_hi = nps_ci(c.swapped(), method)
    assert swapped_lo == pytest.approx(-hi, abs=TOLERANCE)
    assert swapped_hi == pytest.approx(-lo, abs=TOLERANCE)


@settings(max_examples=300)
@given(p_values=st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=40))
def test_bh_q_values_are_at_least_p_monotone_and_capped(p_values: list[float]) -> None:
    q_values = benjamini_hochberg(p_values)
    assert len(q_values) == len(p_values)
    for p, q in zip(p_values, q_values, strict=True):
        assert p <= q <= 1.0
    ranked = sorted(zip(p_values, q_values, strict=True))
    assert all(low[1] <= high[1] for low, high in pairwise(ranked))
