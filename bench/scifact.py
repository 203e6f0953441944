"""nDCG@10 of quotebot's engine and text analysis on BEIR SciFact (an external relevance benchmark).

    python bench/scifact.py [PATH_TO_SCIFACT] [--k1 0.9] [--b 0.4] [--engine rank-bm25]

Documents are title + abstract as one field, analysed by quotebot's Analyzer (stopwords, Snowball),
scored by the chosen engine. No synonyms: the default list is for news. Published BM25 nDCG@10 on
this split: 0.665 (BEIR), 0.679 (Anserini/Lucene, k1=0.9, b=0.4).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from collections import Counter, defaultdict
from pathlib import Path

from index.analysis import Analyzer
from index.engine import BM25Params, RankBM25Engine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "benchmarks" / "scifact"


def read_jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def run(folder: Path, params: BM25Params) -> dict[str, float]:
    analyzer = Analyzer()
    docs = read_jsonl(folder / "corpus.jsonl")
    queries = {q["_id"]: q["text"] for q in read_jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels[row["query-id"]][row["corpus-id"]] = int(row["score"])
    started = time.perf_counter()
    engine = RankBM25Engine(((i, analyzer.terms(f"{d['title']} {d['text']}"), "") for i, d in enumerate(docs)), params)
    built = time.perf_counter() - started
    scores = []
    started = time.perf_counter()
    for qid, relevant in qrels.items():
        weights = {t: float(n) for t, n in Counter(analyzer.terms(queries[qid])).items()}
        ranked = [docs[i]["_id"] for i, _ in engine.search(weights, 10)]
        scores.append(ndcg_at(ranked, relevant))
    queried = time.perf_counter() - started
    return {"ndcg@10": sum(scores) / len(scores), "queries": len(scores), "build_s": built, "query_ms": queried / len(scores) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--k1", type=float, default=0.9)
    parser.add_argument("--b", type=float, default=0.4)
    args = parser.parse_args()
    result = run(args.folder, BM25Params(k1=args.k1, b=args.b))
    print(
        f"SciFact nDCG@10 {result['ndcg@10']:.3f} over {result['queries']:.0f} queries "
        f"(k1={args.k1}, b={args.b}; build {result['build_s']:.1f} s, {result['query_ms']:.1f} ms/query)"
    )


if __name__ == "__main__":
    main()
