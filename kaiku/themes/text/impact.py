"""What each theme does to the NPS (domain.md §3.5). Pure: counts in, figures out.

For a theme mentioned by k of N answers:

- impact = NPS_all − NPS_without_theme = k × (NPS_theme − NPS_all) / (N − k):
  how many points the NPS would move if the mentioners' answers were not there
  (negative: the theme drags the NPS down);
- points at stake = 100 × D_theme / N: the NPS gain if the theme's detractors
  became passives;
- NPS of mentioners vs the rest, each with its adjusted-Wald CI, compared with
  kaiku.metrics.compare_nps; Benjamini–Hochberg over the themes of one table;
- a bootstrap CI for the impact: with only counts, the answers are the 2 × 3
  table (mentions the theme?, group), and resampling answers is drawing that
  table from Multinomial(N, cell shares). Seeded, so a page shows the same
  interval on every load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kaiku.metrics import (
    NpsCounts,
    NpsStats,
    benjamini_hochberg,
    compare_nps,
    nps,
    nps_stats,
    round_half_up,
)

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20260301
SIGNIFICANCE = 0.05


def nps_without(theme: NpsCounts, total: NpsCounts) -> float | None:
    """The NPS of the answers that do not mention the theme (None when there are none)."""
    rest = rest_counts(theme, total)
    return nps(rest) if rest.n else None


def rest_counts(theme: NpsCounts, total: NpsCounts) -> NpsCounts:
    return NpsCounts(
        total.promoters - theme.promoters,
        total.passives - theme.passives,
        total.detractors - theme.detractors,
    )


def impact(theme: NpsCounts, total: NpsCounts) -> float | None:
    """k × (NPS_theme − NPS_all) / (N − k); None when k is 0 or N."""
    k, n = theme.n, total.n
    if k == 0 or k >= n:
        return None
    return k * (nps(theme) - nps(total)) / (n - k)


def points_at_stake(theme: NpsCounts, total: NpsCounts) -> float | None:
    """100 × D_theme / N."""
    return 100.0 * theme.detractors / total.n if total.n else None


def impact_bootstrap_ci(
    theme: NpsCounts,
    total: NpsCounts,
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile interval of the impact over multinomial resamples of the 2 × 3 table."""
    if impact(theme, total) is None:
        return None
    rest = rest_counts(theme, total)
    # Cells: theme P, A, D; rest P, A, D.
    cells = np.array(
        [
            theme.promoters,
            theme.passives,
            theme.detractors,
            rest.promoters,
            rest.passives,
            rest.detractors,
        ],
        dtype=float,
    )
    n = int(cells.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cells / n, size=samples).astype(float)
    k = draws[:, :3].sum(axis=1)
    nps_theme = np.divide(
        100.0 * (draws[:, 0] - draws[:, 2]), k, out=np.zeros(samples), where=k > 0
    )
    nps_all = 100.0 * (draws[:, 0] + draws[:, 3] - draws[:, 2] - draws[:, 5]) / n
    valid = (k > 0) & (k < n)
    if not valid.any():
        return None
    values = k[valid] * (nps_theme[valid] - nps_all[valid]) / (n - k[valid])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class ThemeImpact:
    """One row of the themes table: a theme's figures over the current filters."""

    theme: Any
    mentions: int
    mention_pct: float  # of all answers
    detractor_share: float | None  # % of detractors who mention the theme
    passive_share: float | None
    promoter_share: float | None
    mentioners: NpsStats
    rest: NpsStats
    delta: float | None  # NPS mentioners − NPS rest, raw
    p_value: float | None
    q_value: float | None  # Benjamini–Hochberg over the table's themes
    impact: float | None
    impact_ci95: tuple[float, float] | None
    points_at_stake: float | None

    @property
    def significant(self) -> bool:
        return self.q_value is not None and self.q_value < SIGNIFICANCE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded half-up to one decimal (p and q values to four)."""
        return {
            "mentions": self.mentions,
            "mention_pct": _round(self.mention_pct),
            "share_of_detractors": _round(self.detractor_share),
            "share_of_passives": _round(self.passive_share),
            "share_of_promoters": _round(self.promoter_share),
            "nps_mentioners": self.mentioners.to_dict(),
            "nps_rest": self.rest.to_dict(),
            "delta": _round(self.delta),
            "p_value": _round(self.p_value, 4),
            "q_value": _round(self.q_value, 4),
            "significant": self.significant,
            "impact": _round(self.impact),
            "impact_ci95": (
                None
                if self.impact_ci95 is None
                else [_round(self.impact_ci95[0]), _round(self.impact_ci95[1])]
            ),
            "points_at_stake": _round(self.points_at_stake),
        }


def theme_impacts(
    counts: Mapping[Any, NpsCounts],
    total: NpsCounts,
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> list[ThemeImpact]:
    """Every theme's row, most negative impact first (the biggest drags lead).

    Themes without mentions are kept (with empty figures) so a table shows the
    whole taxonomy; Benjamini–Hochberg runs over the themes that could be tested.
    """
    rows: list[ThemeImpact] = []
    for theme, c in counts.items():
        rest = rest_counts(c, total)
        comparison = compare_nps(c, rest) if c.n and rest.n else None
        rows.append(
            ThemeImpact(
                theme=theme,
                mentions=c.n,
                mention_pct=100.0 * c.n / total.n if total.n else 0.0,
                detractor_share=_share(c.detractors, total.detractors),
                passive_share=_share(c.passives, total.passives),
                promoter_share=_share(c.promoters, total.promoters),
                mentioners=nps_stats(c),
                rest=nps_stats(rest),
                delta=comparison.delta if comparison else None,
                p_value=comparison.p_value if comparison else None,
                q_value=None,
                impact=impact(c, total),
                impact_ci95=impact_bootstrap_ci(c, total, samples=samples, seed=seed),
                points_at_stake=points_at_stake(c, total) if c.n else None,
            )
        )
    tested = [i for i, row in enumerate(rows) if row.p_value is not None]
    q_values = benjamini_hochberg([rows[i].p_value or 0.0 for i in tested])
    for index, q in zip(tested, q_values, strict=True):
        rows[index] = replace(rows[index], q_value=q)
    rows.sort(key=lambda r: (r.impact is None, r.impact if r.impact is not None else 0.0))
    return rows


def _share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _round(value: float | None, places: int = 1) -> float | None:
    return None if value is None else round_half_up(value, places) + 0.0
