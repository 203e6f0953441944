"""Stage 2 of answering: the candidates in order, by one fused score.

- With the transformer's cosines (the default): `transformer_weight` times the cosine plus the rest times the
  BM25 score over the best candidate's. (Not the cosine scaled over the candidates: that stretches small
  differences in meaning among a few articles on one story and shrinks them in a large archive.)
- With the static model's: reciprocal-rank fusion of the BM25 ranking and the static model's.
- Without vectors: the BM25 score.
Without the transformer, a BM25 score also loses a share when the sentence has the question's words out of the
question's order ("North Korea sent troops to Russia" for "what did Russia give North Korea").
Then, on every path, a sentence that only restates the question is multiplied by `restatement_penalty`, and
with the transformer a sentence that cannot hold the kind of answer asked for ("when" and no date or time
word, "how many" and no number, "who"/"where" and no name the question lacks) loses `answer_kind_penalty`,
and each candidate gains `article_weight` times the best score in its article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .candidates import Candidates
from .lexical import WORD, Match
from .models import Passage


@dataclass(frozen=True)
class OrderSettings:
    # Fitted with bench/tune.py on eval/dev.jsonl, the even half of WikiQA dev, eval/bbc-dev.jsonl and CMU.
    transformer_weight: float = 0.95
    restatement_penalty: float = 0.6
    answer_kind_penalty: float = 0.2
    article_weight: float = 0.2  # with the transformer, each candidate gains this share of the best score in its article
    rrf_k: float = 5.0  # static path; the usual 60 loses 1 of 20 on eval/dev.jsonl and 3 of 609 on CMU
    # Without the transformer, the share of a BM25 score that depends on the question's word order being kept
    # (`Match.in_order`). At 0 the static path loses 1 of 49 on bbc-dev (held out: 2 of 19 on eval/test.jsonl,
    # 1 of 63 on WikiQA's odd half). With the transformer it is left out: there it cost 5 held-out questions.
    word_order_weight: float = 0.2


Ranked = list[tuple[float, Passage]]


def order(question: str, candidates: Candidates, settings: OrderSettings = OrderSettings()) -> Ranked:
    """The candidates, best first, with their fused scores (ties: the earlier sentence first)."""
    if candidates.model == "transformer":
        fused = transformer_scores(question, candidates, settings)
    elif candidates.model == "static":
        fused = reciprocal_rank_scores(candidates, settings)
    else:
        fused = {pid: lexical_score(candidates.matches[pid], settings) for pid in candidates.lexical_order}
    for pid in fused:
        if candidates.matches[pid].restates:  # it answers nothing, however close in meaning
            fused[pid] *= settings.restatement_penalty
    passages = candidates.passages
    return sorted(((score, passages[pid]) for pid, score in fused.items()), key=lambda pair: (-pair[0], pair[1].id))


def transformer_scores(question: str, candidates: Candidates, settings: OrderSettings) -> dict[int, float]:
    weight = settings.transformer_weight
    best_lexical = max(m.score for m in candidates.matches.values()) or 1.0
    fused = {pid: weight * candidates.cosines[pid] + (1 - weight) * m.score / best_lexical for pid, m in candidates.matches.items()}
    if (kind := answer_kind(question)) is not None:
        for pid, passage in candidates.passages.items():
            if not can_answer(kind, question, passage.text):
                fused[pid] -= settings.answer_kind_penalty
    if settings.article_weight:
        best: dict[str, float] = {}
        for pid, passage in candidates.passages.items():
            best[passage.article_id] = max(best.get(passage.article_id, fused[pid]), fused[pid])
        fused = {pid: score + settings.article_weight * best[candidates.passages[pid].article_id] for pid, score in fused.items()}
    return fused


def lexical_score(match: Match, settings: OrderSettings) -> float:
    """BM25, less a share for the question's words out of the question's order."""
    return match.score * (1 - settings.word_order_weight * (1 - match.in_order))


def reciprocal_rank_scores(candidates: Candidates, settings: OrderSettings) -> dict[int, float]:
    """Reciprocal-rank fusion of the BM25 ranking (with word order) and the static model's."""
    matches = candidates.matches
    lexical = sorted(candidates.lexical_order, key=lambda pid: (-lexical_score(matches[pid], settings), pid))
    fused: dict[int, float] = {}
    for ranking in (lexical, candidates.dense_order):
        for rank, pid in enumerate(ranking):
            fused[pid] = fused.get(pid, 0.0) + 1 / (settings.rrf_k + rank + 1)
    return fused


AnswerKind = Literal["time", "number", "name"]
_ASKS_TIME = re.compile(r"\bwhen\b|\bwhat (year|date|day|month|time)\b|\bwhich (year|day|month)\b", re.I)
_ASKS_NUMBER = re.compile(
    r"\bhow (many|much|long|old|far|big|large|tall|fast|high|deep)\b|\bwhat (percentage|percent|share|number|amount)\b", re.I
)
_ASKS_NAME = re.compile(r"^\W*(who|whom|whose|where)\b", re.I)
_TIME = re.compile(
    r"\b(1[5-9]\d\d|20\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|october|november"
    r"|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|century|decade|yesterday|today|tonight"
    r"|(last|this|next) (week|month|year))\b",
    re.I,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|dozens?"
    r"|hundreds?|thousands?|millions?|billions?|trillions?|percent|half|double[ds]?|tripled?)\b",
    re.I,
)
_NAME = re.compile(r"(?<!^)(?<![.!?:\"“]\s)\b[A-Z][\w'’-]+")
_CALENDAR = re.compile(
    r"(January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)('s)?"
)


def answer_kind(question: str) -> AnswerKind | None:
    """The kind of answer a question asks for, where its wording says: a time, a number or a name."""
    if _ASKS_TIME.search(question):
        return "time"
    if _ASKS_NUMBER.search(question):
        return "number"
    if _ASKS_NAME.search(question):
        return "name"
    return None


def can_answer(kind: AnswerKind, question: str, text: str) -> bool:
    """Whether a sentence holds something of that kind: a date or time word, a number, or a capitalised
    name (not opening the sentence, not a month or weekday) that the question does not already hold."""
    if kind == "time":
        return bool(_TIME.search(text))
    if kind == "number":
        return bool(_NUMBER.search(text))
    asked = {word.casefold() for word in WORD.findall(question)}
    return any(m.group(0).casefold() not in asked and not _CALENDAR.fullmatch(m.group(0)) for m in _NAME.finditer(text))
