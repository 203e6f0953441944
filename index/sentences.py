"""Sentence splitting: pysbd's rule-based segmenter on one paragraph at a time. Pure."""

from __future__ import annotations

from functools import lru_cache

import pysbd

MIN_WORDS = 3


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def segment(paragraph: str) -> list[str]:
    """Every sentence of a paragraph, each an exact substring of it."""
    spans = (paragraph[span.start : span.end].strip() for span in _segmenter().segment(paragraph))
    return [text for text in spans if text]


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of a paragraph worth storing as passages.

    Fragments with fewer than three words (a stray "image", a lone quote mark) are dropped.
    """
    return [text for text in segment(paragraph) if _word_count(text) >= MIN_WORDS]


def _word_count(text: str) -> int:
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))
