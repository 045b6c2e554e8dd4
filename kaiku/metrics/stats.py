"""The figures every screen, API response and ``kaiku analyze`` shows for one group of answers.

Fields hold unrounded values for further computation; ``to_dict()`` is the JSON form, rounded
half away from zero. Built from histograms, so a table cell costs a few arithmetic operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kaiku.metrics.ces import agree_count, mean_t_interval
from kaiku.metrics.counts import Histogram, NpsCounts, scale_counts, scale_moments
from kaiku.metrics.csat import csat, satisfied_count
from kaiku.metrics.nps import Band, CiMethod, band, nps, nps_ci_and_moe, nps_se
from kaiku.metrics.proportions import wilson_interval
from kaiku.metrics.rounding import round_half_up, round_pair

LOW_BASE_N = 30  # fewer answers: shown greyed as "low base"
HIDE_N = 5  # fewer answers: not shown at all (a respondent could be identified)
LOW_BASE_MOE = 20  # a wider margin of error (points) is also a low base

PCT_PLACES = 1  # percentages, NPS points
MEAN_PLACES = 2  # means on a 1-5 or 1-7 scale: one decimal would hide real movement


def is_low_base(n: int, moe: float | None) -> bool:
    """Too few answers, or too wide a margin, to read much into the figure."""
    return n < LOW_BASE_N or moe is None or moe > LOW_BASE_MOE


def is_hidden(n: int) -> bool:
    """Too few answers to show at all, for the respondents' privacy."""
    return n < HIDE_N


