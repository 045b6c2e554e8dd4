"""Precision, recall and F1 of theme assignment against the labelled evaluation set.

The set (kaiku/themes/eval/{en,fi,et}.jsonl) was written by hand before the
starter keywords were tuned; every line carries its gold themes (possibly none)
and a split: keywords were tuned on "dev" only, and "test" is the held-out
split the quality target (macro F1 ≥ 0.8 per language) is judged on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kaiku.themes.text.assign import Matcher, ThemeKey

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
EVAL_LANGUAGES = ("en", "fi", "et")


@dataclass(frozen=True)
class Example:
    id: str
    language: str
    split: str
    text: str
    themes: frozenset[str]


@dataclass(frozen=True)
class Score:
    theme: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Report:
    language: str
    split: str
    examples: int
    scores: list[Score]
    errors: list[tuple[Example, frozenset[str]]]

    @property
    def macro_f1(self) -> float:
        scored = [s for s in self.scores if s.support]
        return sum(s.f1 for s in scored) / len(scored) if scored else 0.0

    @property
    def micro_f1(self) -> float:
        tp = sum(s.true_positives for s in self.scores)
        fp = sum(s.false_positives for s in self.scores)
        fn = sum(s.false_negatives for s in self.scores)
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def load_examples(language: str, splits: Iterable[str] = ("dev", "test")) -> list[Example]:
    wanted = set(splits)
    examples = []
    path = EVAL_DIR / f"{language}.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["split"] in wanted:
            examples.append(
                Example(row["id"], language, row["split"], row["text"], frozenset(row["themes"]))
            )
    return examples


def evaluate(
    matcher: Matcher,
    examples: Sequence[Example],
    themes: Sequence[str],
    *,
    language: str,
    split: str,
) -> Report:
    """Per-theme counts over `themes` (the fallback theme is not scored: its gold is "none")."""
    counts = {theme: [0, 0, 0] for theme in themes}
    errors = []
    for example in examples:
        predicted = frozenset(str(t) for t in matcher.assign(example.text, example.language))
        predicted = predicted & set(themes)
        for theme in themes:
            gold, got = theme in example.themes, theme in predicted
            if gold and got:
                counts[theme][0] += 1
            elif got:
                counts[theme][1] += 1
            elif gold:
                counts[theme][2] += 1
        if predicted != example.themes:
            errors.append((example, predicted))
    scores = [Score(theme, *counts[theme]) for theme in themes]
    return Report(language, split, len(examples), scores, errors)


def starter_matcher() -> Matcher:
    """The built-in taxonomy as a matcher keyed by theme key (what the evaluation scores)."""
    from kaiku.themes.starter import FALLBACK_KEY, STARTER_KEYWORDS

    keywords: list[tuple[ThemeKey, str, str]] = [
        (key, language, phrase)
        for key, per_language in STARTER_KEYWORDS.items()
        for language, phrases in per_language.items()
        for phrase in phrases
    ]
    return Matcher(keywords, fallback=FALLBACK_KEY)


def evaluate_starter(language: str, split: str) -> Report:
    from kaiku.themes.starter import FALLBACK_KEY, STARTER_KEYWORDS

    themes = [key for key in STARTER_KEYWORDS if key != FALLBACK_KEY]
    return evaluate(
        starter_matcher(), load_examples(language, [split]), themes, language=language, split=split
    )
