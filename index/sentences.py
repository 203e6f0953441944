"""Sentence splitting: pysbd's rule-based segmenter, with a fast path for plain paragraphs. Pure.

pysbd handles the hard cases (abbreviations, initials, ellipses, quotations, lists) but runs at a
few thousand sentences a second. A paragraph with none of those hard cases is split by a single
regular expression at '.', '!' or '?' followed by a space and a capital or digit, which is what pysbd
does there too (a test checks that both agree on every such paragraph of the bundled corpus and of
the Golden Rules).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

MIN_WORDS = 3

_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
# Anything that makes a '.' or a boundary ambiguous sends the paragraph to pysbd.
_HARD = re.compile(
    r"\b[A-Za-z]\.[A-Za-z]?"  # initials and abbreviations with dots: U.S., e.g., J. Smith
    r"|\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Gen|Col|Lt|Sgt|Capt|Rep|Sen|Gov|Rev|Mt|Ft|No|Nos|vs|etc|Inc|Ltd|Co|Corp|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|approx|est|dept|fig|al|cf|ca|op|vol|pp|ed)\."
    r"|\.\.|\.\s\.|…|[\"“”'‘’(\[)\]•⁃◦▪‣°]|[!?][a-z]|\s[a-z]\.\s|\d\.\d|(?:^|\s)\d+[.)]\s|\n"
)


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def is_plain(paragraph: str) -> bool:
    """True when a paragraph has none of the cases that need pysbd."""
    return not _HARD.search(paragraph)


def segment(paragraph: str) -> list[str]:
    """Every sentence of a paragraph, each an exact substring of it."""
    if is_plain(paragraph):
        pieces = _BOUNDARY.split(paragraph)
    else:
        pieces = _segmenter().segment(paragraph)
    return [piece.strip() for piece in _locate(paragraph, pieces) if piece.strip()]


def _locate(paragraph: str, pieces: list[str]) -> list[str]:
    """The pieces as they stand in the paragraph (pysbd may drop or normalise spaces between them)."""
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
    return [text for text in segment(paragraph) if _word_count(text) >= MIN_WORDS]


def _word_count(text: str) -> int:
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))
