"""Answer counts: NPS groups and histograms of scale answers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Group = Literal["detractor", "passive", "promoter"]

# A histogram of answers: counts indexed by score (a list), or {score: count}.
Histogram = Sequence[int] | Mapping[int, int]

NPS_MIN, NPS_MAX = 0, 10


def group(score: int) -> Group:
    """The NPS group of a 0-10 answer: 0-6 detractor, 7-8 passive, 9-10 promoter."""
    if score not in range(NPS_MIN, NPS_MAX + 1):
        raise ValueError(f"NPS answers are integers 0-10, got {score!r}")
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


@dataclass(frozen=True)
class NpsCounts:
    """Promoters, passives and detractors of one group of answers. ``+`` pools two groups."""

    promoters: int
    passives: int
    detractors: int

    def __post_init__(self) -> None:
        if min(self.promoters, self.passives, self.detractors) < 0:
            raise ValueError(f"counts cannot be negative: {self}")

    @property
    def n(self) -> int:
        """All answers, passives included."""
        return self.promoters + self.passives + self.detractors

    @classmethod
    def from_histogram(cls, hist: Histogram) -> NpsCounts:
        """Counts from a 0-10 histogram: an 11-item list (index = score) or {score: count}."""
        counts = scale_counts(hist, NPS_MIN, NPS_MAX)
        return cls(
            promoters=sum(counts[9:]),
            passives=sum(counts[7:9]),
            detractors=sum(counts[:7]),
        )

    @classmethod
    def from_scores(cls, scores: Iterable[int]) -> NpsCounts:
        """Counts from individual 0-10 answers."""
        tally = {"promoter": 0, "passive": 0, "detractor": 0}
        for score in scores:
            tally[group(score)] += 1
        return cls(tally["promoter"], tally["passive"], tally["detractor"])

    def __add__(self, other: NpsCounts) -> NpsCounts:
        # Pooling counts is the only correct way to combine groups: an average of NPS values
        # weights a 5-answer day like a 500-answer day.
        return NpsCounts(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )

    def __radd__(self, other: int) -> NpsCounts:
        # Lets sum(list_of_counts) work: sum() starts from the integer 0.
        if other != 0:
            return NotImplemented
        return self

    def swapped(self) -> NpsCounts:
        """Promoters and detractors exchanged (the NPS negates)."""
        return NpsCounts(self.detractors, self.passives, self.promoters)


def scale_counts(hist: Histogram, scale_min: int, scale_max: int) -> list[int]:
    """The counts of scores scale_min…scale_max, in order, from either histogram form.

    A mapping is keyed by score. A list with exactly one entry per point of the scale is by
    position (counts[0] is scale_min); a longer one is indexed by score, e.g. the 11 slots
    0…10 that the answer tables use for every scale. Counts outside the scale must be zero:
    an answer off the scale is a data error, not something to drop silently.
    """
    if scale_max <= scale_min:
        raise ValueError(f"empty scale {scale_min}-{scale_max}")
    size = scale_max - scale_min + 1
    if isinstance(hist, Mapping):
        by_score = dict(hist)
    elif len(hist) == size:
        by_score = dict(enumerate(hist, start=scale_min))
    elif len(hist) > scale_max:
        by_score = dict(enumerate(hist))
    else:
        raise ValueError(
            f"a {scale_min}-{scale_max} histogram has {size} entries (by position) or at "
            f"least {scale_max + 1} (by score), got {len(hist)}"
        )
    counts = [by_score.pop(score, 0) for score in range(scale_min, scale_max + 1)]
    off_scale = {score: count for score, count in by_score.items() if count}
    if off_scale:
        raise ValueError(f"answers outside the scale {scale_min}-{scale_max}: {off_scale}")
    if any(count < 0 for count in counts):
        raise ValueError(f"counts cannot be negative: {counts}")
    return counts


def scale_moments(counts: Sequence[int], scale_min: int) -> tuple[int, float, float]:
    """n, mean and sample SD (n - 1 denominator) of a histogram; counts[i] is score scale_min + i.

    Works on the histogram directly, so it costs the same for 10 answers as for 10 million.
    Mean and SD are NaN when undefined (n = 0; SD also when n = 1).
    """
    n = sum(counts)
    if n == 0:
        return 0, math.nan, math.nan
    mean = sum(count * (scale_min + i) for i, count in enumerate(counts)) / n
    if n == 1:
        return n, mean, math.nan
    squares = sum(count * (scale_min + i - mean) ** 2 for i, count in enumerate(counts))
    return n, mean, math.sqrt(squares / (n - 1))
