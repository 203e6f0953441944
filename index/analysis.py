"""Text analysis shared by documents and questions: normalise, tokenise, drop stopwords, stem. Pure.

The same `Analyzer` must analyse both sides, so a question's terms meet the stored sentences'.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import Stemmer

# The classic English stopword list (as shipped by NLTK and Snowball), plus a few contraction pieces.
STOPWORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is are
    was were be been being have has had having do does did doing a an the and but if or because as until while of
    at by for with about against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each few more most other
    some such no nor not only own same so than too very s t can will just don should now d ll m o re ve y ain
    aren couldn didn doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn would
    could shall may might must also many much
    """.split()
)

# Stored terms and engine indexes are derived with this analysis; change the version when it changes.
ANALYSIS_VERSION = "english-snowball-1"

_TOKEN = re.compile(r"[^\W_]+(?:['.\-][^\W_]+)*\.?", re.UNICODE)
_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")
_SEPARATED_DIGITS = re.compile(r"\d[,.]\d")  # a cheap test before the thousands rule
_ACRONYM = re.compile(r"^(?:[A-Za-z]\.){2,}$")
_INNER = re.compile(r"[.\-]")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "‐": "-", "‑": "-", "–": "-"})


def normalise(text: str) -> str:
    """Unicode NFKC, one kind of apostrophe and hyphen, no thousands separators."""
    if not text.isascii():  # ASCII is already in NFKC and has no curly apostrophes
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    return _THOUSANDS.sub("", text) if _SEPARATED_DIGITS.search(text) else text


def tokens(text: str) -> Iterator[str]:
    """Words of a text, case-folded, possessives removed, hyphenated words as parts and whole.

    Acronyms that would collide with stopwords (US, IT, WHO) are kept when written in capitals.
    """
    for raw in _TOKEN.findall(normalise(text)):
        yield from _word_forms(raw)


def _word_forms(raw: str) -> list[str]:
    """The tokens of one raw word as the tokenizer found it."""
    if _ACRONYM.match(raw):
        raw = raw.replace(".", "")
    raw = raw.rstrip(".")
    if raw.endswith("'s") or raw.endswith("'S"):
        raw = raw[:-2]
    raw = raw.rstrip("'")
    if not raw:
        return []
    if "'" in raw:  # contractions: didn't -> didn, t
        return [part.casefold() for part in raw.split("'") if part]
    shouting = raw.isupper() and len(raw) >= 2
    parts = [p for p in _INNER.split(raw) if p]
    folded = raw.replace("-", "").replace(".", "").casefold()
    if shouting and folded in STOPWORDS:
        return [folded + "_"]  # US the country, not us the pronoun
    forms = [part.casefold() for part in parts]
    if len(parts) > 1:
        forms.append(folded)
    return forms


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer(language)
    stemmer.maxCacheSize = 100_000
    return stemmer


class Analyzer:
    """Turns text into index terms: tokens without stopwords, Snowball-stemmed."""

    CACHE_SIZE = 200_000  # distinct raw words remembered with their terms; news vocabulary repeats

    def __init__(self, language: str = "english", stopwords: Iterable[str] = STOPWORDS) -> None:
        self.language = language
        self.stopwords = frozenset(stopwords)
        self._stem = _stemmer(language).stemWord
        self._known: dict[str, tuple[str, ...]] = {}

    def __reduce__(self) -> tuple[type[Analyzer], tuple[str, frozenset[str]]]:
        # Rebuilt from its settings in another process (the stemmer itself cannot be pickled).
        return (Analyzer, (self.language, self.stopwords))

    def stem(self, word: str) -> str:
        if word.endswith("_"):
            return word
        return self._stem(word)

    def terms(self, text: str) -> list[str]:
        """Index terms of a text, in order, repeats kept (term frequency matters)."""
        known = self._known
        out: list[str] = []
        for raw in _TOKEN.findall(normalise(text)):
            found = known.get(raw)
            if found is None:
                if len(known) >= self.CACHE_SIZE:
                    known.clear()
                found = known[raw] = tuple(self.stem(t) for t in _word_forms(raw) if t not in self.stopwords)
            out.extend(found)
        return out
