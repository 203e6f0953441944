"""Answer quality with each retrieval lever turned off, against plain rank-bm25, on a gold set.

    python bench/ablation.py [eval/dev.jsonl]

"plain rank-bm25" is BM25Okapi over sentences with stopwords removed and no stemming, always
answering: the starting point the levers are measured against.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from rank_bm25 import BM25Okapi

from index.analysis import STOPWORDS, tokens
from index.corpus import Corpus, CorpusConfig
from index.evaluate import Evaluation, evaluate, load_gold
from index.models import Hit
from index.search import Searcher, SearchSettings
from index.synonyms import Synonyms

ROOT = Path(__file__).resolve().parent.parent


def plain_bm25(corpus: Corpus):  # type: ignore[no-untyped-def]
    passages = list(corpus.store.iter_passages())
    sources = corpus.store.sources()
    bm25 = BM25Okapi([[t for t in tokens(p.text) if t not in STOPWORDS] for p in passages])

    def search(question: str, k: int) -> list[Hit]:
        scores = bm25.get_scores([t for t in tokens(question) if t not in STOPWORDS])
        best = sorted(range(len(passages)), key=lambda i: -scores[i])[:k]
        return [Hit(passages[i], sources[passages[i].article_id], float(scores[i])) for i in best]

    return search


def row(name: str, e: Evaluation) -> str:
    o = e.overall
    para = e.by_kind.get("paraphrase")
    cells = [o.p_at_1, para.p_at_1 if para else float("nan"), o.mrr, o.ndcg, o.wrongly_declined, o.correctly_declined, o.restatement_first]
    return f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |"


def main() -> None:
    gold = load_gold(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval" / "dev.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Corpus.open(CorpusConfig(folder=ROOT / "data", db_path=Path(tmp) / "q.db"))
        corpus.index()
        full = corpus.searcher
        default = SearchSettings()

        def variant(settings: SearchSettings = default, synonyms: Synonyms | None = None) -> Evaluation:
            searcher = Searcher(corpus.store, full.engine, corpus.analyzer, synonyms or corpus.synonyms, settings)
            return evaluate(gold, lambda q, k: searcher.search(q, k).hits)

        print("| setup | P@1 | paraphrase P@1 | MRR@5 | nDCG@5 | answerable declined | unanswerable declined | restatement above answer |")
        print("|---|---|---|---|---|---|---|---|")
        print(row("plain rank-bm25 (BM25Okapi, stopwords, no stemming)", evaluate(gold, plain_bm25(corpus))))
        print(row("quotebot", variant()))
        print(row("  without synonyms", variant(synonyms=Synonyms.none())))
        print(row("  without word-order preference", variant(replace(default, order_weight=0))))
        print(row("  without restatement penalty", variant(replace(default, restatement_penalty=1))))
        print(row("  without declining (no coverage gates)", variant(replace(default, min_known_share=0, min_coverage=0))))
        print(row("  with b = 0.75 instead of 0.5", variant(replace(default, b=0.75))))
        corpus.close()


if __name__ == "__main__":
    main()