@dataclass(frozen=True)
class NpsStats:
    """NPS figures of one group of answers; None figures when there are no answers."""

    n: int
    promoters: int
    passives: int
    detractors: int
    promoters_pct: float | None
    passives_pct: float | None
    detractors_pct: float | None
    nps: float | None
    se: float | None
    ci95: tuple[float, float] | None
    moe: float | None
    band: Band | None
    low_base: bool

    @property
    def hidden(self) -> bool:
        return is_hidden(self.n)

    @property
    def counts(self) -> NpsCounts:
        return NpsCounts(self.promoters, self.passives, self.detractors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: figures rounded half-up to 1 decimal, ci95 as [lo, hi]."""
        return {
            "n": self.n,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "promoters_pct": _round(self.promoters_pct),
            "passives_pct": _round(self.passives_pct),
            "detractors_pct": _round(self.detractors_pct),
            "nps": _round(self.nps),
            "se": _round(self.se),
            "ci95": _round_ci(self.ci95),
            "moe": _round(self.moe),
            "band": self.band,
            "low_base": self.low_base,
        }


def nps_stats(
    hist_or_counts: NpsCounts | Histogram, method: CiMethod = "adjusted-wald"
) -> NpsStats:
    """NpsStats from counts or a 0-10 histogram; ci95 and moe by ``method`` at 95%.

    The headline ``nps`` and ``band`` are raw; ``se`` is the raw SE (Rocks 2016);
    ``ci95`` is by default the adjusted Wald interval, whose centre is not the raw NPS.
    """
    c = (
        hist_or_counts
        if isinstance(hist_or_counts, NpsCounts)
        else NpsCounts.from_histogram(hist_or_counts)
    )
    if c.n == 0:
        return NpsStats(0, 0, 0, 0, None, None, None, None, None, None, None, None, True)
    value = nps(c)
    ci95, moe = nps_ci_and_moe(c, method)
    return NpsStats(
        n=c.n,
        promoters=c.promoters,
        passives=c.passives,
        detractors=c.detractors,
        promoters_pct=100.0 * c.promoters / c.n,
        passives_pct=100.0 * c.passives / c.n,
        detractors_pct=100.0 * c.detractors / c.n,
        nps=value,
        se=nps_se(c),
        ci95=ci95,
        moe=moe,
        band=band(value),
        low_base=is_low_base(c.n, moe),
    )


@dataclass(frozen=True)
class CsatStats:
    """CSAT figures: the top-2-box share (csat, in points) with its Wilson interval."""

    n: int
    satisfied: int
    satisfied_pct: float | None
    csat: float | None
    ci95: tuple[float, float] | None
    moe: float | None
    mean: float | None
    low_base: bool

    @property
    def hidden(self) -> bool:
        return is_hidden(self.n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: points rounded half-up to 1 decimal, the mean to 2."""
        return {
            "n": self.n,
            "satisfied": self.satisfied,
            "satisfied_pct": _round(self.satisfied_pct),
            "csat": _round(self.csat),
            "ci95": _round_ci(self.ci95),
            "moe": _round(self.moe),
            "mean": _round(self.mean, MEAN_PLACES),
            "low_base": self.low_base,
        }


def csat_stats(hist: Histogram, scale_min: int = 1, scale_max: int = 5) -> CsatStats:
    """CsatStats from a histogram; satisfied = the top two boxes (4-5 on 1-5).

    ``moe`` is half the Wilson interval's width (the interval is not symmetric).
    """
    counts = scale_counts(hist, scale_min, scale_max)
    n, mean, _ = scale_moments(counts, scale_min)
    satisfied = satisfied_count(counts)
    if n == 0:
        return CsatStats(0, 0, None, None, None, None, None, True)
    ci95 = _points(wilson_interval(satisfied, n))
    moe = (ci95[1] - ci95[0]) / 2
    value = csat(satisfied, n)
    return CsatStats(
        n=n,
        satisfied=satisfied,
        satisfied_pct=value,
        csat=value,
        ci95=ci95,
        moe=moe,
        mean=mean,
        low_base=is_low_base(n, moe),
    )


@dataclass(frozen=True)
class CesStats:
    """CES 2.0 figures: the mean with a t-interval, and % agree (5-7) with a Wilson interval.

    ``mean_ci95`` is None below 2 answers (no sample SD). ``low_base`` judges the margin of
    % agree, the figure on the points scale that LOW_BASE_MOE is about.
    """

    n: int
    mean: float | None
    mean_ci95: tuple[float, float] | None
    agree: int
    agree_pct: float | None
    agree_ci95: tuple[float, float] | None
    low_base: bool

    @property
    def hidden(self) -> bool:
        return is_hidden(self.n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the mean and its interval to 2 decimals, % agree to 1."""
        return {
            "n": self.n,
            "mean": _round(self.mean, MEAN_PLACES),
            "mean_ci95": _round_ci(self.mean_ci95, MEAN_PLACES),
            "agree": self.agree,
            "agree_pct": _round(self.agree_pct),
            "agree_ci95": _round_ci(self.agree_ci95),
            "low_base": self.low_base,
        }


def ces_stats(hist: Histogram, scale_min: int = 1, scale_max: int = 7) -> CesStats:
    """CesStats from a histogram; the mean's t-interval is clipped to the scale."""
    counts = scale_counts(hist, scale_min, scale_max)
    n, mean, sd = scale_moments(counts, scale_min)
    if n == 0:
        return CesStats(0, None, None, 0, None, None, True)
    agree = agree_count(counts, scale_min, scale_max)
    agree_ci95 = _points(wilson_interval(agree, n))
    mean_ci95 = None
    if n >= 2:
        lo, hi = mean_t_interval(n, mean, sd)
        mean_ci95 = (max(float(scale_min), lo), min(float(scale_max), hi))
    return CesStats(
        n=n,
        mean=mean,
        mean_ci95=mean_ci95,
        agree=agree,
        agree_pct=100.0 * agree / n,
        agree_ci95=agree_ci95,
        low_base=is_low_base(n, (agree_ci95[1] - agree_ci95[0]) / 2),
    )


def _points(interval: tuple[float, float]) -> tuple[float, float]:
    return 100.0 * interval[0], 100.0 * interval[1]


def _round(value: float | None, places: int = PCT_PLACES) -> float | None:
    return None if value is None or math.isnan(value) else round_half_up(value, places)


def _round_ci(ci: tuple[float, float] | None, places: int = PCT_PLACES) -> list[float] | None:
    return None if ci is None else round_pair(ci, places)
