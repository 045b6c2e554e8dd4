"""Comment normalisation: tokens, lemmas, stopwords and negation (domain.md §3.2).

Pure Python (no Django). One `Normaliser` per language, shared by the process:

- tokenise: words (letters, with inner apostrophes) and clause boundaries
  (. , ; : ! ? and contrastive conjunctions such as "but", "mutta", "aga");
  hyphenated words are split ("hinta-laatusuhde" → hinta, laatusuhde);
- lowercase and lemmatise with simplemma (fi: hinnat/hintaa → hinta; et:
  klienditeenindusega → klienditeenindus; it also splits compounds it does not
  know: pikatoimituksen → pikatoimitus). A word simplemma neither knows nor
  changes gets its Snowball stem (PyStemmer) instead, as do words of languages
  simplemma lacks;
- stopwords: the curated lists in ./stopwords/{en,fi,et}.txt, checked on the
  surface form and on the lemma ("before and after");
- negation: a negator ("not", "n't", "never", fi "ei"/"en"/"eikä", et "ei",
  "pole", "mitte" …) is dropped and marks the next content words of its clause
  (at most NEGATION_WINDOW): "not easy" → NOT_easy, "ei toiminut" → NOT_toimia.

Lemmas are cached per language (a comment corpus repeats a few thousand words),
so a warm normaliser spends microseconds per word.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import simplemma
import Stemmer

STOPWORDS_DIR = Path(__file__).resolve().parent / "stopwords"
NEGATION_WINDOW = 2
NOT = "NOT_"
# simplemma languages we lemmatise with (ISO 639-1); others fall back to Snowball.
SIMPLEMMA_LANGUAGES = frozenset(
    {"en", "fi", "et", "sv", "de", "da", "nb", "nn", "fr", "es", "it", "nl", "pl", "pt", "ru"}
)
SNOWBALL = {
    "en": "english",
    "fi": "finnish",
    "et": "estonian",
    "sv": "swedish",
    "de": "german",
    "da": "danish",
    "nb": "norwegian",
    "nn": "norwegian",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pl": "polish",
    "pt": "portuguese",
    "ru": "russian",
}
NEGATORS: dict[str, frozenset[str]] = {
    "en": frozenset(
        {
            "not",
            "no",
            "never",
            "nothing",
            "nobody",
            "none",
            "neither",
            "nor",
            "without",
            "cannot",
            "cant",
            "dont",
            "doesnt",
            "didnt",
            "isnt",
            "wasnt",
            "arent",
            "werent",
            "wont",
            "wouldnt",
            "couldnt",
            "shouldnt",
            "hasnt",
            "havent",
            "hadnt",
            "hardly",
        }
    ),
    # The Finnish negation verb in every person, with the -kä clitic, the
    # imperative and "ilman" (without).
    "fi": frozenset(
        {
            "en",
            "et",
            "ei",
            "emme",
            "ette",
            "eivät",
            "enkä",
            "etkä",
            "eikä",
            "emmekä",
            "ettekä",
            "eivätkä",
            "älä",
            "älkää",
            "ilman",
        }
    ),
    "et": frozenset({"ei", "pole", "polnud", "mitte", "ega", "ära", "ärge", "ilma", "eiole"}),
}
# Conjunctions that start a new clause: negation does not reach past them.
CLAUSE_BREAKS: dict[str, frozenset[str]] = {
    "en": frozenset({"but", "and", "although", "though", "however", "because"}),
    "fi": frozenset({"mutta", "ja", "vaan", "vaikka", "koska", "kuitenkin"}),
    "et": frozenset({"aga", "kuid", "ja", "vaid", "kuigi", "sest", "ent"}),
}
BOUNDARY = "|"
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[.,;:!?()]")
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a comment.

    `key` is what themes match on and discovery counts (the lemma, or the
    Snowball stem for a word simplemma does not know); `word` is the lowercase
    surface form. A clause boundary is a Token with key BOUNDARY.
    """

    word: str
    key: str
    stop: bool
    negated: bool = False

    @property
    def is_boundary(self) -> bool:
        return self.key == BOUNDARY

    @property
    def is_content(self) -> bool:
        return not self.stop and len(self.key) > 1 and self.key != BOUNDARY

    @property
    def term(self) -> str:
        """The discovery feature: the key, marked when negated."""
        return NOT + self.key if self.negated else self.key


