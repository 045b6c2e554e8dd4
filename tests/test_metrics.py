"""kaiku.metrics: counts, NPS figures, bands, rounding, sample sizes, BH, stats objects.

Check values come from /work/shared/domain.md (the seed article, Rocks 2016 and his R package
NPS) or are worked by hand in the comments.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from kaiku.metrics import (
    HIDE_N,
    LOW_BASE_MOE,
    LOW_BASE_N,
    Lifecycle,
    NpsCounts,
    band,
    benjamini_hochberg,
    ces_stats,
    cohort_retention,
    crr,
    csat_stats,
    group,
    nps,
    nps_ci,
    nps_moe,
    nps_se,
    nps_stats,
    nps_variance,
    round_half_up,
    sample_size_for_difference,
    sample_size_for_margin,
    shrink_toward_parent,
)

SEED = NpsCounts(promoters=70, passives=15, detractors=15)


class TestCounts:
    def test_it_groups_scores_at_the_boundaries(self) -> None:
        assert [group(s) for s in (0, 6, 7, 8, 9, 10)] == [
            "detractor",
            "detractor",
            "passive",
            "passive",
            "promoter",
            "promoter",
        ]

    @pytest.mark.parametrize("score", [-1, 11, 9.5])
    def test_it_refuses_scores_outside_0_to_10(self, score: float) -> None:
        with pytest.raises(ValueError, match="0-10"):
            group(score)  # type: ignore[arg-type]

    def test_it_reads_a_histogram_list_indexed_by_score(self) -> None:
        hist = [1, 0, 0, 0, 0, 0, 2, 3, 4, 5, 6]
        assert NpsCounts.from_histogram(hist) == NpsCounts(promoters=11, passives=7, detractors=3)

    def test_it_reads_a_histogram_mapping(self) -> None:
        assert NpsCounts.from_histogram({10: 2, 8: 1, 0: 4}) == NpsCounts(2, 1, 4)

    def test_it_refuses_a_histogram_of_the_wrong_length(self) -> None:
        with pytest.raises(ValueError, match="entries"):
            NpsCounts.from_histogram([1, 2, 3])

    def test_it_refuses_scores_outside_the_scale_in_a_mapping(self) -> None:
        with pytest.raises(ValueError, match="outside"):
            NpsCounts.from_histogram({11: 1})

    def test_it_refuses_negative_counts(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            NpsCounts(1, -1, 0)

    def test_it_counts_individual_scores(self) -> None:
        assert NpsCounts.from_scores([10, 9, 7, 3, 0]) == NpsCounts(2, 1, 2)

    def test_it_pools_counts_by_adding(self) -> None:
        days = [NpsCounts(1, 0, 0), NpsCounts(0, 2, 1), NpsCounts(3, 0, 0)]
        assert sum(days) == NpsCounts(4, 2, 1)
        assert sum(days, NpsCounts(0, 0, 0)).n == 7
        assert days[0] + days[1] == NpsCounts(1, 2, 1)


class TestNps:
    def test_the_seed_example_is_55_and_excellent(self) -> None:
        assert nps(SEED) == 55.0
        assert band(nps(SEED)) == "excellent"

    def test_passives_count_in_n(self) -> None:
        assert nps(NpsCounts(promoters=1, passives=2, detractors=1)) == 0.0
        assert nps(NpsCounts(promoters=2, passives=2, detractors=0)) == 50.0

    def test_it_refuses_an_empty_group(self) -> None:
        with pytest.raises(ValueError, match="no answers"):
            nps(NpsCounts(0, 0, 0))

    def test_variance_and_se_match_the_r_package(self) -> None:
        # R package NPS: counts (D, A, P) = (1, 2, 3) → Var 5/9, SE 0.304 on the fraction scale.
        c = NpsCounts(promoters=3, passives=2, detractors=1)
        assert nps_variance(c) == pytest.approx(5 / 9)
        assert round(nps_se(c) / 100, 3) == 0.304

    def test_variance_is_not_the_independent_sum(self) -> None:
        # Promoters and detractors are negatively correlated: the +2pd term. P/A/D = 3/2/1.
        p, d = 0.5, 1 / 6
        expected = p * (1 - p) + d * (1 - d) + 2 * p * d
        assert nps_variance(NpsCounts(3, 2, 1)) == pytest.approx(expected)

    def test_all_promoters_have_zero_variance(self) -> None:
        assert nps_variance(NpsCounts(7, 0, 0)) == 0.0
        assert nps_se(NpsCounts(7, 0, 0)) == 0.0

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (-100.0, "needs_improvement"),
            (-0.01, "needs_improvement"),
            (0.0, "acceptable"),
            (29.99, "acceptable"),
            (30.0, "good"),
            (49.99, "good"),
            (50.0, "excellent"),
            (70.0, "excellent"),
            (70.01, "world_class"),
            (100.0, "world_class"),
        ],
    )
    def test_bands_follow_the_seed_article(self, value: float, expected: str) -> None:
        assert band(value) == expected

    def test_shrinkage_pulls_toward_the_parent(self) -> None:
        c = NpsCounts(promoters=4, passives=0, detractors=0)  # NPS 100, n 4
        assert shrink_toward_parent(c, parent_nps=20.0, k=4) == pytest.approx(60.0)
        assert shrink_toward_parent(c, parent_nps=20.0, k=0) == pytest.approx(100.0)


class TestRounding:
    @pytest.mark.parametrize(
        ("value", "places", "expected"),
        [
            (2.5, 0, 3.0),
            (-2.5, 0, -3.0),
            (0.25, 1, 0.3),  # round() gives 0.2 (half to even)
            (0.15, 1, 0.2),  # round() gives 0.1 (binary 0.1499…)
            (-0.15, 1, -0.2),
            (54.95, 1, 55.0),
            (33.333333, 1, 33.3),
            (12.345, 2, 12.35),
        ],
    )
    def test_it_rounds_half_away_from_zero(
        self, value: float, places: int, expected: float
    ) -> None:
        assert round_half_up(value, places) == expected

    def test_it_never_returns_negative_zero(self) -> None:
        assert math.copysign(1.0, round_half_up(-0.04)) == 1.0

    def test_it_passes_non_finite_values_through(self) -> None:
        assert math.isnan(round_half_up(math.nan))
        assert round_half_up(math.inf) == math.inf


class TestSampleSize:
    def test_worst_case_margins_match_the_spec(self) -> None:
        assert sample_size_for_margin(5) == 1534
        assert sample_size_for_margin(10) == 382

    def test_the_margin_is_met_at_that_size(self) -> None:
        n = sample_size_for_margin(5)
        worst = NpsCounts(promoters=n // 2, passives=0, detractors=n - n // 2)
        assert nps_moe(worst) <= 5.0

    def test_a_smaller_variance_needs_fewer_answers(self) -> None:
        assert sample_size_for_margin(5, variance=0.5) < sample_size_for_margin(5)

    def test_difference_per_group(self) -> None:
        # (1.959964 + 0.841621)² x (1 + 1) / 0.1² = 1569.78 → 1570 per group.
        assert sample_size_for_difference(10) == 1570
        # Halving the difference quadruples the size.
        assert sample_size_for_difference(5) == pytest.approx(4 * 1570, abs=4)

    @pytest.mark.parametrize("margin", [0, -5])
    def test_it_refuses_a_non_positive_margin(self, margin: float) -> None:
        with pytest.raises(ValueError, match="positive"):
            sample_size_for_margin(margin)


class TestBenjaminiHochberg:
    # Benjamini & Hochberg (1995), §4: 15 p-values from a trial; at q = 0.05 the procedure
    # rejects the four smallest. Adjusted values: q_(i) = min_{j ≥ i} p_(j)·15/j, by hand.
    PAPER = [
        0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
        0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
    ]  # fmt: skip
    ADJUSTED = [
        0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.0638571428571, 0.0638571428571, 0.0645,
        0.0765, 0.486, 0.581181818182, 0.714875, 0.753230769231, 0.813214285714, 1.0,
    ]  # fmt: skip

    def test_it_reproduces_the_papers_example(self) -> None:
        q = benjamini_hochberg(self.PAPER)
        assert q == pytest.approx(self.ADJUSTED, abs=1e-9)
        assert sum(value < 0.05 for value in q) == 4

    def test_it_returns_q_values_in_input_order(self) -> None:
        shuffled = [self.PAPER[i] for i in (14, 0, 7, 3)]
        # Among these 4: sorted 0.0001, 0.0095, 0.0344, 1.0 → x4/rank → 0.0004, 0.019,
        # 0.04587 (min with later 1.0), 1.0.
        assert benjamini_hochberg(shuffled) == pytest.approx([1.0, 0.0004, 0.0344 * 4 / 3, 0.019])

    def test_it_caps_at_1_and_handles_ties_and_empty_input(self) -> None:
        assert benjamini_hochberg([0.9, 0.9]) == [0.9, 0.9]
        assert benjamini_hochberg([1.0]) == [1.0]
        assert benjamini_hochberg([]) == []

    @pytest.mark.parametrize("bad", [-0.1, 1.1, math.nan])
    def test_it_refuses_impossible_p_values(self, bad: float) -> None:
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            benjamini_hochberg([0.01, bad])


class TestRetention:
    def test_crr_follows_the_formula(self) -> None:
        assert crr(start=200, end=190, new=30) == 80.0

    def test_crr_of_no_customers_is_refused(self) -> None:
        with pytest.raises(ValueError, match="no customers"):
            crr(0, 10, 10)

    def test_cohort_retention_ignores_newcomers_who_churned(self) -> None:
        start, end = date(2026, 1, 1), date(2026, 3, 31)
        customers = [
            Lifecycle(date(2025, 1, 1)),  # retained
            Lifecycle(date(2025, 6, 1), churned_at=date(2026, 2, 1)),  # lost
            Lifecycle(date(2025, 6, 1), churned_at=date(2025, 12, 1)),  # gone before start
            Lifecycle(date(2026, 2, 1), churned_at=date(2026, 3, 1)),  # new and churned
            Lifecycle(date(2026, 2, 1)),  # new
        ]
        retention = cohort_retention(customers, start, end)
        assert (retention.at_start, retention.retained) == (2, 1)
        assert retention.rate == 50.0
        lo, hi = retention.ci() or (0.0, 0.0)
        assert lo < 50.0 < hi
        # The naive formula counts the churned newcomer's absence against the cohort.
        assert crr(start=2, end=2, new=2) == 0.0

    def test_an_empty_cohort_has_no_rate(self) -> None:
        empty = cohort_retention([], date(2026, 1, 1), date(2026, 2, 1))
        assert empty.rate is None
        assert empty.ci() is None


class TestNpsStats:
    KEYS = [
        "n",
        "promoters",
        "passives",
        "detractors",
        "promoters_pct",
        "passives_pct",
        "detractors_pct",
        "nps",
        "se",
        "ci95",
        "moe",
        "band",
        "low_base",
    ]

    def test_the_seed_example_as_json(self) -> None:
        stats = nps_stats(SEED)
        # SE = 100·√((0.7 + 0.15 - 0.55²)/100) = 7.3993; adjusted p_adj = 70.75/103,
        # d_adj = 15.75/103 → centre 53.398, ±14.383.
        assert stats.to_dict() == {
            "n": 100,
            "promoters": 70,
            "passives": 15,
            "detractors": 15,
            "promoters_pct": 70.0,
            "passives_pct": 15.0,
            "detractors_pct": 15.0,
            "nps": 55.0,
            "se": 7.4,
            "ci95": [39.0, 67.8],
            "moe": 14.4,
            "band": "excellent",
            "low_base": False,
        }
        assert list(stats.to_dict()) == self.KEYS

    def test_fields_keep_unrounded_values(self) -> None:
        stats = nps_stats(NpsCounts(3, 2, 1))
        assert stats.nps == pytest.approx(100 / 3)
        assert stats.ci95 == pytest.approx((-26.7433, 71.1877), abs=1e-4)
        assert stats.to_dict()["ci95"] == [-26.7, 71.2]

    def test_it_accepts_a_histogram(self) -> None:
        hist = [0, 0, 0, 0, 0, 0, 15, 10, 5, 30, 40]
        assert nps_stats(hist) == nps_stats(SEED)

    def test_no_answers_means_no_figures(self) -> None:
        stats = nps_stats([0] * 11)
        figures = {key: value for key, value in stats.to_dict().items() if key not in {"n"}}
        assert stats.n == 0
        assert stats.low_base is True
        assert stats.hidden is True
        assert figures == dict.fromkeys(self.KEYS[1:4], 0) | dict.fromkeys(
            self.KEYS[4:12], None
        ) | {"low_base": True}

    def test_low_base_below_30_answers(self) -> None:
        assert nps_stats(NpsCounts(29, 0, 0)).low_base is True
        assert nps_stats(NpsCounts(30, 0, 0)).low_base is False
        assert LOW_BASE_N == 30

    def test_low_base_when_the_margin_is_wide(self) -> None:
        stats = nps_stats(NpsCounts(promoters=15, passives=0, detractors=15))
        assert stats.n >= LOW_BASE_N
        assert stats.moe is not None
        assert stats.moe > LOW_BASE_MOE
        assert stats.low_base is True

    def test_hidden_below_5_answers(self) -> None:
        assert HIDE_N == 5
        assert nps_stats(NpsCounts(4, 0, 0)).hidden is True
        assert nps_stats(NpsCounts(5, 0, 0)).hidden is False

    @pytest.mark.parametrize("method", ["wald", "tango", "bayes"])
    def test_other_interval_methods(self, method: str) -> None:
        stats = nps_stats(SEED, method=method)  # type: ignore[arg-type]
        assert stats.ci95 == nps_ci(SEED, method)  # type: ignore[arg-type]
        assert stats.nps == 55.0  # the headline stays raw

    def test_the_band_is_computed_on_the_raw_nps(self) -> None:
        # 70.04 displays as 70.0 but is above 70.
        c = NpsCounts(promoters=8504, passives=0, detractors=1496)
        assert nps_stats(c).to_dict()["nps"] == 70.1
        assert nps_stats(c).band == "world_class"

    def test_it_costs_the_same_for_a_billion_answers(self) -> None:
        # Histogram arithmetic only: no per-answer loops to make a table cell slow.
        stats = nps_stats(NpsCounts(6 * 10**8, 2 * 10**8, 2 * 10**8))
        assert stats.nps == pytest.approx(40.0)


class TestCsatStats:
    def test_csat_is_the_top_2_box_share(self) -> None:
        stats = csat_stats([1, 2, 3, 10, 20])  # scores 1..5
        assert (stats.n, stats.satisfied) == (36, 30)
        assert stats.csat == pytest.approx(100 * 30 / 36)
        assert stats.satisfied_pct == stats.csat
        assert stats.mean == pytest.approx((1 + 4 + 9 + 40 + 100) / 36)

    def test_it_reports_a_wilson_interval_in_points(self) -> None:
        # Newcombe (1998), example 1: 81/263 → 0.2553 to 0.3662.
        stats = csat_stats({5: 81, 1: 182})
        assert stats.ci95 == pytest.approx((25.53, 36.62), abs=0.005)
        assert stats.moe == pytest.approx((36.621 - 25.529) / 2, abs=0.005)

    def test_it_accepts_a_list_indexed_by_score(self) -> None:
        by_position = csat_stats([1, 2, 3, 10, 20])
        assert csat_stats([0, 1, 2, 3, 10, 20]) == by_position
        # The answer tables' 11 slots (scores 0..10) for every scale.
        assert csat_stats([0, 1, 2, 3, 10, 20, 0, 0, 0, 0, 0]) == by_position

    def test_it_refuses_answers_off_the_scale(self) -> None:
        with pytest.raises(ValueError, match="outside the scale"):
            csat_stats([0, 1, 2, 3, 10, 20, 1, 0, 0, 0, 0])
        with pytest.raises(ValueError, match="outside the scale"):
            csat_stats({0: 1, 5: 3})
        assert csat_stats({0: 0, 5: 3}).satisfied == 3

    def test_other_scales_use_the_top_2_boxes(self) -> None:
        stats = csat_stats({7: 2, 6: 3, 5: 5}, scale_min=1, scale_max=7)
        assert stats.satisfied == 5

    def test_to_dict_rounds_points_to_1_and_the_mean_to_2_decimals(self) -> None:
        data = csat_stats([1, 2, 3, 10, 20]).to_dict()
        assert data["csat"] == 83.3
        assert data["mean"] == 4.28  # 154/36 = 4.2777…
        assert list(data) == [
            "n",
            "satisfied",
            "satisfied_pct",
            "csat",
            "ci95",
            "moe",
            "mean",
            "low_base",
        ]

    def test_no_answers(self) -> None:
        stats = csat_stats([0, 0, 0, 0, 0])
        assert (stats.csat, stats.ci95, stats.mean, stats.low_base) == (None, None, None, True)


class TestCesStats:
    def test_mean_with_a_t_interval(self) -> None:
        # One answer at each of 1..7: mean 4, s = √(28/6) = 2.160247, t(0.975, 6) = 2.446912,
        # half-width 2.446912·2.160247/√7 = 1.997895.
        stats = ces_stats([1] * 7)
        assert stats.mean == 4.0
        assert stats.mean_ci95 == pytest.approx((2.002105, 5.997895), abs=1e-6)

    def test_agree_is_5_to_7_with_a_wilson_interval(self) -> None:
        stats = ces_stats({7: 10, 5: 5, 4: 20, 1: 5})
        assert stats.agree == 15
        assert stats.agree_pct == pytest.approx(37.5)
        assert stats.agree_ci95 is not None
        assert stats.agree_ci95[0] < 37.5 < stats.agree_ci95[1]

    def test_the_mean_interval_stays_on_the_scale(self) -> None:
        stats = ces_stats({7: 2, 1: 1})
        assert stats.mean_ci95 == (1.0, 7.0)

    def test_a_single_answer_has_no_mean_interval(self) -> None:
        stats = ces_stats({6: 1})
        assert (stats.mean, stats.mean_ci95, stats.agree) == (6.0, None, 1)
        assert stats.to_dict()["mean_ci95"] is None

    def test_to_dict(self) -> None:
        assert ces_stats([1] * 7).to_dict() == {
            "n": 7,
            "mean": 4.0,
            "mean_ci95": [2.0, 6.0],
            "agree": 3,
            "agree_pct": 42.9,
            "agree_ci95": [15.8, 75.0],
            "low_base": True,
        }

    def test_no_answers(self) -> None:
        stats = ces_stats({})
        assert (stats.n, stats.mean, stats.agree_pct, stats.low_base) == (0, None, None, True)
