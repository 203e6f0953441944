"""Stage 3 of answering: answer, answer marked unsure, or decline.

Read from the ordered candidates (index/order.py):
- the best cosine to the question among the candidates, by the model that gave them (the transformer's run
  lower than the static model's, so each model has its own two thresholds);
- the top sentence's coverage: the share of the whole question's weight it holds (words the corpus never saw
  count as missing, in proportion: one unknown word cannot sink a question);
- whether the question names something the articles never mention ("the capital of Australia").

Declined: no candidate is close in meaning (with the static model: and the top sentence holds little of the
question), an off-topic question; or the question names something the articles never mention and no
candidate is close enough to be confident. Answered: a candidate is close enough in meaning (with the static
model: or the top sentence holds most of the question), and the question names nothing the articles never
mention. Otherwise the quotes are shown, marked unsure: on the topic, perhaps not the answer.

Without vectors (BM25 alone) a question is declined when the articles have words for less than `min_coverage`
of its weight; otherwise a sentence answers when it holds that share of the weight they do have words for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .candidates import Candidates, Model
from .order import Ranked

Verdict = Literal["answer", "unsure", "decline"]


@dataclass(frozen=True)
class DecisionSettings:
    # Fitted with bench/tune.py on the dev sets' answerable, unanswerable and off-topic questions.
    transformer_off_topic: float = 0.3  # declined below this cosine
    transformer_confident: float = 0.4  # answered at or above it
    static_off_topic: float = 0.6  # declined below this cosine and `off_topic_coverage`
    static_confident: float = 0.7  # answered at or above this cosine, or `confident_coverage`
    off_topic_coverage: float = 0.3
    confident_coverage: float = 0.4
    min_coverage: float = 0.5  # BM25 alone


@dataclass(frozen=True)
class Evidence:
    """What the decision was made on."""

    model: Model | None
    best_cosine: float  # of the candidates, the closest in meaning to the question (0 without vectors)
    top_coverage: float  # the share of the whole question's weight that the top sentence holds
    unknown_name: bool  # the question names something the articles never mention


def evidence(candidates: Candidates, ranked: Ranked) -> Evidence:
    top = candidates.matches[ranked[0][1].id].coverage if ranked else 0.0
    return Evidence(
        model=candidates.model,
        best_cosine=candidates.best_cosine,
        top_coverage=top * candidates.query.known_share,
        unknown_name=candidates.unknown_name,
    )


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    quoted: Ranked  # the sentences that may be quoted (without vectors, those holding enough of the question)
    evidence: Evidence | None = None  # what the verdict was made on, with vectors


def decide(candidates: Candidates, ranked: Ranked, settings: DecisionSettings = DecisionSettings()) -> Decision:
    if candidates.model is None:
        if candidates.query.known_share < settings.min_coverage:  # the articles lack words for much of it
            return Decision("decline", [])
        kept = [pair for pair in ranked if candidates.matches[pair[1].id].coverage >= settings.min_coverage]
        return Decision("answer" if kept else "decline", kept)
    if not ranked:
        return Decision("decline", ranked)
    found = evidence(candidates, ranked)
    return Decision(judge(found, settings), ranked, found)


def judge(evidence: Evidence, settings: DecisionSettings = DecisionSettings()) -> Verdict:
    """The verdict on the evidence of a search with vectors."""
    if evidence.model == "transformer":
        if evidence.best_cosine < settings.transformer_off_topic:
            return "decline"
        confident = evidence.best_cosine >= settings.transformer_confident
    else:
        if evidence.best_cosine < settings.static_off_topic and evidence.top_coverage < settings.off_topic_coverage:
            return "decline"
        # Holding most of the question's words is confidence enough for the static model only: with the
        # transformer it made off-topic questions confident ("What is the speed of light in a vacuum?").
        confident = evidence.best_cosine >= settings.static_confident or evidence.top_coverage >= settings.confident_coverage
    if evidence.unknown_name:  # "What did China give North Korea?" of articles that never say "China"
        return "unsure" if confident else "decline"
    return "answer" if confident else "unsure"
