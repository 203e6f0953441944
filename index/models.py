"""Frozen dataclasses that cross module boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Source:
    """Where a passage comes from: one article file and what is known about it."""

    article_id: str  # the article's file name, relative to the articles folder
    title: str | None = None
    outlet: str | None = None
    published: date | None = None
    url: str | None = None


def folders_of(article_id: str) -> tuple[str, ...]:
    """The folders an article's file is in, outermost first: 'sport/football/001.txt' -> ('sport', 'sport/football')."""
    parts = article_id.split("/")[:-1]
    return tuple("/".join(parts[: i + 1]) for i in range(len(parts)))


def in_scope(article_id: str, scope: tuple[str, ...]) -> bool:
    """Whether an article is inside one of the scope's folders; every article is inside the empty scope."""
    return not scope or any(article_id.startswith(folder + "/") for folder in scope)


class UnknownScope(ValueError):
    """A question was scoped to a folder the archive does not have; `known` lists the folders it has."""

    def __init__(self, unknown: tuple[str, ...], known: tuple[str, ...]) -> None:
        self.unknown = unknown
        self.known = known
        names = ", ".join(known) if known else "none: every article is at the top of the articles folder"
        super().__init__(f"no folder {', '.join(unknown)} in the articles; the folders are: {names}")


@dataclass(frozen=True)
class Paragraph:
    """One block of body text, split on layout, before sentence splitting."""

    number: int
    text: str


@dataclass(frozen=True)
class Article:
    """An article after cleaning: its metadata and its body paragraphs."""

    source: Source
    paragraphs: tuple[Paragraph, ...]
    dropped_lines: tuple[str, ...] = ()  # boilerplate removed by the cleaner


@dataclass(frozen=True)
class Passage:
    """One stored sentence, verbatim from its article."""

    id: int
    article_id: str
    position: int  # index of the sentence within the article
    paragraph: int
    text: str
    group_id: int  # near-identical sentences across articles share a group
    terms: str = ""  # the analysed terms, space-separated, as the engines index them


@dataclass(frozen=True)
class Hit:
    """A passage that answers a question, with the other sources of the same sentence."""

    passage: Passage
    source: Source
    score: float
    also_in: tuple[Source, ...] = ()  # other articles carrying the same (or a near-identical) sentence
    filed_as: tuple[Source, ...] = ()  # other files of this very story: the same text, or the same outlet and headline
    context_before: tuple[Passage, ...] = ()
    context_after: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class Found:
    """What a search found: the hits, and whether they are likely to answer the question.

    `confident` is False when the question is on the articles' topic but the best sentences may not
    answer it: they are shown, marked as such, rather than refusing.
    """

    hits: tuple[Hit, ...]
    confident: bool = True


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class IndexReport:
    """What one `index` run did."""

    articles: int  # articles in the index after the run
    sentences: int  # sentences in the index after the run
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    repeats_dropped: int = 0  # sentences repeated within an article, stored once (whole index)
    copies: int = 0  # sentences written this run that joined a near-identical one of another article
    duplicates: int = 0  # files holding the same story as another file (whole index): answered as one story
    skipped: tuple[SkippedFile, ...] = ()  # files not indexed, with the reason each
    warnings: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)
