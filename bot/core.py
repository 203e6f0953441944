"""The one core every front end calls: a question in, an Answer out. No I/O of its own."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from index.models import Found, Hit

MAX_QUESTION_CHARS = 500

SearchFn = Callable[[str, int, int], Found]  # (question, k, context sentences) -> hits and confidence
Status = Literal["ok", "no_answer", "empty_question"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass(frozen=True)
class Answer:
    question: str
    status: Status
    hits: tuple[Hit, ...] = ()
    articles: int = 0  # how many articles were searched
    truncated: bool = False  # the question was cut to MAX_QUESTION_CHARS
    confident: bool = True  # False: the closest sentences on the topic, which may not answer the question


def clean_question(text: str) -> tuple[str, bool]:
    """Normalise a question: NFC, no control or invisible characters, single spaces, bounded length."""
    text = unicodedata.normalize("NFC", text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0], True
    return text, False


class Answerer:
    """Answers questions with a search function; `article_count` says how many articles it covers."""

    def __init__(self, search: SearchFn, article_count: Callable[[], int], top_k: int = 3) -> None:
        self.search = search
        self.article_count = article_count
        self.top_k = top_k

    def answer(self, question: str, k: int | None = None, context: int = 0) -> Answer:
        text, truncated = clean_question(question)
        articles = self.article_count()
        if not text.strip("?!. "):
            return Answer(question=text, status="empty_question", articles=articles)
        found = self.search(text, k or self.top_k, context)
        status: Status = "ok" if found.hits else "no_answer"
        return Answer(text, status, found.hits, articles, truncated, confident=found.confident or not found.hits)
