"""kaiku.metrics: distributions, confidence intervals and two-sample tests, against check values.

Sources of the expected numbers:
- domain.md's public check values (adjusted Wald, the R package's Wald test);
- Newcombe (1998), Statistics in Medicine 17:857-872, examples for the Wilson interval;
- Student t quantiles from standard tables, and the closed forms for df = 1, 2 and 4;
- Tango limits from the "iterative()" algorithm of Rocks' R package NPS, run step for step;
- exact Dirichlet quantiles worked by hand, and a seeded Monte Carlo for the rest.
"""

from __future__ import annotations

import math
import random

import pytest

from kaiku.metrics import (
    NpsCounts,
    compare_nps,
    compare_nps_wald,
    compare_stats,
    nps,
    nps_ci,
    nps_moe,
    phi,
    phi_inv,
    t_cdf,
    t_quantile,
    two_sided_p,
    wilson_interval,
    z_for_confidence,
)
from kaiku.metrics.bayes import (
    _cornish_fisher,
    _difference_moments,
    dirichlet_difference_interval,
    dirichlet_difference_quantile,
)
from kaiku.metrics.numeric import betainc, brentq, gauss_legendre, integrate
from kaiku.metrics.student_t import t_two_sided_p
from kaiku.metrics.tango import detractor_cell_mle, tango_interval, tango_score

Z95 = 1.959963984540054


def pad(promoters: int, passives: int, detractors: int) -> NpsCounts:
    return NpsCounts(promoters=promoters, passives=passives, detractors=detractors)


class TestNormal:
    def test_the_95_percent_critical_value(self) -> None:
        assert z_for_confidence(0.95) == pytest.approx(Z95, abs=1e-12)
        assert z_for_confidence(0.90) == pytest.approx(1.6448536269514722, abs=1e-12)
        assert z_for_confidence(0.99) == pytest.approx(2.5758293035489004, abs=1e-12)

    def test_phi_and_its_inverse_agree(self) -> None:
        for p in (1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999):
            assert phi(phi_inv(p)) == pytest.approx(p, rel=1e-12)

    def test_two_sided_p_keeps_tiny_values(self) -> None:
        assert two_sided_p(Z95) == pytest.approx(0.05, abs=1e-12)
        assert two_sided_p(-Z95) == pytest.approx(0.05, abs=1e-12)
        # 2·(1 - Φ(10)) would be 0 in floating point; erfc keeps it.
        assert two_sided_p(10.0) == pytest.approx(1.523970604832105e-23, rel=1e-9)

    @pytest.mark.parametrize("p", [0.0, 1.0, -0.1])
    def test_phi_inv_refuses_impossible_probabilities(self, p: float) -> None:
        with pytest.raises(ValueError, match="probability"):
            phi_inv(p)


class TestStudentT:
    @pytest.mark.parametrize(
        ("df", "expected"),
        [
            (3, 3.182446305284263),
            (5, 2.570581835636314),
            (10, 2.228138851986274),
            (30, 2.042272456301238),
            (100, 1.983971518523552),
        ],
    )
    def test_table_quantiles(self, df: int, expected: float) -> None:
        assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-9)

    def test_closed_forms(self) -> None:
        p = 0.975
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-12)
        assert t_quantile(p, 2) == pytest.approx(0.95 / math.sqrt(2 * p * (1 - p)), rel=1e-12)
        # df = 4 (Hill 1970): a = 4p(1-p), q = cos(acos(√a)/3)/√a, t = 2·√(q - 1).
        a = 4 * p * (1 - p)
        q = math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a)
        assert t_quantile(p, 4) == pytest.approx(2 * math.sqrt(q - 1), rel=1e-9)

    def test_it_tends_to_the_normal(self) -> None:
        assert t_quantile(0.975, 1e6) == pytest.approx(Z95, abs=3e-6)
        assert t_quantile(0.975, 1e9) == pytest.approx(Z95, abs=1e-8)

    def test_cdf_inverts_the_quantile_for_fractional_df(self) -> None:
        for df in (1.5, 3.7, 12.25, 150.5):
            for p in (0.001, 0.05, 0.6, 0.975):
                assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)

    def test_quantiles_are_symmetric(self) -> None:
        assert t_quantile(0.025, 7) == -t_quantile(0.975, 7)
        assert t_quantile(0.5, 7) == 0.0
        assert t_two_sided_p(t_quantile(0.975, 7), 7) == pytest.approx(0.05, abs=1e-12)


