"""The decision stage on made-up evidence: each rule of index/decision.py, at its thresholds."""

from __future__ import annotations

import pytest

from index.candidates import Candidates
from index.decision import Decision, DecisionSettings, Evidence, decide, judge
from index.lexical import Concept, Match, Query
from index.models import Passage

SETTINGS = DecisionSettings()


def transformer(cosine: float, coverage: float = 0.0, unknown_name: bool = False) -> Evidence:
    return Evidence(model="transformer", best_cosine=cosine, top_coverage=coverage, unknown_name=unknown_name)


def static(cosine: float, coverage: float = 0.0, unknown_name: bool = False) -> Evidence:
    return Evidence(model="static", best_cosine=cosine, top_coverage=coverage, unknown_name=unknown_name)


@pytest.mark.parametrize(
    ("evidence", "verdict"),
    [
        (transformer(SETTINGS.transformer_off_topic - 0.01, coverage=0.9), "decline"),  # words alone never keep it
        (transformer(SETTINGS.transformer_off_topic), "unsure"),
        (transformer(SETTINGS.transformer_confident - 0.01), "unsure"),
        (transformer(SETTINGS.transformer_confident), "answer"),
        (transformer(0.9, unknown_name=True), "unsure"),  # close in meaning, but about something never mentioned
        (transformer(SETTINGS.transformer_confident - 0.01, unknown_name=True), "decline"),
        (static(SETTINGS.static_off_topic - 0.01, coverage=SETTINGS.off_topic_coverage - 0.01), "decline"),
        (static(SETTINGS.static_off_topic - 0.01, coverage=SETTINGS.off_topic_coverage), "unsure"),  # words keep it
        (static(SETTINGS.static_off_topic, coverage=0.0), "unsure"),
        (static(SETTINGS.static_off_topic, coverage=SETTINGS.confident_coverage), "answer"),  # words make it confident
        (static(SETTINGS.static_confident), "answer"),
        (static(SETTINGS.static_confident, unknown_name=True), "unsure"),
    ],
)
def test_each_rule_at_its_threshold(evidence: Evidence, verdict: str) -> None:
    assert judge(evidence, SETTINGS) == verdict


def bm25_candidates(known_share: float, coverages: dict[int, float]) -> tuple[Candidates, list[tuple[float, Passage]]]:
    """Candidates without vectors: a question the articles have words for `known_share` of."""
    concepts = (Concept(("known",), weight=known_share), Concept(("unknown",), weight=1 - known_share, known=False))
    passages = {pid: Passage(pid, "a.txt", pid, 0, f"Sentence {pid}.", pid) for pid in coverages}
    candidates = Candidates(
        query=Query({"known": 1.0}, concepts), passages=passages,
        matches={pid: Match(1.0, coverage, False) for pid, coverage in coverages.items()},
        lexical_order=tuple(passages), dense_order=(), cosines={}, model=None, unknown_name=False,
    )
    return candidates, [(1.0, passages[pid]) for pid in coverages]


def test_without_vectors_only_sentences_holding_enough_of_the_question_answer() -> None:
    candidates, ranked = bm25_candidates(1.0, {1: 0.9, 2: 0.3, 3: 0.5})
    decision = decide(candidates, ranked, SETTINGS)
    assert decision.verdict == "answer" and [p.id for _, p in decision.quoted] == [1, 3]
    candidates, ranked = bm25_candidates(1.0, {1: 0.3})
    assert decide(candidates, ranked, SETTINGS) == Decision("decline", [])


def test_without_vectors_a_question_the_articles_have_few_words_for_is_declined() -> None:
    candidates, ranked = bm25_candidates(0.4, {1: 1.0})  # every known word, but most of the question unknown
    assert decide(candidates, ranked, SETTINGS) == Decision("decline", [])
