"""Fit the order stage's and the decision stage's constants on the dev sets, and show the result on the sets
nobody tuned on.

    python bench/tune.py [--bbc BBC.db] [--cmu CMU_DIR]

Dev (tuned on): eval/dev.jsonl, the even half of WikiQA dev (pooled), and that half's questions asked of the
news articles, where every one is off-topic. Held out: eval/test.jsonl, eval/test-new.jsonl, the odd half of
WikiQA. With --bbc (an index of ../shared/benchmarks/bbc-news, made there and read whole by the transformer
first, about 5 minutes, if it is not already), eval/bbc-dev.jsonl joins the dev sets and eval/bbc.jsonl the
held-out ones. With --cmu (a folder written by bench/cmu.py), the CMU questions join the dev sets: answer@1
and answer@3, each question asked in its own folder.

Order first (`OrderSettings`: the transformer's weight, the answer-kind, restatement and article weights): P@1
plus nDCG summed over the dev sets (answer@1 plus answer@3 for CMU), and of values that tie, the middle one.
Then the transformer's two cosine thresholds (`DecisionSettings`), on the order's evidence, and the static
model's two on its own evidence (the transformer left out), each pair to make the fewest mistakes (ties: the lowest thresholds): an answerable question declined or an off-topic one answered counts 1;
an on-topic unanswerable one answered with confidence 0.5; an off-topic one answered as unsure, or an
answerable one marked unsure, 0.25.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cmu  # noqa: E402
from ablation import NEVER, ROOT, WIKIQA, open_corpus  # noqa: E402  (beside this script)
from wikiqa import convert  # noqa: E402

from index.corpus import Corpus  # noqa: E402
from index.decision import Evidence, Verdict, judge  # noqa: E402
from index.evaluate import GoldQuestion, evaluate, load_gold, score  # noqa: E402
from index.evaluate import judge as judge_quotes  # noqa: E402
from index.models import Found  # noqa: E402
from index.search import Searcher, SearchSettings  # noqa: E402

WEIGHTS = (0.8, 0.85, 0.9, 0.95)
KIND_PENALTIES = (0.0, 0.1, 0.2)
RESTATEMENT_PENALTIES = (0.3, 0.6, 1.0)
ARTICLE_WEIGHTS = (0.0, 0.1, 0.2)
BBC = ROOT.parent / "shared" / "benchmarks" / "bbc-news"
OFF_TOPIC = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55)
CONFIDENT = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
STATIC_OFF_TOPIC = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75)
STATIC_CONFIDENT = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


@dataclass(frozen=True)
class Asked:
    question: GoldQuestion
    found: Found
    evidence: Evidence | None
    k: int


def searcher(corpus: Corpus, settings: SearchSettings, transformer: bool = True) -> Searcher:
    base = corpus.searcher
    deep = corpus.deep if transformer else None
    return Searcher(corpus.store, base.engine, corpus.analyzer, corpus.synonyms, settings, corpus.embedder, base.dense, deep)


def ask_all(corpus: Corpus, gold: list[GoldQuestion], settings: SearchSettings, k: int, transformer: bool = True) -> list[Asked]:
    ask = searcher(corpus, settings, transformer)
    asked = []
    for question in gold:
        result = ask.search(question.question, k, scope=question.scope)
        asked.append(Asked(question, Found(result.hits), result.evidence, k))
    return asked


def ranking_score(asked: list[Asked]) -> tuple[float, float]:
    scores = evaluate([a.question for a in asked], lambda q, k, by={a.question.question: a.found for a in asked}: by[q], asked[0].k).overall
    return scores.p_at_1, scores.ndcg


def cmu_score(corpus: Corpus, questions: list[dict], settings: SearchSettings) -> tuple[float, float]:  # type: ignore[type-arg]
    """answer@1 and answer@3 (bench/cmu.py), each question asked in its own folder."""
    ask = searcher(corpus, settings)
    scores = cmu.score(questions, lambda question, folder: [h.passage.text for h in ask.search(question, 3, scope=(folder,)).hits])
    return scores["answer@1"], scores["answer@3"]


def verdict(asked: Asked, settings: SearchSettings) -> Verdict:
    return judge(asked.evidence, settings.decision) if asked.evidence else "answer"


def mistakes(asked: list[Asked], settings: SearchSettings) -> float:
    cost = 0.0
    for a in asked:
        said = verdict(a, settings)
        if a.question.answerable:
            cost += 1.0 if said == "decline" else 0.25 if said == "unsure" else 0.0
        elif a.question.kind == "off-topic":
            cost += 0.0 if said == "decline" else 0.25 if said == "unsure" else 1.0
        elif said == "answer":  # on topic, not answered by the articles: unsure quotes are fine
            cost += 0.5
    return cost


def report(name: str, asked: list[Asked], settings: SearchSettings) -> str:
    results = []
    for a in asked:
        said = verdict(a, settings)
        results.append(judge_quotes(a.question, a.found.hits if said != "decline" else (), a.k, confident=said == "answer"))
    s = score(results, asked[0].k)
    return (
        f"| {name} | {len(asked)} | {s.p_at_1:.2f} | {s.ndcg:.2f} | {s.wrongly_declined:.2f} | {s.correctly_declined:.2f} "
        f"| {s.answerable_unsure:.2f} | {s.unanswerable_unsure:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbc", type=Path, help="index of the BBC archive to measure eval/bbc-dev.jsonl and eval/bbc.jsonl on")
    parser.add_argument("--cmu", type=Path, help="a folder written by bench/cmu.py: its questions join the dev sets")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        news = open_corpus(ROOT / "data", Path(tmp) / "news.db")
        convert(WIKIQA, Path(tmp) / "wikiqa")
        wiki = open_corpus(Path(tmp) / "wikiqa" / "articles", Path(tmp) / "wiki.db")
        wikiqa = load_gold(Path(tmp) / "wikiqa" / "gold.jsonl")
        off_topic = [replace(q, answers=(), kind="off-topic") for q in wikiqa]
        dev = {"dev": (news, load_gold(ROOT / "eval" / "dev.jsonl"), 5), "wikiqa even": (wiki, wikiqa[0::2], 10), "off-topic even": (news, off_topic[0::2], 5)}
        held = {
            "test": (news, load_gold(ROOT / "eval" / "test.jsonl"), 5),
            "test-new": (news, load_gold(ROOT / "eval" / "test-new.jsonl"), 5),
            "wikiqa odd": (wiki, wikiqa[1::2], 10),
            "off-topic odd": (news, off_topic[1::2], 5),
        }
        ranking_sets = ["dev", "wikiqa even"]
        corpora = [news, wiki]
        if args.bbc:
            bbc = open_corpus(BBC, args.bbc)
            bbc.read_deep()
            corpora.append(bbc)
            dev["bbc-dev"] = (bbc, load_gold(ROOT / "eval" / "bbc-dev.jsonl"), 5)
            held["bbc"] = (bbc, load_gold(ROOT / "eval" / "bbc.jsonl"), 5)
            ranking_sets.append("bbc-dev")
        cmu_corpus = cmu_questions = None
        if args.cmu:
            cmu_corpus = open_corpus(args.cmu / "articles", args.cmu / "cmu.db")
            corpora.append(cmu_corpus)
            cmu_questions = cmu.load(args.cmu)
        never = replace(SearchSettings(), decision=NEVER)
        print("| transformer_weight | answer_kind_penalty | restatement_penalty | article_weight | " + " | ".join(f"{n} P@1 / nDCG" for n in ranking_sets)
              + (" | CMU answer@1 / @3" if cmu_corpus else "") + " |")
        print("|---" * (4 + len(ranking_sets) + bool(cmu_corpus)) + "|")
        totals = {}
        for fit in product(WEIGHTS, KIND_PENALTIES, RESTATEMENT_PENALTIES, ARTICLE_WEIGHTS):
            fields = dict(zip(("transformer_weight", "answer_kind_penalty", "restatement_penalty", "article_weight"), fit, strict=True))
            settings = replace(never, order=replace(never.order, **fields))
            scores = [ranking_score(ask_all(*dev[name][:2], settings, dev[name][2])) for name in ranking_sets]
            if cmu_corpus is not None and cmu_questions is not None:
                scores.append(cmu_score(cmu_corpus, cmu_questions, settings))
            print("| " + " | ".join(map(str, fit)) + " | " + " | ".join(f"{p:.3f} / {n:.3f}" for p, n in scores) + " |", flush=True)
            totals[fit] = sum(p + n for p, n in scores)
        tied = [fit for fit, total in totals.items() if total > max(totals.values()) - 1e-9]
        weight, kind, restatement, article = tied[len(tied) // 2]  # the middle of a flat optimum, not its edge
        order = replace(never.order, transformer_weight=weight, answer_kind_penalty=kind, restatement_penalty=restatement, article_weight=article)
        ranked = replace(never, order=order)
        asked = {name: ask_all(c, g, ranked, k) for name, (c, g, k) in {**dev, **held}.items()}
        fits = []
        for off, confident in product(OFF_TOPIC, CONFIDENT):
            decision = replace(SearchSettings().decision, transformer_off_topic=off, transformer_confident=confident)
            settings = SearchSettings(order=order, decision=decision)
            fits.append((sum(mistakes(asked[name], settings) for name in dev), off, confident, settings))
        cost, _, _, chosen = min(fits, key=lambda fit: fit[:3])
        print(f"\nchosen: {chosen.order}, transformer_off_topic {chosen.decision.transformer_off_topic}, "
              f"transformer_confident {chosen.decision.transformer_confident} ({cost} mistakes on the dev sets)")
        # The static model's two thresholds, on its own evidence (the transformer left out), as above.
        static = {name: ask_all(c, g, ranked, k, transformer=False) for name, (c, g, k) in {**dev, **held}.items()}
        fits = []
        for off, confident in product(STATIC_OFF_TOPIC, STATIC_CONFIDENT):
            decision = replace(chosen.decision, static_off_topic=off, static_confident=confident)
            settings = replace(chosen, decision=decision)
            fits.append((sum(mistakes(static[name], settings) for name in dev), off, confident, settings))
        cost, _, _, chosen = min(fits, key=lambda fit: fit[:3])
        print(f"static model: static_off_topic {chosen.decision.static_off_topic}, static_confident {chosen.decision.static_confident} "
              f"({cost} mistakes on the dev sets)\n")
        print("| set | questions | P@1 | nDCG | answerable declined | unanswerable declined | answerable unsure | unanswerable unsure |")
        print("|---|---|---|---|---|---|---|---|")
        for name in (*dev, *held):
            print(report(name + (" (tuned on)" if name in dev else ""), asked[name], chosen))
        for name in (*dev, *held):
            print(report(f"{name}, static model" + (" (tuned on)" if name in dev else ""), static[name], chosen))
        for corpus in corpora:
            corpus.close()


if __name__ == "__main__":
    main()
