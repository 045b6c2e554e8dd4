"""Which language a comment is written in (domain.md §3.1).

The respondent's survey language is the prior; lingua may overrule it only
when it is confident (≥ 0.6) about a comment of at least three words, and only
in favour of a language the workspace offers. Short answers ("ok", "hyvä")
are too ambiguous between Finnish and Estonian to trust a detector.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from kaiku.accounts.models import SUPPORTED_LANGUAGES

MIN_CONFIDENCE = 0.6
MIN_WORDS = 3

_LINGUA: dict[str, Language] = {
    "en": Language.ENGLISH,
    "fi": Language.FINNISH,
    "et": Language.ESTONIAN,
}
_detector: LanguageDetector | None = None
_lock = threading.Lock()


def _get_detector() -> LanguageDetector:
    """One detector per process, built on first use (loading models takes a while).

    It knows all the languages Kaiku supports; a workspace's own subset is
    applied to its confidence values, so one detector serves every workspace.
    """
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                languages = [_LINGUA[code] for code in SUPPORTED_LANGUAGES]
                _detector = LanguageDetectorBuilder.from_languages(*languages).build()
    return _detector


def detect_comment_language(comment: str, allowed: Iterable[str], fallback: str) -> str:
    """The comment's language among `allowed`, or `fallback` when unsure."""
    allowed_codes = [code for code in allowed if code in _LINGUA]
    if len(allowed_codes) < 2 or len(comment.split()) < MIN_WORDS:
        return fallback
    values = _get_detector().compute_language_confidence_values(comment)
    wanted = {_LINGUA[code]: code for code in allowed_codes}
    # Renormalise over the workspace's languages, as a detector built from
    # only those languages would.
    scores = {wanted[v.language]: v.value for v in values if v.language in wanted}
    total = sum(scores.values())
    if total <= 0:
        return fallback
    best = max(scores, key=lambda code: scores[code])
    return best if scores[best] / total >= MIN_CONFIDENCE else fallback
