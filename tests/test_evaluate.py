"""The gold set is exact, the metrics are right, and answer quality stays above its floors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from index.corpus import Corpus
from index.evaluate import GoldAnswer, GoldQuestion, evaluate, judge, load_gold, score, texts_match
from tests.fakes import hit

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold.jsonl"

# Floors: a little under the figures measured when the retrieval work landed (README, "Answer quality").
FLOORS = {"p_at_1": 0.85, "mrr": 0.88, "ndcg": 0.78, "correctly_declined": 0.80, "restatement_first_max": 0.02}
PARAPHRASE_P_AT_1 = 0.60
WRONGLY_DECLINED_MAX = 0.10


def test_gold_set_size_and_kinds() -> None:
    gold = load_gold(GOLD)
    kinds = {q.kind for q in gold}
    assert len(gold) >= 40
    assert {"direct", "paraphrase", "syndicated", "detail", "unanswerable"} <= kinds
    assert all(sum(q.kind == kind for q in gold) >= 5 for kind in kinds)
    assert len({q.id for q in gold}) == len(gold)


def test_every_gold_sentence_is_copied_exactly(corpus: Corpus) -> None:
    stored = {(p.article_id, p.text) for p in corpus.store.iter_passages()}
    for question in load_gold(GOLD):
        for answer in (*question.answers, *question.non_answers):
            assert (answer.source, answer.text) in stored, (question.id, answer.text)
            assert answer.text in (ROOT / "data" / answer.source).read_text(encoding="utf-8")


def test_quality_floors_on_the_gold_set(corpus: Corpus) -> None:
    result = evaluate(load_gold(GOLD), lambda q, k: corpus.search(q, k))
    overall = result.overall
    assert overall.p_at_1 >= FLOORS["p_at_1"]
    assert overall.mrr >= FLOORS["mrr"]
    assert overall.ndcg >= FLOORS["ndcg"]
    assert overall.correctly_declined >= FLOORS["correctly_declined"]
    assert overall.wrongly_declined <= WRONGLY_DECLINED_MAX
    assert overall.restatement_first <= FLOORS["restatement_first_max"]
    assert result.by_kind["paraphrase"].p_at_1 >= PARAPHRASE_P_AT_1
    off_topic = [r for r in result.results if r.id in {"u1", "u2", "u3", "u4", "u5", "u6"}]
    assert all(r.declined for r in off_topic)


GOLD_Q = GoldQuestion(
    "x", "q",
    (GoldAnswer("a.txt", "Russia has supplied air defense missiles to North Korea."),
     GoldAnswer("b.txt", "Russia has supplied air-defence missiles to North Korea."),
     GoldAnswer("c.txt", "Officials said economic aid was also part of the deal.")),
    "direct",
    (GoldAnswer("a.txt", "It was unclear what Russia would give North Korea in return."),),
)


def test_metrics_by_hand() -> None:
    from tests.fakes import Source

    a, c = Source("a.txt"), Source("c.txt")
    restating = hit("It was unclear what Russia would give North Korea in return.", a)
    result = judge(GOLD_Q, [restating, hit("Officials said economic aid was also part of the deal.", c),
                            hit("  Russia has supplied air defense missiles to North Korea ", a)])
    assert result.relevant == (False, True, True)
    assert result.units == 2 and result.restatement_first
    scores = score([result])
    assert scores.p_at_1 == 0 and scores.mrr == 0.5 and scores.recall == 1.0
    assert scores.ndcg == pytest.approx((1 / 1.585 + 1 / 2) / (1 + 1 / 1.585), rel=1e-3)
    declined = judge(GoldQuestion("u", "q", (), "unanswerable"), [])
    assert score([declined]).correctly_declined == 1.0


def test_text_matching_tolerates_spans_and_spacing() -> None:
    assert texts_match("Russia has supplied  missiles to North Korea", "Russia has supplied missiles to North Korea.")
    assert texts_match("Russia has supplied missiles to North Korea, Shin said", "Russia has supplied missiles to North Korea.")
    assert not texts_match("North Korea sent troops to Russia.", "Russia has supplied missiles to North Korea.")


def test_eval_command(seeds_dir: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "--data", str(seeds_dir), "eval", "--json", str(GOLD)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"overall", "by_kind", "wrong"} <= set(data)
    assert data["overall"]["questions"] == len(load_gold(GOLD))
    text = subprocess.run(
        [sys.executable, "-m", "bot", "--data", str(seeds_dir), "eval", str(GOLD)], capture_output=True, text=True, timeout=120
    ).stdout
    assert text.startswith("| set | questions | P@1 |") and "| paraphrase |" in text
