"""Fit the transformer re-ranking's weight, its answer-kind penalty, its article weight and its answer/decline
thresholds on the dev sets, and show the result on the sets nobody tuned on.

    python bench/tune.py [--bbc BBC.db]

Dev (tuned on): eval/dev.jsonl, the even half of WikiQA dev (pooled), and that half's questions asked of the
news articles, where every one is off-topic. Held out: eval/test.jsonl, eval/test-new.jsonl, the odd half of
WikiQA. With --bbc (an index of ../shared/benchmarks/bbc-news, made there and read whole by the transformer
first, about 5 minutes, if it is not already), eval/bbc-dev.jsonl joins the dev sets and eval/bbc.jsonl the
held-out ones. The ranking (weight, penalty, article weight) is fitted first: P@1 plus nDCG summed over the
dev sets, and of values that tie, the middle one. Then the two cosine thresholds are fitted on the ranking's evidence
(`SearchResult.evidence`), to make the fewest mistakes (ties: the lowest thresholds): an answerable question
declined or an off-topic one answered counts 1; an off-topic one answered as unsure, or an answerable one
marked unsure, counts 0.25."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from index.corpus import Corpus  # noqa: E402
from index.evaluate import GoldQuestion, evaluate, judge, load_gold  # noqa: E402
from index.models import Found  # noqa: E402
from index.search import Answerability, Evidence, Searcher, SearchSettings  # noqa: E402

from ablation import NEVER, ROOT, WIKIQA, open_corpus  # noqa: E402  (beside this script)
from wikiqa import convert  # noqa: E402

WEIGHTS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
KIND_PENALTIES = (0.0, 0.1, 0.2, 0.3)
ARTICLE_WEIGHTS = (0.0, 0.1, 0.2, 0.3)
BBC = ROOT.parent / "shared" / "benchmarks" / "bbc-news"
OFF_TOPIC = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55)
CONFIDENT = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


@dataclass(frozen=True)
class Asked:
    question: GoldQuestion
    found: Found
    evidence: Evidence | None
    k: int


def ask_all(corpus: Corpus, gold: list[GoldQuestion], settings: SearchSettings, k: int) -> list[Asked]:
    base = corpus.searcher
    searcher = Searcher(corpus.store, base.engine, corpus.analyzer, corpus.synonyms, settings, corpus.embedder, base.dense, corpus.deep)
    asked = []
    for question in gold:
        result = searcher.search(question.question, k)
        asked.append(Asked(question, Found(result.hits), result.evidence, k))
    return asked


def ranking_score(asked: list[Asked]) -> tuple[float, float]:
    scores = evaluate([a.question for a in asked], lambda q, k, by={a.question.question: a.found for a in asked}: by[q], asked[0].k).overall
    return scores.p_at_1, scores.ndcg


def mistakes(asked: list[Asked], settings: SearchSettings) -> float:
    cost = 0.0
    for a in asked:
        verdict = Answerability(settings).judge(a.evidence) if a.evidence else "high"
        if a.question.answerable:
            cost += 1.0 if verdict is None else 0.25 if verdict == "low" else 0.0
        elif a.question.kind == "off-topic":
            cost += 0.0 if verdict is None else 0.25 if verdict == "low" else 1.0
        elif verdict == "high":  # on topic, not answered by the articles: unsure quotes are fine
            cost += 0.5
    return cost


def report(name: str, asked: list[Asked], settings: SearchSettings) -> str:
    results = []
    for a in asked:
        verdict = Answerability(settings).judge(a.evidence) if a.evidence else "high"
        hits = a.found.hits if verdict is not None else ()
        results.append(judge(a.question, hits, a.k, confident=verdict == "high"))
    from index.evaluate import score

    s = score(results, asked[0].k)
    return (
        f"| {name} | {len(asked)} | {s.p_at_1:.2f} | {s.ndcg:.2f} | {s.wrongly_declined:.2f} | {s.correctly_declined:.2f} "
        f"| {s.answerable_unsure:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbc", type=Path, help="index of the BBC archive to measure eval/bbc-dev.jsonl and eval/bbc.jsonl on")
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
        if args.bbc:
            bbc = open_corpus(BBC, args.bbc)
            bbc.read_deep()
            dev["bbc-dev"] = (bbc, load_gold(ROOT / "eval" / "bbc-dev.jsonl"), 5)
            held["bbc"] = (bbc, load_gold(ROOT / "eval" / "bbc.jsonl"), 5)
            ranking_sets.append("bbc-dev")
        never = replace(SearchSettings(), **NEVER)
        print("| deep_weight | answer_kind_penalty | article_weight | " + " | ".join(f"{n} P@1 / nDCG" for n in ranking_sets) + " |")
        print("|---" * (3 + len(ranking_sets)) + "|")
        totals = {}
        for fit in product(WEIGHTS, KIND_PENALTIES, ARTICLE_WEIGHTS):
            settings = replace(never, deep_weight=fit[0], answer_kind_penalty=fit[1], article_weight=fit[2])
            scores = [ranking_score(ask_all(*dev[name][:2], settings, dev[name][2])) for name in ranking_sets]
            print("| " + " | ".join(map(str, fit)) + " | " + " | ".join(f"{p:.2f} / {n:.2f}" for p, n in scores) + " |", flush=True)
            totals[fit] = sum(p + n for p, n in scores)
        tied = [fit for fit, total in totals.items() if total > max(totals.values()) - 1e-9]
        best_weight, best_penalty, best_article = tied[len(tied) // 2]  # the middle of a flat optimum, not its edge
        ranked = replace(never, deep_weight=best_weight, answer_kind_penalty=best_penalty, article_weight=best_article)
        asked = {name: ask_all(c, g, ranked, k) for name, (c, g, k) in {**dev, **held}.items()}
        fits = []
        for off, confident in product(OFF_TOPIC, CONFIDENT):
            settings = replace(
                SearchSettings(), deep_weight=best_weight, answer_kind_penalty=best_penalty, article_weight=best_article,
                deep_off_topic_cosine=off, deep_confident_cosine=confident,
            )
            fits.append((sum(mistakes(asked[name], settings) for name in dev), off, confident, settings))
        cost, _, _, chosen = min(fits, key=lambda fit: fit[:3])
        print(
            f"\nchosen: deep_weight {chosen.deep_weight}, answer_kind_penalty {chosen.answer_kind_penalty}, article_weight {chosen.article_weight}, deep_off_topic_cosine {chosen.deep_off_topic_cosine}, "
            f"deep_confident_cosine {chosen.deep_confident_cosine} ({cost} mistakes on the dev sets)\n"
        )
        print("| set | questions | P@1 | nDCG | answerable declined | unanswerable declined | answerable unsure |\n|---|---|---|---|---|---|---|")
        for name in (*dev, *held):
            print(report(name + (" (tuned on)" if name in dev else ""), asked[name], chosen))
        for corpus in {c for c, _, _ in (*dev.values(), *held.values())}:
            corpus.close()


if __name__ == "__main__":
    main()