_BOUNDARY_TOKEN = Token(BOUNDARY, BOUNDARY, True)


def load_stopwords(language: str) -> frozenset[str]:
    """The curated list for a language (empty for languages without one)."""
    path = STOPWORDS_DIR / f"{language}.txt"
    if not path.exists():
        return frozenset()
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip().lower()
        if word:
            words.add(word)
    return frozenset(words)


class Normaliser:
    """Tokens, lemmas and negation for one language. Thread-safe; use `normaliser()`."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.stopwords = load_stopwords(language)
        self.negators = NEGATORS.get(language, frozenset())
        self.breaks = CLAUSE_BREAKS.get(language, frozenset())
        self._simplemma = language in SIMPLEMMA_LANGUAGES
        algorithm = SNOWBALL.get(language)
        self._stemmer = Stemmer.Stemmer(algorithm) if algorithm else None
        self._lock = threading.Lock()
        # word → (key, stop): the whole per-word cost, paid once per distinct word.
        self._words: dict[str, tuple[str, bool]] = {}

    # --- words -------------------------------------------------------------------

    def key(self, word: str) -> str:
        """The matching key of one lowercase word (its lemma or stem)."""
        return self._word(word)[0]

    def _word(self, word: str) -> tuple[str, bool]:
        cached = self._words.get(word)
        if cached is not None:
            return cached
        key = self._lemma(word)
        stop = word in self.stopwords or key in self.stopwords
        result = (key, stop)
        with self._lock:
            if len(self._words) >= _CACHE_LIMIT:
                self._words.clear()  # a runaway vocabulary (spam) must not grow memory forever
            self._words[word] = result
        return result

    def _lemma(self, word: str) -> str:
        if self._simplemma:
            lemma = simplemma.lemmatize(word, lang=self.language).lower()
            if self.language == "et" and word.endswith("nud") and lemma == word[:-1]:
                # simplemma leaves Estonian -nud participles as "-nu" (töötanud →
                # töötanu): the -ma infinitive is the lemma (töötama, hilinema).
                return word[:-3] + "ma"
            if lemma != word or simplemma.is_known(word, lang=self.language):
                return lemma
        if self._stemmer is not None and len(word) > 3:
            return str(self._stemmer.stemWord(word))
        return word

    # --- comments ----------------------------------------------------------------

    def words(self, text: str) -> list[str]:
        """Lowercase words and boundary markers, hyphenated words split."""
        out: list[str] = []
        for match in _TOKEN.finditer(text.lower().replace("-", " ")):
            token = match.group(0)
            if len(token) == 1 and not token.isalpha():
                out.append(BOUNDARY)
            else:
                out.append(_contraction(token))
        return out

    def tokens(self, text: str) -> list[Token]:
        """The comment's tokens in order; negators are dropped, boundaries kept."""
        tokens: list[Token] = []
        window = 0
        for word in self.words(text):
            if word == BOUNDARY or word in self.breaks:
                window = 0
                tokens.append(_BOUNDARY_TOKEN)
                continue
            if word in self.negators:
                window = NEGATION_WINDOW
                continue
            key, stop = self._word(word)
            negated = window > 0
            if negated and not stop:
                window -= 1
            tokens.append(Token(word, key, stop, negated))
        return tokens

    def terms(self, text: str, bigrams: bool = True) -> list[str]:
        """Discovery features: content terms (NOT_-marked when negated) and, within a
        clause, bigrams of adjacent content terms ("customer service")."""
        terms: list[str] = []
        previous: str | None = None
        for token in self.tokens(text):
            if token.is_boundary:
                previous = None
                continue
            if not token.is_content:
                continue
            term = token.term
            terms.append(term)
            if bigrams and previous is not None:
                terms.append(f"{previous} {term}")
            previous = term
        return terms


def _contraction(token: str) -> str:
    """ "don't" → "dont" (one spelling for the negator list); "it's", "Score'i" → "it", "score"."""
    token = token.replace("’", "'")
    if "'" not in token:
        return token
    if token.endswith("n't"):
        return token.replace("'", "")
    return token.split("'", 1)[0]


@cache
def normaliser(language: str) -> Normaliser:
    """The process's normaliser for a language (built once; lemma dictionaries load lazily)."""
    return Normaliser(language)
