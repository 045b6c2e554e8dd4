"""Which language a comment is in, for themes: a thin wrapper over kaiku.responses.language.

Collection already stores `Response.comment_language` (lingua restricted to the
workspace's languages, confidence ≥ 0.6 and ≥ 3 words, else the survey language:
domain.md §3.1). Themes reuse that one detector — loading lingua's models twice
would cost memory and start-up time for nothing — and only detect again for
answers that arrived without it (imports, rows written before detection existed).
"""

from __future__ import annotations

from collections.abc import Iterable

from kaiku.themes.text.normalise import SNOWBALL


def detect(comment: str, allowed: Iterable[str], fallback: str) -> str:
    """The comment's language among `allowed`, or `fallback` when unsure."""
    # Imported here: the detector module reads the supported languages from the
    # accounts app, and the rest of kaiku.themes.text stays importable without Django.
    from kaiku.responses.language import detect_comment_language

    return detect_comment_language(comment, allowed, fallback)


def comment_language(stored: str, comment: str, allowed: Iterable[str], fallback: str) -> str:
    """The stored detection when there is one, else a fresh one."""
    if stored:
        return stored
    return detect(comment, list(allowed), fallback) if comment else fallback


def can_normalise(language: str) -> bool:
    """Whether themes can lemmatise or stem this language (others are matched word for word)."""
    return language in SNOWBALL
