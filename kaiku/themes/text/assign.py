"""Theme assignment: a taxonomy's keywords compiled into per-language lookups (domain.md §3.4).

A keyword is written the way a person would, in the comment's language, and
normalised like the comments, so one lemma covers every inflection
("toimitus" matches toimituksen, toimituksessa, toimitukset):

- `word`            one word, lemmatised: "delivery", "hinta", "klienditeenindus";
- `two words`       consecutive words of one clause: "customer service", "on time";
- `pre*`, `*suf`    the start or the end of a word, for compounds and typos:
                    "toimitu*" (toimitusaika, toimituksesa), "*teenindus" (klienditeenindusega);
- `a + b`           both somewhere in the same clause, in any order: "slow + app",
                    "hidas + sovellus" ("the app is really slow").

Negation does not hide a mention: "delivery was not slow" mentions delivery.
Each comment gets 0..n themes; with a `fallback` theme, a comment with at least
FALLBACK_MIN_WORDS content words that matches nothing gets the fallback
("other"), so that unexplained comments stay visible.

Lookups are dictionaries keyed by lemma and by the first or last letters of
wildcards, and every distinct word's single-word matches are cached, so a warm
matcher assigns a comment in tens of microseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from kaiku.themes.text.normalise import Normaliser, Token, normaliser

FALLBACK_MIN_WORDS = 3
_AFFIX = 3  # wildcards are indexed by their first (prefix) or last (suffix) letters
_WORD_CACHE_LIMIT = 100_000

ThemeKey = Hashable


class KeywordError(ValueError):
    """A keyword the matcher cannot use (empty, or a wildcard shorter than three letters)."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """One word of a keyword: an exact lemma, a prefix or a suffix."""

    kind: str  # "exact" | "prefix" | "suffix"
    value: str

    def matches(self, token: Token) -> bool:
        if self.kind == "exact":
            return token.key == self.value
        if self.kind == "prefix":
            return token.key.startswith(self.value) or token.word.startswith(self.value)
        return token.key.endswith(self.value) or token.word.endswith(self.value)


def parse_keyword(phrase: str, norm: Normaliser) -> tuple[str, tuple[tuple[Pattern, ...], ...]]:
    """("phrase" | "clause", parts): a phrase has one part of consecutive patterns;
    a clause rule ("a + b") has one single-pattern part per side."""
    text = " ".join(phrase.lower().split())
    if not text:
        raise KeywordError("empty keyword")
    if "+" in text:
        sides = [side.strip() for side in text.split("+")]
        if len(sides) < 2 or any(not side for side in sides):
            raise KeywordError(f"{phrase!r}: write 'word + word'")
        return "clause", tuple((_pattern(side, norm),) for side in sides)
    words = text.split(" ")
    return "phrase", (tuple(_pattern(word, norm) for word in words),)


def _pattern(word: str, norm: Normaliser) -> Pattern:
    word = word.strip()
    if word.endswith("*") and not word.startswith("*"):
        value = word.rstrip("*")
        kind = "prefix"
    elif word.startswith("*") and not word.endswith("*"):
        value = word.lstrip("*")
        kind = "suffix"
    else:
        value = word.strip("*")
        if " " in value or not value:
            raise KeywordError(f"{word!r}: one word per side")
        return Pattern("exact", norm.key(value))
    if len(value) < _AFFIX:
        raise KeywordError(f"{word!r}: a wildcard needs at least {_AFFIX} letters")
    return Pattern(kind, value)


@dataclass
class _Language:
    """The compiled keywords of one language."""

    norm: Normaliser
    exact: dict[str, set[ThemeKey]] = field(default_factory=lambda: defaultdict(set))
    prefixes: dict[str, list[tuple[str, ThemeKey]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    suffixes: dict[str, list[tuple[str, ThemeKey]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Multi-word phrases, indexed by their first word's single-word theme "slot".
    phrases: list[tuple[tuple[Pattern, ...], ThemeKey]] = field(default_factory=list)
    clauses: list[tuple[tuple[Pattern, ...], ThemeKey]] = field(default_factory=list)
    word_cache: dict[tuple[str, str], frozenset[ThemeKey]] = field(default_factory=dict)

    def add(self, kind: str, parts: tuple[tuple[Pattern, ...], ...], theme: ThemeKey) -> None:
        if kind == "clause":
            self.clauses.append((tuple(part[0] for part in parts), theme))
            return
        (patterns,) = parts
        if len(patterns) > 1:
            self.phrases.append((patterns, theme))
            return
        (pattern,) = patterns
        if pattern.kind == "exact":
            self.exact[pattern.value].add(theme)
        elif pattern.kind == "prefix":
            self.prefixes[pattern.value[:_AFFIX]].append((pattern.value, theme))
        else:
            self.suffixes[pattern.value[-_AFFIX:]].append((pattern.value, theme))

    def word_themes(self, token: Token) -> frozenset[ThemeKey]:
        """Themes whose single-word keywords match this token (cached per word)."""
        cache_key = (token.word, token.key)
        cached = self.word_cache.get(cache_key)
        if cached is not None:
            return cached
        themes: set[ThemeKey] = set(self.exact.get(token.key, ()))
        for text in {token.key, token.word}:
            for prefix, theme in self.prefixes.get(text[:_AFFIX], ()):
                if text.startswith(prefix):
                    themes.add(theme)
            for suffix, theme in self.suffixes.get(text[-_AFFIX:], ()):
                if text.endswith(suffix):
                    themes.add(theme)
        result = frozenset(themes)
        if len(self.word_cache) >= _WORD_CACHE_LIMIT:
            self.word_cache.clear()
        self.word_cache[cache_key] = result
        return result


class Matcher:
    """A compiled taxonomy: `assign(text, language)` → the set of theme keys it mentions.

    `keywords` are (theme, language, phrase) triples; a phrase the matcher cannot
    use raises KeywordError unless `strict=False`, which skips it (a stored
    taxonomy must never stop assignment).
    """

    def __init__(
        self,
        keywords: Iterable[tuple[ThemeKey, str, str]],
        fallback: ThemeKey | None = None,
        *,
        strict: bool = True,
    ) -> None:
        self.fallback = fallback
        self.languages: dict[str, _Language] = {}
        self.skipped: list[tuple[ThemeKey, str, str]] = []
        for theme, language, phrase in keywords:
            compiled = self._language(language)
            try:
                kind, parts = parse_keyword(phrase, compiled.norm)
            except KeywordError:
                if strict:
                    raise
                self.skipped.append((theme, language, phrase))
                continue
            compiled.add(kind, parts, theme)

    def _language(self, language: str) -> _Language:
        if language not in self.languages:
            self.languages[language] = _Language(normaliser(language))
        return self.languages[language]

    def assign(self, text: str, language: str) -> set[ThemeKey]:
        """Themes the comment mentions in `language` (the fallback when none and it says enough)."""
        compiled = self.languages.get(language)
        norm = compiled.norm if compiled else normaliser(language)
        tokens = norm.tokens(text) if text else []
        themes: set[ThemeKey] = set()
        if compiled is not None:
            themes = self._match(compiled, tokens)
        if not themes and self.fallback is not None:
            content = sum(1 for token in tokens if token.is_content)
            if content >= FALLBACK_MIN_WORDS:
                themes.add(self.fallback)
        return themes

    def _match(self, compiled: _Language, tokens: Sequence[Token]) -> set[ThemeKey]:
        themes: set[ThemeKey] = set()
        for token in tokens:
            if not token.is_boundary:
                themes |= compiled.word_themes(token)
        if compiled.phrases:
            themes |= _phrases(compiled.phrases, tokens)
        if compiled.clauses:
            themes |= _clauses(compiled.clauses, tokens)
        return themes


def _phrases(
    phrases: Sequence[tuple[tuple[Pattern, ...], ThemeKey]], tokens: Sequence[Token]
) -> set[ThemeKey]:
    found: set[ThemeKey] = set()
    keys = {token.key for token in tokens}
    for patterns, theme in phrases:
        if theme in found:
            continue
        first = patterns[0]
        if first.kind == "exact" and first.value not in keys:
            continue  # the cheap test rules out almost every phrase
        size = len(patterns)
        for start in range(len(tokens) - size + 1):
            window = tokens[start : start + size]
            if all(
                not tok.is_boundary and pat.matches(tok)
                for pat, tok in zip(patterns, window, strict=True)
            ):
                found.add(theme)
                break
    return found


def _clauses(
    rules: Sequence[tuple[tuple[Pattern, ...], ThemeKey]], tokens: Sequence[Token]
) -> set[ThemeKey]:
    found: set[ThemeKey] = set()
    clause: list[Token] = []
    for token in [*tokens, None]:
        if token is not None and not token.is_boundary:
            clause.append(token)
            continue
        if clause:
            keys = {tok.key for tok in clause}
            for patterns, theme in rules:
                if theme in found:
                    continue
                if any(pat.kind == "exact" and pat.value not in keys for pat in patterns):
                    continue
                if all(any(pat.matches(tok) for tok in clause) for pat in patterns):
                    found.add(theme)
        clause = []
    return found