class TestNumerics:
    def test_gauss_legendre_is_exact_for_polynomials_of_degree_2n_minus_1(self) -> None:
        nodes, weights = gauss_legendre(8)
        assert sum(weights) == pytest.approx(2.0, abs=1e-14)
        assert sum(w * x**14 for x, w in zip(nodes, weights, strict=True)) == pytest.approx(
            2 / 15, abs=1e-14
        )

    def test_integrate(self) -> None:
        assert integrate(math.sin, 0.0, math.pi) == pytest.approx(2.0, abs=1e-13)

    def test_incomplete_beta_special_cases(self) -> None:
        assert betainc(1.0, 1.0, 0.3) == pytest.approx(0.3)  # uniform
        assert betainc(2.0, 1.0, 0.3) == pytest.approx(0.09)  # x²
        assert betainc(0.5, 0.5, 0.5) == pytest.approx(0.5)  # symmetric
        assert betainc(3.0, 5.0, 0.999999) == pytest.approx(1.0)

    def test_brentq_finds_a_bracketed_root(self) -> None:
        assert brentq(lambda x: x**3 - 2, 0.0, 2.0) == pytest.approx(2 ** (1 / 3), abs=1e-12)
        with pytest.raises(ValueError, match="bracketed"):
            brentq(lambda x: x * x + 1, -1.0, 1.0)


class TestWilson:
    @pytest.mark.parametrize(
        ("successes", "n", "expected"),
        [
            (81, 263, (0.2553, 0.3662)),
            (15, 148, (0.0624, 0.1605)),
            (0, 20, (0.0, 0.1611)),
            (1, 29, (0.0061, 0.1718)),
        ],
    )
    def test_newcombes_examples(
        self, successes: int, n: int, expected: tuple[float, float]
    ) -> None:
        assert wilson_interval(successes, n) == pytest.approx(expected, abs=5e-5)

    def test_all_successes_reach_1(self) -> None:
        lo, hi = wilson_interval(29, 29)
        assert hi == 1.0
        # Mirror of 0/29, whose upper limit is z²/(n + z²).
        assert lo == pytest.approx(1 - Z95**2 / (29 + Z95**2), abs=1e-12)

    def test_it_refuses_an_empty_sample(self) -> None:
        with pytest.raises(ValueError, match="n > 0"):
            wilson_interval(0, 0)


class TestAdjustedWald:
    @pytest.mark.parametrize(
        ("counts", "expected"),
        [
            (pad(3, 2, 1), (-26.7433, 71.1877)),
            (pad(9, 0, 2), (8.0008, 91.9992)),
            (pad(20, 100, 40), (-21.5096, -3.0303)),
        ],
    )
    def test_public_check_values(self, counts: NpsCounts, expected: tuple[float, float]) -> None:
        lo, hi = nps_ci(counts)
        assert (round(lo, 4), round(hi, 4)) == expected

    def test_it_is_clipped_to_the_nps_range(self) -> None:
        # 3 promoters: adjusted centre 100·(3.75 - 0.75)/6 = 50, ± 56.6: clipped above.
        assert nps_ci(pad(3, 0, 0))[1] == 100.0
        assert nps_ci(pad(0, 0, 3))[0] == -100.0

    def test_a_lower_confidence_gives_a_narrower_interval(self) -> None:
        c = pad(30, 10, 12)
        lo90, hi90 = nps_ci(c, confidence=0.90)
        lo95, hi95 = nps_ci(c)
        assert lo95 < lo90 < hi90 < hi95


class TestWald:
    def test_it_is_centred_on_the_raw_nps(self) -> None:
        c = pad(20, 0, 10)
        lo, hi = nps_ci(c, "wald")
        assert (lo + hi) / 2 == pytest.approx(nps(c))
        assert nps_moe(c, "wald") == pytest.approx(Z95 * 100 * math.sqrt((8 / 9) / 30))

    def test_it_collapses_when_everyone_agrees(self) -> None:
        # The reason it is not the default: zero width from 3 answers.
        assert nps_ci(pad(3, 0, 0), "wald") == (100.0, 100.0)


