"""The one core every front end calls: a question in, an Answer out. No I/O of its own."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from index.models import Found, Hit, UnknownScope

MAX_QUESTION_CHARS = 500

Scope = tuple[str, ...]  # folders of the archive (desks); empty: all of it
SearchFn = Callable[[str, int, int, Scope], Found]  # (question, k, context sentences, scope) -> hits and confidence
Status = Literal["ok", "no_answer", "empty_question", "unknown_scope"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    hits: tuple[Hit, ...] = ()
    articles: int = 0  # how many articles were searched
    truncated: bool = False  # the question was cut to MAX_QUESTION_CHARS
    confident: bool = True  # False: the closest sentences on the topic, which may not answer the question
    scope: Scope = ()  # the folders searched; empty: all
    known_scopes: Scope = ()  # with status "unknown_scope": the folders there are


_SCOPE_WORD = re.compile(r"^\s*(?:in:\s*(?P<short>[^\s]+)|--in(?:=|\s+)(?P<long>[^\s]+))\s*", re.I)


def split_scope(text: str) -> tuple[Scope, str]:
    """Folders named at the start of a question, and the question: 'in:sport who won?' or '--in sport who won?'.
    Several may be given ('in:sport in:tech', 'in:sport,tech')."""
    folders: list[str] = []
    while match := _SCOPE_WORD.match(text):
        folders.extend(f for f in (match.group("short") or match.group("long")).split(",") if f)
        text = text[match.end() :]
    return tuple(dict.fromkeys(folders)), text


def clean_question(text: str) -> tuple[str, bool]:
    """Normalise a question: NFC, no control or invisible characters, single spaces, bounded length."""
    text = unicodedata.normalize("NFC", text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0], True
    return text, False


class Answerer:
    """Answers questions with a search function; `article_count` says how many articles it covers."""

    def __init__(
        self,
        search: SearchFn,
        article_count: Callable[[], int],
        top_k: int = 3,
        resolve_scope: Callable[[Scope], Scope] = lambda scope: scope,
    ) -> None:
        self.search = search
        self.article_count = article_count
        self.top_k = top_k
        self.resolve_scope = resolve_scope  # the folders as the archive names them; UnknownScope if one is not there

    def check_scope(self, scope: Scope) -> Answer | None:
        """None when the archive has every folder of `scope`; else the answer a question scoped to it would get."""
        try:
            self.resolve_scope(scope)
        except UnknownScope as error:
            return Answer("", "unknown_scope", articles=self.article_count(), scope=error.unknown, known_scopes=error.known)
        return None

    def answer(self, question: str, k: int | None = None, context: int = 0, scope: Scope = ()) -> Answer:
        """Answer from the articles inside the scope's folders (all, if empty). The question may name its own
        scope at the start ('in:sport ...'), which then replaces the given one."""
        named, question = split_scope(question)
        scope = named or scope
        text, truncated = clean_question(question)
        articles = self.article_count()
        if not text.strip("?!. "):
            return Answer(question=text, status="empty_question", articles=articles, scope=scope)
        try:
            found = self.search(text, k or self.top_k, context, scope)
        except UnknownScope as error:
            return Answer(text, "unknown_scope", articles=articles, scope=error.unknown, known_scopes=error.known)
        status: Status = "ok" if found.hits else "no_answer"
        return Answer(text, status, found.hits, articles, truncated, confident=found.confident or not found.hits, scope=scope)
