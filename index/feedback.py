"""Ratings of answers, and gold questions made from them. No Slack, no terminal: front ends pass who rated what.

An answer shown with rating buttons is remembered first (`FeedbackLog.remember`), with its own copy of the
question and the quotes' text; a rating then names the answer by its id. A rating keeps its own copy too, so
ratings survive re-indexing, and a vote on an answer whose passages have since changed is still stored.

A rating is a vote, "up" (it answered the question) or "down", and optionally the quote that came closest:
its number (1 for the first quote), or 0 for "none of these". `gold_questions` turns ratings into questions in
`quotebot eval`'s format.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from importlib import metadata
from typing import Any, Literal

from .models import Hit
from .store import Store

Vote = Literal["up", "down"]
NONE_OF_THESE = 0  # `chosen` when the user said no quote came close
KEEP_SHOWN = timedelta(days=90)  # answers nobody rated are forgotten after this long
ANSWER_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class ShownQuote:
    passage_id: int
    article_id: str
    text: str


@dataclass(frozen=True)
class Rating:
    answer_id: str
    user_id: str
    channel_id: str
    question: str
    scope: tuple[str, ...]
    quotes: tuple[ShownQuote, ...]
    vote: Vote
    chosen: int | None  # the closest quote's number (1-based), NONE_OF_THESE, or None when not said
    created: str  # ISO 8601, UTC
    version: str  # quotebot's version when it was given

    @property
    def chosen_quote(self) -> ShownQuote | None:
        if self.chosen and 1 <= self.chosen <= len(self.quotes):
            return self.quotes[self.chosen - 1]
        return None


def _version() -> str:
    try:
        return metadata.version("quotebot")
    except metadata.PackageNotFoundError:
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC)


class FeedbackLog:
    """Answers shown for rating and their ratings, in the store's file (its own connection, safe across threads)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = _now, version: str | None = None) -> None:
        self.store = store
        self.clock = clock
        self.version = version or _version()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.store.close()

    def remember(self, question: str, scope: tuple[str, ...], hits: Iterable[Hit], surface: str) -> str:
        """Keep an answer about to be shown with rating buttons; its id, for the buttons to carry."""
        answer_id = secrets.token_hex(8)
        quotes = [{"passage_id": h.passage.id, "article_id": h.passage.article_id, "text": h.passage.text} for h in hits]
        now = self.clock()
        with self._lock, self.store.transaction():
            self.store.db["shown_answers"].insert(
                {"id": answer_id, "question": question, "scope": json.dumps(list(scope)), "quotes": json.dumps(quotes),
                 "surface": surface, "created": now.isoformat(timespec="seconds")}
            )
            cutoff = (now - KEEP_SHOWN).isoformat(timespec="seconds")
            self.store.db.execute("delete from shown_answers where created < ?", [cutoff])
        return answer_id

    def shown(self, answer_id: str) -> tuple[str, tuple[str, ...], tuple[ShownQuote, ...]] | None:
        """(question, scope, quotes) of a remembered answer; None if there is no such answer (or it was forgotten)."""
        with self._lock:
            row = self.store.db.execute("select question, scope, quotes from shown_answers where id = ?", [answer_id]).fetchone()
        if row is None:
            return None
        return row[0], tuple(json.loads(row[1])), _quotes(row[2])

    def rate(self, answer_id: str, vote: Vote, user_id: str, channel_id: str = "", chosen: int | None = None) -> Rating | None:
        """Store `user_id`'s rating of an answer, replacing theirs if they rated it before. None if the answer is
        not known. A new vote keeps the closest quote they chose before unless it names one."""
        shown = self.shown(answer_id)
        if shown is None:
            return None
        question, scope, quotes = shown
        if chosen is not None and not 0 <= chosen <= len(quotes):
            raise ValueError(f"there is no quote {chosen}: the answer had {len(quotes)}")
        with self._lock, self.store.transaction():
            if chosen is None:
                row = self.store.db.execute(
                    "select chosen from feedback where answer_id = ? and user_id = ?", [answer_id, user_id]
                ).fetchone()
                chosen = row[0] if row else None
            row = {
                "answer_id": answer_id, "user_id": user_id, "channel_id": channel_id, "question": question,
                "scope": json.dumps(list(scope)), "quotes": json.dumps([q.__dict__ for q in quotes]), "vote": vote,
                "chosen": chosen, "created": self.clock().isoformat(timespec="seconds"), "version": self.version,
            }
            self.store.db["feedback"].upsert(row, pk=("answer_id", "user_id"))
        return _rating(row)

    def ratings(self, bad_only: bool = False, since: datetime | None = None) -> list[Rating]:
        """Ratings, newest first; only 👎 ones with `bad_only`; only those given at or after `since`."""
        sql, args = "select * from feedback where 1", []
        if bad_only:
            sql += " and vote = 'down'"
        if since is not None:
            sql += " and created >= ?"
            args.append(since.astimezone(UTC).isoformat(timespec="seconds"))
        with self._lock:
            cursor = self.store.db.execute(sql + " order by created desc, rowid desc", args)
            names = [d[0] for d in cursor.description]
            return [_rating(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _quotes(text: str) -> tuple[ShownQuote, ...]:
    return tuple(ShownQuote(int(q["passage_id"]), str(q["article_id"]), str(q["text"])) for q in json.loads(text))


def _rating(row: dict[str, Any]) -> Rating:
    return Rating(
        answer_id=row["answer_id"], user_id=row["user_id"], channel_id=row["channel_id"] or "", question=row["question"],
        scope=tuple(json.loads(row["scope"])), quotes=_quotes(row["quotes"]),
        vote=row["vote"], chosen=row["chosen"], created=row["created"], version=row["version"],
    )


# -- gold questions ----------------------------------------------------------------------------------

Label = tuple[str, str, str]  # ("answer", article_id, text), or ("none", "", "")
NONE_LABEL: Label = ("none", "", "")


def label(rating: Rating) -> Label | None:
    """What a rating says the answer is: a quote, no quote at all, or nothing we can use (👎 without a choice)."""
    if rating.vote == "up":
        quote = rating.chosen_quote or (rating.quotes[0] if rating.quotes else None)
        return ("answer", quote.article_id, quote.text) if quote else None
    if rating.chosen == NONE_OF_THESE:
        return NONE_LABEL
    quote = rating.chosen_quote
    return ("answer", quote.article_id, quote.text) if quote else None


def gold_questions(ratings: Iterable[Rating], answerable_only: bool = False) -> list[dict[str, Any]]:
    """One gold question per question asked (same words, same scope), in `quotebot eval`'s format.

    Each usable rating is a label: the quote it accepts (a 👍's first or chosen quote, a 👎's chosen one) or
    "none of these". The label most ratings give wins; a tie is left out, and so is a question whose winner is
    "none of these" when `answerable_only`.
    """
    groups: dict[tuple[str, tuple[str, ...]], list[Label]] = defaultdict(list)
    asked: dict[tuple[str, tuple[str, ...]], str] = {}
    for rating in ratings:
        if (found := label(rating)) is None:
            continue
        key = (" ".join(rating.question.casefold().split()), rating.scope)
        groups[key].append(found)
        asked.setdefault(key, rating.question)
    gold = []
    for key in sorted(groups):
        (winner, votes), *rest = Counter(groups[key]).most_common()
        if rest and rest[0][1] == votes:
            continue  # as many say one thing as another
        if winner == NONE_LABEL and answerable_only:
            continue
        question, scope = asked[key], key[1]
        row: dict[str, Any] = {
            "id": "fb-" + sha256(f"{key[0]}|{','.join(scope)}".encode()).hexdigest()[:10],
            "question": question,
            "answers": [] if winner == NONE_LABEL else [{"source": winner[1], "text": winner[2]}],
            "kind": "feedback",
        }
        if scope:
            row["scope"] = list(scope)
        gold.append(row)
    return gold
