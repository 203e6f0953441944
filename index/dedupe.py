"""Recognising the same sentence twice: repeats within an article, syndicated copies across articles. Pure.

Copies of a wire story differ by a word ("began"/"begun"), a typo, or an attribution added at the
front ("According to the Associated Press, ..."). Two sentences are near-duplicates when their
word sequences match by at least `SIMILARITY`. Candidates are found by block keys (the first and
the last words), so the store only compares a sentence with the few that could be its copy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from difflib import SequenceMatcher

from .analysis import normalise

SIMILARITY = 0.85
KEY_WORDS = 4
_WORD = re.compile(r"[^\W_]+")


def fingerprint(text: str) -> str:
    """The words of a sentence, case-folded, without punctuation: equal for exact repeats."""
    return " ".join(_WORD.findall(normalise(text).casefold()))


def block_keys(key: str) -> tuple[int, int]:
    """The first and the last few words of a fingerprint, each hashed to a 64-bit integer (small to index)."""
    words = key.split()
    return _hash64(" ".join(words[:KEY_WORDS])), _hash64(" ".join(words[-KEY_WORDS:]))


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


def is_near_duplicate(a: str, b: str) -> bool:
    """Whether two sentences' word sequences match by at least `SIMILARITY`."""
    return copy_finder(fingerprint(a))(fingerprint(b))


def copy_finder(key: str) -> Callable[[str], bool]:
    """A test of whether other fingerprints are near-duplicates of `key`; cheap bounds first, as most are not.

    The matcher keeps what it learnt of `key` across the comparisons.
    """
    words = key.split()
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(words)

    def is_copy(other_key: str) -> bool:
        if other_key == key:
            return True
        matcher.set_seq1(other_key.split())
        return matcher.real_quick_ratio() >= SIMILARITY and matcher.quick_ratio() >= SIMILARITY and matcher.ratio() >= SIMILARITY

    return is_copy
