"""Distinctive terms of two groups: weighted log-odds with an informative Dirichlet prior.

Monroe, Colaresi & Quinn (2008), "Fightin' Words: Lexical Feature Selection and
Evaluation for Identifying the Content of Political Conflict", Political
Analysis 16(4):372-403, §3.5. For term w with counts y_w^i in group i (n^i terms
in all) and prior pseudo-counts α_w (α_0 = Σ α_w):

    δ_w = log((y_w^i + α_w) / (n^i + α_0 − y_w^i − α_w))
        − log((y_w^j + α_w) / (n^j + α_0 − y_w^j − α_w))
    σ²(δ_w) ≈ 1 / (y_w^i + α_w) + 1 / (y_w^j + α_w)
    z_w = δ_w / σ(δ_w)

The informative prior is a background corpus (here: every comment of the period
in that language, all groups pooled) scaled to `prior_size` pseudo-terms, which
shrinks rare terms toward zero instead of ranking typos first, and z accounts
for how much evidence each term has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_PRIOR_SIZE = 1000.0


@dataclass(frozen=True)
class TermScore:
    term: str
    delta: float  # log-odds ratio, group a vs group b (positive: more typical of a)
    z: float
    count_a: int
    count_b: int


def count_terms(documents: Iterable[Sequence[str]]) -> Counter[str]:
    """Document frequency: a term counts once per comment, so one rant cannot dominate."""
    counts: Counter[str] = Counter()
    for terms in documents:
        counts.update(set(terms))
    return counts


def weighted_log_odds(
    counts_a: Mapping[str, int],
    counts_b: Mapping[str, int],
    background: Mapping[str, float] | None = None,
    prior_size: float = DEFAULT_PRIOR_SIZE,
) -> list[TermScore]:
    """Every term of a ∪ b with its log-odds and z-score, highest z first.

    `background` defaults to a + b pooled; it is rescaled to `prior_size`
    pseudo-counts in all (α_0), each term getting its share (α_w).
    """
    vocabulary = sorted(set(counts_a) | set(counts_b))
    if not vocabulary:
        return []
    a = np.array([counts_a.get(t, 0) for t in vocabulary], dtype=float)
    b = np.array([counts_b.get(t, 0) for t in vocabulary], dtype=float)
    if background is None:
        prior = a + b
    else:
        prior = np.array([float(background.get(t, 0.0)) for t in vocabulary])
    # Terms absent from the background still get a sliver of prior mass, or the
    # log of a zero count would be undefined.
    prior = prior + 0.01
    alpha = prior * (prior_size / prior.sum())
    alpha0 = alpha.sum()
    n_a, n_b = a.sum(), b.sum()
    log_a = np.log((a + alpha) / (n_a + alpha0 - a - alpha))
    log_b = np.log((b + alpha) / (n_b + alpha0 - b - alpha))
    delta = log_a - log_b
    sigma = np.sqrt(1.0 / (a + alpha) + 1.0 / (b + alpha))
    z = delta / sigma
    order = np.argsort(-z, kind="stable")
    return [
        TermScore(vocabulary[i], float(delta[i]), float(z[i]), int(a[i]), int(b[i])) for i in order
    ]


def distinctive_terms(
    docs_a: Sequence[Sequence[str]],
    docs_b: Sequence[Sequence[str]],
    background_docs: Iterable[Sequence[str]] = (),
    *,
    top: int = 15,
    min_count: int = 3,
    prior_size: float = DEFAULT_PRIOR_SIZE,
) -> tuple[list[TermScore], list[TermScore]]:
    """(terms typical of a, terms typical of b): the `top` of each by |z|.

    Terms seen in fewer than `min_count` comments of a and b together are left
    out of the ranking (they still shape the prior).
    """
    counts_a, counts_b = count_terms(docs_a), count_terms(docs_b)
    background = counts_a + counts_b + count_terms(background_docs)
    scores = [
        s
        for s in weighted_log_odds(counts_a, counts_b, background, prior_size)
        if s.count_a + s.count_b >= min_count
    ]
    for_a = [s for s in scores if s.z > 0][:top]
    for_b = sorted((s for s in scores if s.z < 0), key=lambda s: s.z)[:top]
    return for_a, for_b