class TestTango:
    # (P, A, D) → limits on the fraction scale, from the R package's iterative() algorithm,
    # which stops at a 1e-7 step or when |S - z| < 1e-6: hence the tolerance.
    ROCKS = [
        ((3, 2, 1), (-0.311073688655597, 0.7539567152659099)),
        ((9, 0, 2), (0.04603894691680647, 0.8972645672884852)),
        ((20, 100, 40), (-0.2180642265870496, -0.030864588916301727)),
        ((70, 15, 15), (0.3878565236115038, 0.676666408777237)),
        ((5, 3, 0), (0.09783798524475174, 0.8631557524204254)),
        ((0, 0, 4), (-1.0, -0.020218312740325928)),
    ]

    @pytest.mark.parametrize(("counts", "expected"), ROCKS)
    def test_it_matches_the_r_package(
        self, counts: tuple[int, int, int], expected: tuple[float, float]
    ) -> None:
        p, a, d = counts
        assert tango_interval(p, d, p + a + d) == pytest.approx(expected, abs=1e-6)

    @pytest.mark.parametrize(("p", "d", "n", "delta"), [(9, 2, 14, 0.3), (3, 6, 12, -0.2)])
    def test_the_constrained_mle_maximises_the_likelihood(
        self, p: int, d: int, n: int, delta: float
    ) -> None:
        # Under P - D = nΔ the cells are q + Δ (promoter), q (detractor), 1 - 2q - Δ (passive).
        def log_likelihood(q: float) -> float:
            return (
                p * math.log(q + delta)
                + d * math.log(q)
                + (n - p - d) * math.log(1 - 2 * q - delta)
            )

        q_hat = detractor_cell_mle(p, d, n, delta)
        low, high = max(0.0, -delta), (1 - delta) / 2  # every cell probability positive
        grid = [low + (high - low) * i / 100_000 for i in range(1, 100_000)]
        best = max(grid, key=log_likelihood)
        assert q_hat == pytest.approx(best, abs=1e-5)

    def test_the_limits_solve_the_score_equation(self) -> None:
        lo, hi = tango_interval(9, 2, 11)
        assert tango_score(9, 2, 11, lo) == pytest.approx(Z95, abs=1e-8)
        assert tango_score(9, 2, 11, hi) == pytest.approx(-Z95, abs=1e-8)

    def test_it_is_close_to_adjusted_wald_for_moderate_n(self) -> None:
        c = pad(120, 50, 80)
        tango = nps_ci(c, "tango")
        adjusted = nps_ci(c)
        assert tango == pytest.approx(adjusted, abs=0.5)

    def test_all_promoters_reach_100(self) -> None:
        lo, hi = nps_ci(pad(5, 0, 0), "tango")
        assert hi == 100.0
        assert 0 < lo < 100


class TestBayes:
    def test_the_flat_posterior_is_triangular(self) -> None:
        # Dirichlet(1, 1, 1): p - d has density 1 - |x| on [-1, 1], so F(x) = (1 + x)²/2 below
        # 0 and the 2.5% quantile is √0.05 - 1.
        lo, hi = dirichlet_difference_interval(1, 1, 1)
        assert lo == pytest.approx(math.sqrt(0.05) - 1, abs=1e-8)
        assert hi == pytest.approx(1 - math.sqrt(0.05), abs=1e-8)

    def test_one_promoter_by_hand(self) -> None:
        # Dirichlet(2, 1, 1), density 6p on the simplex: F(x) = 2·((1 + x)/2)³ for x ≤ 0,
        # so the 2.5% quantile is 2·0.0125^(1/3) - 1.
        q = dirichlet_difference_quantile(2, 1, 1, 0.025)
        assert q == pytest.approx(2 * 0.0125 ** (1 / 3) - 1, abs=1e-8)
        assert nps_ci(pad(1, 0, 0), "bayes")[0] == pytest.approx(100 * q)

    @pytest.mark.parametrize("counts", [(3, 2, 1), (20, 100, 40), (9, 0, 2)])
    def test_it_matches_a_seeded_monte_carlo(self, counts: tuple[int, int, int]) -> None:
        draws = 60_000
        rng = random.Random(20260301)
        samples = sorted(_dirichlet_difference(rng, counts) for _ in range(draws))
        expected = (100 * samples[int(0.025 * draws)], 100 * samples[int(0.975 * draws)])
        # The Monte Carlo's own standard error here is at most ~0.3 points.
        assert nps_ci(pad(*counts), "bayes") == pytest.approx(expected, abs=1.0)

    def test_it_is_deterministic(self) -> None:
        c = pad(12, 7, 9)
        assert nps_ci(c, "bayes") == nps_ci(c, "bayes")

    @pytest.mark.parametrize("counts", [(7000, 1500, 1497), (0, 0, 9997), (9800, 0, 197)])
    def test_cornish_fisher_takes_over_seamlessly(self, counts: tuple[int, int, int]) -> None:
        # At n + 3 = 10,000, the last size integrated numerically.
        p, a, d = (count + 1 for count in counts)
        for q in (0.025, 0.975):
            exact = dirichlet_difference_quantile(p, a, d, q)
            assert _cornish_fisher(p, a, d, q) == pytest.approx(exact, abs=4e-5)

    def test_the_moments_of_the_flat_posterior(self) -> None:
        # Triangular on [-1, 1]: mean 0, variance 1/6, no skew.
        assert _difference_moments(1, 1, 1) == pytest.approx((0.0, math.sqrt(1 / 6), 0.0))

    def test_it_works_for_large_samples(self) -> None:
        c = pad(70_000, 15_000, 15_000)
        lo, hi = nps_ci(c, "bayes")
        assert lo < 55.0 < hi
        assert (lo, hi) == pytest.approx(nps_ci(c, "wald"), abs=0.05)


