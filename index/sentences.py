"""Sentence splitting: sentencex, with pysbd for numbered lists and spaced ellipses. Pure.

sentencex (Wikimedia's rule-based segmenter, compiled) handles abbreviations, initials, numbers and
quotations, and runs at hundreds of thousands of sentences a second. Two things it does not handle
are list items run into one paragraph ("1. The first item 2. The second item") and the spaced
ellipsis of edited quotations (". . ."); a paragraph with either goes to pysbd, which handles both
but is a hundred times slower. Together they pass every English Golden Rule.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd
import sentencex

MIN_WORDS = 3
LANGUAGE = "en"

# A paragraph that opens with a list marker, or has a spaced ellipsis, goes to pysbd.
_FOR_PYSBD = re.compile(r"^\s*[⁃•◦▪‣*-]?\s*(?:\d{1,3}|[A-Za-z])[.)]\s|\.\s\.\s\.")


@lru_cache(maxsize=1)
def _pysbd() -> pysbd.Segmenter:
    return pysbd.Segmenter(language=LANGUAGE, clean=False)


def needs_pysbd(paragraph: str) -> bool:
    """True when a paragraph has a list or spaced ellipsis, which only pysbd splits right."""
    return bool(_FOR_PYSBD.search(paragraph))


def segment(paragraph: str) -> list[str]:
    """Every sentence of a paragraph, each an exact substring of it."""
    pieces = _pysbd().segment(paragraph) if needs_pysbd(paragraph) else sentencex.segment(LANGUAGE, paragraph)
    return [piece for piece in _locate(paragraph, pieces) if piece]


def _locate(paragraph: str, pieces: list[str]) -> list[str]:
    """The pieces as they stand in the paragraph (a segmenter may drop or normalise spaces between them)."""
    found, cursor = [], 0
    for piece in pieces:
        text = piece.strip()
        at = paragraph.find(text, cursor) if text else -1
        if at < 0:
            found.append(text)
            continue
        found.append(paragraph[at : at + len(text)])
        cursor = at + len(text)
    return found


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of a paragraph worth storing as passages.

    Fragments with fewer than three words (a stray "image", a lone quote mark) are dropped.
    """
    return [text for text in segment(paragraph) if _has_words(text, MIN_WORDS)]


def _has_words(text: str, enough: int) -> bool:
    """True when at least `enough` of the text's space-separated tokens have a letter or digit."""
    count = 0
    for token in text.split():
        if any(c.isalnum() for c in token):
            count += 1
            if count >= enough:
                return True
    return False
