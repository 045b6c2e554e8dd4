"""kaiku.metrics: the statistics behind every NPS, CSAT and CES figure.

Pure Python (stdlib ``math``, ``statistics``, ``decimal``, ``dataclasses`` only; no numpy, no
scipy, no Django), deterministic, and cheap enough to run for every table cell: everything works
on counts and histograms, never on lists of answers. The specification is /work/shared/domain.md
(§1 NPS, §2 CSAT/CES/retention). Everything below is importable from ``kaiku.metrics``.
"Points" are 100 x a fraction; NPS runs from -100 to 100.

Counts::

    Group = Literal["detractor", "passive", "promoter"]
    def group(score: int) -> Group                # 0-6 / 7-8 / 9-10; ValueError outside 0-10
    Histogram = Sequence[int] | Mapping[int, int]  # list indexed by score, or {score: count}

    @dataclass(frozen=True)
    class NpsCounts:
        promoters: int; passives: int; detractors: int    # ValueError if negative
        n: int                                             # property, passives included
        @classmethod from_histogram(hist: Histogram) -> NpsCounts  # 11 entries / keys 0..10
        @classmethod from_scores(scores: Iterable[int]) -> NpsCounts
        __add__ (pooling; sum(list_of_counts) works), swapped() -> NpsCounts (P <-> D)

NPS (Rocks 2016, The American Statistician 70(4):365-372; R package NPS)::

    def nps(c: NpsCounts) -> float                 # 100*(P-D)/n, raw; ValueError when n == 0
    def nps_variance(c: NpsCounts) -> float        # fraction scale: p + d - (p-d)^2
    def nps_se(c: NpsCounts) -> float              # points: 100*sqrt(var/n)
    CiMethod = Literal["adjusted-wald", "wald", "tango", "bayes"]
    def nps_ci(c: NpsCounts, method: CiMethod = "adjusted-wald",
               confidence: float = 0.95) -> tuple[float, float]     # points, within [-100, 100]
    def nps_moe(c: NpsCounts, method: CiMethod = "adjusted-wald",
                confidence: float = 0.95) -> float
        # z*SE (Wald forms, unclipped); half the width for tango and bayes
    def nps_ci_and_moe(c, method="adjusted-wald", confidence=0.95)
        -> tuple[tuple[float, float], float]     # both at once (bayes is ~10-50 ms)
    def adjusted(c: NpsCounts) -> Adjusted         # .centre, .se in points, after ¾/1½/¾
    def shrink_toward_parent(c: NpsCounts, parent_nps: float, k: float) -> float
    Band = Literal["needs_improvement", "acceptable", "good", "excellent", "world_class"]
    def band(nps_value: float) -> Band   # needs_improvement < 0 ≤ acceptable < 30 ≤ good < 50
                                         #   ≤ excellent ≤ 70 < world_class (on the raw NPS)

Comparisons and many comparisons::

    @dataclass(frozen=True)
    class Comparison: delta: float; se: float; z: float; p_value: float   # delta = x - y, raw
    def compare_nps(x: NpsCounts, y: NpsCounts) -> Comparison       # adjusted test, raw delta
    def compare_nps_wald(x: NpsCounts, y: NpsCounts) -> Comparison  # plain Wald (R package)
    def compare_stats(metric: str, x_hist: Histogram, y_hist: Histogram,
                      scale_min: int | None = None, scale_max: int | None = None) -> Comparison
        # metric "nps" | "csat" (top-2 box, pooled z) | "ces" (mean, Welch t in .z)
        #   | "ces_agree" (% agree, pooled z); the scale defaults to the metric's
    def benjamini_hochberg(p_values: Sequence[float]) -> list[float]  # q-values, input order

Sample size::

    def sample_size_for_margin(margin_points: float, variance: float = 1.0,
                               confidence: float = 0.95) -> int        # ±5 → 1534, ±10 → 382
    def sample_size_for_difference(delta_points: float, variance_x: float = 1.0,
                                   variance_y: float = 1.0, confidence: float = 0.95,
                                   power: float = 0.8) -> int          # per group

Proportions, rounding, distributions::

    def wilson_interval(successes: int, n: int,
                        confidence: float = 0.95) -> tuple[float, float]  # fraction scale
    def round_half_up(value: float, places: int = 1) -> float   # Decimal ROUND_HALF_UP
    def phi(x: float) -> float; def phi_inv(p: float) -> float
    def z_for_confidence(confidence: float) -> float            # 0.95 → 1.959964
    def two_sided_p(z: float) -> float                          # 2*(1 - Φ(|z|))
    def t_quantile(p: float, df: float) -> float; def t_cdf(t: float, df: float) -> float

Stats objects: what every screen, API and ``kaiku analyze`` shows for one group of answers.
Fields hold unrounded values; ``to_dict()`` is JSON-ready, rounded half-up (percentages and
points to 1 decimal, means to 2), intervals as [lo, hi]. With n == 0 every figure is None and
``low_base`` is True. ``hidden`` (property, not in to_dict) is n < HIDE_N::

    @dataclass(frozen=True)
    class NpsStats:
        n, promoters, passives, detractors: int
        promoters_pct, passives_pct, detractors_pct, nps, se, moe: float | None
        ci95: tuple[float, float] | None; band: Band | None; low_base: bool
        def to_dict(self) -> dict[str, Any]
    def nps_stats(hist_or_counts: NpsCounts | Histogram,
                  method: CiMethod = "adjusted-wald") -> NpsStats
        # nps, band and se are raw; ci95 and moe come from `method` at 95%

    @dataclass(frozen=True)
    class CsatStats: n, satisfied, satisfied_pct (= csat), csat, ci95, moe, mean, low_base
    def csat_stats(hist: Histogram, scale_min: int = 1, scale_max: int = 5) -> CsatStats
        # satisfied = top-2 box (4-5 on 1-5); ci95 Wilson in points, moe half its width
    @dataclass(frozen=True)
    class CesStats: n, mean, mean_ci95, agree, agree_pct, agree_ci95, low_base
    def ces_stats(hist: Histogram, scale_min: int = 1, scale_max: int = 7) -> CesStats
        # agree = above the midpoint (5-7 on 1-7); mean_ci95 Student t, clipped to the
        # scale (None below n = 2); agree_ci95 Wilson; low_base judges % agree's margin

    Histograms: {score: count}, or a list by position when it has exactly one entry per
    point of the scale (counts[0] is scale_min), or a longer list indexed by score (e.g. the
    11 slots 0..10 for every scale). Non-zero counts off the scale raise ValueError.

Retention::

    def crr(start: int, end: int, new: int) -> float            # 100*(E-N)/S
    @dataclass(frozen=True) class Lifecycle: customer_since: date; churned_at: date | None
    @dataclass(frozen=True) class Retention: at_start, retained; rate; ci(confidence)
    def cohort_retention(customers: Iterable[Lifecycle], start: date, end: date) -> Retention

    LOW_BASE_N = 30; HIDE_N = 5; LOW_BASE_MOE = 20   # low_base = n < 30 or moe > 20 points
"""