class TestComparisons:
    def test_the_r_package_wald_check(self) -> None:
        # 20/0/10 vs 12/0/18 (P/A/D): Δ 53.3333, SE 24.8253, z 2.148345, p 0.0316864.
        result = compare_nps_wald(pad(20, 0, 10), pad(12, 0, 18))
        assert result.delta == pytest.approx(53.3333, abs=1e-4)
        assert result.se == pytest.approx(24.8253, abs=1e-4)
        assert result.z == pytest.approx(2.148345, abs=1e-6)
        assert result.p_value == pytest.approx(0.0316864, abs=1e-7)

    def test_the_adjusted_test_reports_the_raw_delta(self) -> None:
        x, y = pad(20, 0, 10), pad(12, 0, 18)
        result = compare_nps(x, y)
        assert result.delta == pytest.approx(53.3333, abs=1e-4)
        # Adjusted centres: 100·(20.75 - 10.75)/33 and 100·(12.75 - 18.75)/33.
        centre_gap = 100 * (20.75 - 10.75) / 33 - 100 * (12.75 - 18.75) / 33
        assert result.z == pytest.approx(centre_gap / result.se)
        assert result.p_value == pytest.approx(two_sided_p(result.z))

    def test_the_adjusted_test_copes_with_unanimous_small_groups(self) -> None:
        result = compare_nps(pad(3, 0, 0), pad(3, 0, 0))
        assert (result.delta, result.z, result.p_value) == (0.0, 0.0, 1.0)
        assert result.se > 0

    def test_the_wald_test_of_unanimous_groups(self) -> None:
        same = compare_nps_wald(pad(3, 0, 0), pad(5, 0, 0))
        assert (same.z, same.p_value) == (0.0, 1.0)
        opposite = compare_nps_wald(pad(3, 0, 0), pad(0, 0, 5))
        assert (opposite.z, opposite.p_value) == (math.inf, 0.0)

    def test_compare_stats_nps(self) -> None:
        x = {10: 20, 0: 10}
        y = {9: 12, 3: 18}
        assert compare_stats("nps", x, y) == compare_nps(pad(20, 0, 10), pad(12, 0, 18))

    def test_compare_stats_csat_is_the_pooled_z_test(self) -> None:
        # x: 10 of 15 satisfied, y: 3 of 12. z² equals Pearson's χ² of the 2x2 table
        # [[10, 5], [3, 9]]: 27·(10·9 - 5·3)²/(15·12·13·14) = 4.63599.
        result = compare_stats("csat", {4: 10, 1: 5}, {5: 3, 2: 9}, 1, 5)
        assert result.delta == pytest.approx(100 * (10 / 15 - 3 / 12))
        assert result.z**2 == pytest.approx(27 * (10 * 9 - 5 * 3) ** 2 / (15 * 12 * 13 * 14))

    def test_compare_stats_ces_is_welchs_t_test(self) -> None:
        x, y = [1] * 7, [0, 0, 1, 2, 3, 2, 1]  # means 4 and 5 on 1-7
        result = compare_stats("ces", x, y, 1, 7)
        assert result.delta == pytest.approx(-1.0)
        # Equal n: Welch's t equals Student's; the df differ, and lie between n - 1 and 2n - 2.
        assert t_two_sided_p(result.z, 12) < result.p_value < t_two_sided_p(result.z, 6)

    def test_compare_stats_ces_agree(self) -> None:
        result = compare_stats("ces_agree", {7: 8, 2: 2}, {5: 2, 4: 8})
        assert result.delta == pytest.approx(60.0)
        assert result.p_value < 0.05

    def test_compare_stats_refuses_unknown_metrics(self) -> None:
        with pytest.raises(ValueError, match="unknown metric"):
            compare_stats("mood", [1], [1])

    def test_compare_nps_refuses_empty_groups(self) -> None:
        with pytest.raises(ValueError, match="no answers"):
            compare_nps(pad(0, 0, 0), pad(1, 0, 0))


def _dirichlet_difference(rng: random.Random, counts: tuple[int, int, int]) -> float:
    # Posterior Dirichlet(P + 1, A + 1, D + 1) as normalised Gamma draws.
    p, a, d = (rng.gammavariate(count + 1, 1.0) for count in counts)
    return (p - d) / (p + a + d)
