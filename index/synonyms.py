"""Synonym groups, in the plain comma-separated format search engines ship (Solr's, equivalence lines only).

A question term that belongs to a group brings in the group's other members as extra search terms
at a lower weight, and a sentence that holds any member covers that part of the question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .analysis import Analyzer

DEFAULT_SYNONYMS = Path(__file__).with_name("synonyms.txt")

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Expansion:
    """One match of a synonym group in a question: the words matched and the group's other phrases."""

    start: int
    matched: Phrase
    alternatives: tuple[Phrase, ...]


class Synonyms:
    """Equivalence groups of analysed phrases."""

    def __init__(self, groups: Iterable[Iterable[Phrase]]) -> None:
        self._groups: dict[Phrase, tuple[Phrase, ...]] = {}
        for group in groups:
            members = tuple(dict.fromkeys(p for p in group if p))
            for member in members:
                others = tuple(p for p in members if p != member)
                known = self._groups.get(member, ())
                self._groups[member] = tuple(dict.fromkeys(known + others))
        self._longest = max((len(p) for p in self._groups), default=0)

    @classmethod
    def parse(cls, text: str, analyzer: Analyzer) -> Synonyms:
        groups = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            groups.append([tuple(analyzer.terms(entry)) for entry in line.split(",")])
        return cls(groups)

    @classmethod
    def load(cls, path: Path | None, analyzer: Analyzer) -> Synonyms:
        return cls.parse((path or DEFAULT_SYNONYMS).read_text(encoding="utf-8"), analyzer)

    @classmethod
    def none(cls) -> Synonyms:
        return cls([])

    def expansions(self, terms: list[str]) -> list[Expansion]:
        """Longest group members found in a term sequence, left to right, without overlaps."""
        found = []
        i = 0
        while i < len(terms):
            for size in range(min(self._longest, len(terms) - i), 0, -1):
                phrase = tuple(terms[i : i + size])
                if phrase in self._groups:
                    found.append(Expansion(i, phrase, self._groups[phrase]))
                    i += size
                    break
            else:
                i += 1
        return found
