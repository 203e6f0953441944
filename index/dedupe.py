"""Recognising the same sentence twice: repeats within an article, syndicated copies across articles. Pure.

Copies of a wire story differ by a word ("began"/"begun"), a typo, or an attribution added at the
front ("According to the Associated Press, ..."). Two sentences are near-duplicates when their
word sequences match by at least `SIMILARITY`. Candidates are found by block keys (the first and
the last words), so the store only compares a sentence with the few that could be its copy.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from .analysis import normalise

SIMILARITY = 0.85
KEY_WORDS = 4
_WORD = re.compile(r"[^\W_]+")


def fingerprint(text: str) -> str:
    """The words of a sentence, case-folded, without punctuation: equal for exact repeats."""
    return " ".join(_WORD.findall(normalise(text).casefold()))


def block_keys(key: str) -> tuple[str, str]:
    """The first and last few words of a fingerprint."""
    words = key.split()
    return " ".join(words[:KEY_WORDS]), " ".join(words[-KEY_WORDS:])


def similarity(a: str, b: str) -> float:
    """How much of two sentences' word sequences match, from 0 to 1."""
    return SequenceMatcher(None, fingerprint(a).split(), fingerprint(b).split(), autojunk=False).ratio()


def is_near_duplicate(a: str, b: str) -> bool:
    return similarity(a, b) >= SIMILARITY
