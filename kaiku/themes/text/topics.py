"""Topic suggestions: TF-IDF + NMF over normalised comments (scikit-learn).

Each topic comes with its top terms and the comments that load most on it, so a
team can read what it means before accepting it as a theme. Deterministic: NMF
starts from NNDSVD and `random_state` fixes the rest, so the same comments give
the same topics on every run and every machine.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

DEFAULT_TOPICS = 10
MAX_FEATURES = 5000


@dataclass(frozen=True)
class Topic:
    terms: list[str]  # most weighted first
    examples: list[int]  # indices into the input documents, most typical first
    size: int  # documents whose strongest topic this is
    weight: float  # share of the total topic weight


def _identity(terms: Sequence[str]) -> Sequence[str]:
    return terms


def nmf_topics(
    documents: Sequence[Sequence[str]],
    k: int = DEFAULT_TOPICS,
    *,
    top_terms: int = 8,
    examples: int = 3,
    min_df: int = 3,
    max_df: float = 0.5,
    random_state: int = 0,
) -> list[Topic]:
    """Up to k topics from pre-tokenised documents (lists of terms), largest first.

    Fewer documents or terms than the model needs give fewer topics (or none),
    never an error: discovery runs on whatever a period holds.
    """
    docs = [list(doc) for doc in documents]
    non_empty = [i for i, doc in enumerate(docs) if doc]
    if len(non_empty) < max(2 * k, 10):
        k = max(1, len(non_empty) // 5)
    if len(non_empty) < 10:
        return []
    vectorizer = TfidfVectorizer(
        analyzer=_identity,
        min_df=min(min_df, max(1, len(non_empty) // 10)),
        max_df=max_df if len(non_empty) >= 50 else 1.0,
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )
    try:
        matrix = vectorizer.fit_transform([docs[i] for i in non_empty])
    except ValueError:  # nothing left after min_df/max_df
        return []
    k = min(k, matrix.shape[1], matrix.shape[0])
    if k < 1:
        return []
    model = NMF(n_components=k, init="nndsvd", random_state=random_state, max_iter=300)
    with warnings.catch_warnings():
        # Suggestions need a good enough factorisation, not a converged one.
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = model.fit_transform(matrix)  # documents × topics
    vocabulary = vectorizer.get_feature_names_out()
    strongest = weights.argmax(axis=1)
    total = float(weights.sum()) or 1.0
    topics = []
    for t in range(k):
        component = model.components_[t]
        if not component.any():
            continue
        term_order = np.argsort(-component, kind="stable")[:top_terms]
        doc_order = np.argsort(-weights[:, t], kind="stable")[:examples]
        topics.append(
            Topic(
                terms=[str(vocabulary[i]) for i in term_order if component[i] > 0],
                examples=[non_empty[i] for i in doc_order if weights[i, t] > 0],
                size=int((strongest == t).sum()),
                weight=float(weights[:, t].sum()) / total,
            )
        )
    topics.sort(key=lambda topic: (-topic.size, topic.terms))
    return topics
