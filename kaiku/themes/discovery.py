"""Discovery suggestions for one survey, language and period: log-odds terms and NMF topics.

This is the one place that reads comment text for a page, so it is capped at
the newest MAX_COMMENTS comments and cached for CACHE_SECONDS (keyed by the
newest answer, so a new answer shows on the next load).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from kaiku.surveys.models import Survey
from kaiku.themes.queries import Period, comments_for_discovery
from kaiku.themes.text.logodds import TermScore, distinctive_terms
from kaiku.themes.text.normalise import normaliser
from kaiku.themes.text.topics import nmf_topics

MAX_COMMENTS = 20_000
TOPICS = 8
TERMS = 15
EXAMPLES = 3
CACHE_SECONDS = 3600


@dataclass(frozen=True)
class Example:
    id: int
    comment: str
    score: int


@dataclass(frozen=True)
class TopicSuggestion:
    terms: list[str]
    size: int
    examples: list[Example]


@dataclass(frozen=True)
class Discovery:
    language: str
    comments: int
    detractor_terms: list[TermScore]
    promoter_terms: list[TermScore]
    topics: list[TopicSuggestion]
    capped: bool


def discover(survey: Survey, period: Period, language: str) -> Discovery:
    rows = comments_for_discovery(survey, period, language, MAX_COMMENTS)
    newest = max((row[0] for row in rows), default=0)
    key = f"themes:discover:{survey.pk}:{language}:{period.start}:{period.end}:{newest}:{len(rows)}"
    cached = cache.get(key)
    if isinstance(cached, Discovery):
        return cached
    result = _discover(rows, language)
    cache.set(key, result, CACHE_SECONDS)
    return result


def _discover(rows: list[tuple[int, str, int]], language: str) -> Discovery:
    norm = normaliser(language)
    docs = [norm.terms(comment) for _id, comment, _score in rows]
    detractors = [d for d, row in zip(docs, rows, strict=True) if row[2] <= 6]
    promoters = [d for d, row in zip(docs, rows, strict=True) if row[2] >= 9]
    passives = [d for d, row in zip(docs, rows, strict=True) if 7 <= row[2] <= 8]
    for_detractors, for_promoters = distinctive_terms(detractors, promoters, passives, top=TERMS)
    # Topics from single terms only: bigrams double-count what their words say.
    unigrams = [[t for t in doc if " " not in t] for doc in docs]
    topics = [
        TopicSuggestion(
            terms=topic.terms,
            size=topic.size,
            examples=[Example(rows[i][0], rows[i][1], rows[i][2]) for i in topic.examples],
        )
        for topic in nmf_topics(unigrams, TOPICS, examples=EXAMPLES)
    ]
    return Discovery(
        language=language,
        comments=len(rows),
        detractor_terms=for_detractors,
        promoter_terms=for_promoters,
        topics=topics,
        capped=len(rows) >= MAX_COMMENTS,
    )
