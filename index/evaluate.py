"""Answer-quality evaluation against a gold set: P@1, MRR@5, nDCG@5, Recall@5, declines. Pure but for reading the file.

Gold file: one JSON object per line,
    {"id": "p1", "question": "...", "answers": [{"source": "FILE", "text": "SENTENCE"}], "kind": "paraphrase"}
with `answers` empty when the corpus cannot answer, and an optional "scope": ["sport"] for a question asked of
some folders only. Copies of one sentence in several articles count
as one answer ("unit"); a returned sentence matches a gold one despite whitespace, punctuation, or a
slightly longer or shorter span.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .dedupe import fingerprint, is_near_duplicate
from .models import Found, Hit, UnknownScope

K = 5


@dataclass(frozen=True)
class GoldAnswer:
    source: str
    text: str


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[GoldAnswer, ...]
    kind: str
    non_answers: tuple[GoldAnswer, ...] = ()  # sentences that only restate the question
    scope: tuple[str, ...] = ()  # the folders the question was asked of (a desk); empty: all

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    def units(self) -> list[list[GoldAnswer]]:
        """Gold answers grouped so that copies of one sentence form one unit."""
        groups: list[list[GoldAnswer]] = []
        for answer in self.answers:
            for group in groups:
                if texts_match(group[0].text, answer.text):
                    group.append(answer)
                    break
            else:
                groups.append([answer])
        return groups


class GoldFileError(ValueError):
    """A gold file line that cannot be read; the message names the line."""


def load_gold(path: Path) -> list[GoldQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            answers = tuple(GoldAnswer(str(a["source"]), str(a["text"])) for a in row.get("answers", []))
            non_answers = tuple(GoldAnswer(str(a["source"]), str(a["text"])) for a in row.get("non_answers", []))
            questions.append(
                GoldQuestion(
                    str(row["id"]), str(row["question"]), answers, str(row.get("kind", "other")), non_answers,
                    tuple(str(folder) for folder in row.get("scope", [])),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise GoldFileError(f"{path}:{number}: {error}") from error
    return questions


def texts_match(returned: str, gold: str) -> bool:
    a, b = fingerprint(returned), fingerprint(gold)
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    if shorter and shorter in longer and len(shorter) >= 0.6 * len(longer):
        return True
    return is_near_duplicate(returned, gold)


def hit_matches(hit: Hit, unit: list[GoldAnswer]) -> bool:
    sources = {hit.source.article_id, *(s.article_id for s in (*hit.also_in, *hit.filed_as))}
    return any(g.source in sources and texts_match(hit.passage.text, g.text) for g in unit)


@dataclass(frozen=True)
class QuestionResult:
    id: str
    kind: str
    question: str
    answerable: bool
    returned: tuple[str, ...]
    relevant: tuple[bool, ...]  # per returned hit, whether it matches a gold unit not matched higher up
    units: int
    expected: str | None  # the first gold sentence, for reports
    restatement_first: bool = False  # a restating non-answer ranks above the first real answer
    unsure: bool = False  # quotes were shown, marked as possibly not answering

    @property
    def declined(self) -> bool:
        return not self.returned

    @property
    def first_relevant(self) -> int | None:
        return next((i + 1 for i, r in enumerate(self.relevant) if r), None)

    @property
    def correct(self) -> bool:
        if not self.answerable:
            return self.declined
        return self.first_relevant == 1


def judge(question: GoldQuestion, hits: Iterable[Hit], k: int = K, confident: bool = True) -> QuestionResult:
    hits = list(hits)[:k]
    units = question.units()
    matched: set[int] = set()
    relevant = []
    for hit in hits:
        found = next((i for i, unit in enumerate(units) if i not in matched and hit_matches(hit, unit)), None)
        if found is not None:
            matched.add(found)
        relevant.append(found is not None)
    first = next((i for i, r in enumerate(relevant) if r), len(hits))
    restating = any(hit_matches(h, list(question.non_answers)) for h in hits[:first]) if question.non_answers else False
    return QuestionResult(
        restatement_first=restating,
        id=question.id,
        kind=question.kind,
        question=question.question,
        answerable=question.answerable,
        returned=tuple(h.passage.text for h in hits),
        relevant=tuple(relevant),
        units=len(units),
        expected=question.answers[0].text if question.answers else None,
        unsure=not confident,
    )


@dataclass(frozen=True)
class Scores:
    questions: int
    answerable: int
    p_at_1: float
    mrr: float
    ndcg: float
    recall: float
    wrongly_declined: float  # share of answerable questions that got no answer
    correctly_declined: float  # share of unanswerable questions that got no answer
    restatement_first: float  # share of answerable questions where a restating non-answer ranks first
    answerable_unsure: float = float("nan")  # share of answerable questions answered but marked low-confidence
    unanswerable_unsure: float = float("nan")  # share of unanswerable questions answered, marked low-confidence


def _ndcg(result: QuestionResult, k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(result.relevant[:k]) if r)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(result.units, k)))
    return dcg / ideal if ideal else 0.0


def score(results: list[QuestionResult], k: int = K) -> Scores:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    return Scores(
        questions=len(results),
        answerable=len(answerable),
        p_at_1=mean([1.0 if r.first_relevant == 1 else 0.0 for r in answerable]),
        mrr=mean([1 / r.first_relevant if r.first_relevant else 0.0 for r in answerable]),
        ndcg=mean([_ndcg(r, k) for r in answerable]),
        recall=mean([sum(r.relevant) / r.units for r in answerable]),
        wrongly_declined=mean([1.0 if r.declined else 0.0 for r in answerable]),
        correctly_declined=mean([1.0 if r.declined else 0.0 for r in unanswerable]),
        restatement_first=mean([1.0 if r.restatement_first else 0.0 for r in answerable]),
        answerable_unsure=mean([1.0 if r.unsure and r.returned else 0.0 for r in answerable]),
        unanswerable_unsure=mean([1.0 if r.unsure and r.returned else 0.0 for r in unanswerable]),
    )


@dataclass(frozen=True)
class Evaluation:
    overall: Scores
    by_kind: dict[str, Scores]
    results: list[QuestionResult]
    k: int = K

    def wrong(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.correct]

    def as_dict(self) -> dict[str, object]:
        return {
            "overall": asdict(self.overall),
            "by_kind": {kind: asdict(s) for kind, s in self.by_kind.items()},
            "wrong": [asdict(r) for r in self.wrong()],
        }


def evaluate(gold: list[GoldQuestion], search: Callable[[str, int], Found], k: int = K) -> Evaluation:
    """Ask every question and judge its quotes; low-confidence answers are counted apart (`*_unsure`)."""
    results = []
    for q in gold:
        try:
            found = search(q.question, k, scope=q.scope) if q.scope else search(q.question, k)  # type: ignore[call-arg]
        except UnknownScope:  # the folder it was asked of is gone: nothing can be quoted from it
            found = Found((), True)
        results.append(judge(q, found.hits, k, found.confident))
    kinds = sorted({r.kind for r in results})
    return Evaluation(
        overall=score(results, k),
        by_kind={kind: score([r for r in results if r.kind == kind], k) for kind in kinds},
        results=results,
        k=k,
    )


def format_table(evaluation: Evaluation) -> str:
    k = evaluation.k
    header = (
        f"| set | questions | P@1 | MRR@{k} | nDCG@{k} | Recall@{k} | answerable declined | unanswerable declined "
        "| restatement above answer | answerable unsure | unanswerable unsure |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = [("all", evaluation.overall), *evaluation.by_kind.items()]
    for name, s in rows:
        cells = [s.p_at_1, s.mrr, s.ndcg, s.recall, s.wrongly_declined, s.correctly_declined, s.restatement_first]
        cells += [s.answerable_unsure, s.unanswerable_unsure]
        lines.append(f"| {name} | {s.questions} | " + " | ".join("–" if math.isnan(c) else f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)