from kaiku.metrics.compare import Comparison, compare_nps, compare_nps_wald, compare_stats
from kaiku.metrics.counts import Group, Histogram, NpsCounts, group
from kaiku.metrics.multiple import benjamini_hochberg
from kaiku.metrics.normal import phi, phi_inv, two_sided_p, z_for_confidence
from kaiku.metrics.nps import (
    Adjusted,
    Band,
    CiMethod,
    adjusted,
    band,
    nps,
    nps_ci,
    nps_ci_and_moe,
    nps_moe,
    nps_se,
    nps_variance,
    shrink_toward_parent,
)
from kaiku.metrics.proportions import wilson_interval
from kaiku.metrics.retention import Lifecycle, Retention, cohort_retention, crr
from kaiku.metrics.rounding import round_half_up
from kaiku.metrics.sample_size import sample_size_for_difference, sample_size_for_margin
from kaiku.metrics.stats import (
    HIDE_N,
    LOW_BASE_MOE,
    LOW_BASE_N,
    CesStats,
    CsatStats,
    NpsStats,
    ces_stats,
    csat_stats,
    nps_stats,
)
from kaiku.metrics.student_t import t_cdf, t_quantile

__all__ = [
    "HIDE_N",
    "LOW_BASE_MOE",
    "LOW_BASE_N",
    "Adjusted",
    "Band",
    "CesStats",
    "CiMethod",
    "Comparison",
    "CsatStats",
    "Group",
    "Histogram",
    "Lifecycle",
    "NpsCounts",
    "NpsStats",
    "Retention",
    "adjusted",
    "band",
    "benjamini_hochberg",
    "ces_stats",
    "cohort_retention",
    "compare_nps",
    "compare_nps_wald",
    "compare_stats",
    "crr",
    "csat_stats",
    "group",
    "nps",
    "nps_ci",
    "nps_ci_and_moe",
    "nps_moe",
    "nps_se",
    "nps_stats",
    "nps_variance",
    "phi",
    "phi_inv",
    "round_half_up",
    "sample_size_for_difference",
    "sample_size_for_margin",
    "shrink_toward_parent",
    "t_cdf",
    "t_quantile",
    "two_sided_p",
    "wilson_interval",
    "z_for_confidence",
]
