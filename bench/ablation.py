"""Answer quality with each part of the ranking and of the answer/decline decision turned off, on every set.

    python bench/ablation.py

Sets: eval/dev.jsonl (tuned on), eval/test.jsonl and eval/test-new.jsonl (never tuned on), and, when
shared/benchmarks/wikiqa-dev is beside the repository, WikiQA dev pooled (126 real search questions over
1,119 Wikipedia sentences; k = 10 as in its README). "plain rank-bm25" is BM25Okapi over sentences
with stopwords removed and no stemming, always answering.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rank_bm25 import BM25Okapi

from index.analysis import STOPWORDS, tokens
from index.corpus import Corpus, CorpusConfig
from index.decision import DecisionSettings
from index.evaluate import GoldQuestion, evaluate, load_gold
from index.models import Found, Hit
from index.search import Searcher, SearchSettings
from index.synonyms import Synonyms

ROOT = Path(__file__).resolve().parent.parent
WIKIQA = ROOT.parent / "shared" / "benchmarks" / "wikiqa-dev" / "WikiQA-dev.tsv"
NEVER = DecisionSettings(  # answer every question, with confidence
    transformer_off_topic=-1.0, transformer_confident=-1.0, static_off_topic=-1.0, static_confident=-1.0, off_topic_coverage=-1.0, min_coverage=0.0
)
Search = Callable[[str, int], Found]


def plain_bm25(corpus: Corpus) -> Search:
    passages = list(corpus.store.iter_passages())
    sources = corpus.store.sources()
    bm25 = BM25Okapi([[t for t in tokens(p.text) if t not in STOPWORDS] for p in passages])

    def search(question: str, k: int) -> Found:
        scores = bm25.get_scores([t for t in tokens(question) if t not in STOPWORDS])
        best = sorted(range(len(passages)), key=lambda i: -scores[i])[:k]
        return Found(tuple(Hit(passages[i], sources[passages[i].article_id], float(scores[i])) for i in best))

    return search


def variants(corpus: Corpus) -> list[tuple[str, Search]]:
    base = corpus.searcher
    default = SearchSettings()
    never = replace(default, decision=NEVER)

    def make(
        settings: SearchSettings, semantic: bool = True, synonyms: Synonyms | None = None, names: bool = True, deep: bool = True
    ) -> Search:
        searcher = Searcher(
            corpus.store, base.engine, corpus.analyzer, synonyms or corpus.synonyms, settings,
            corpus.embedder if semantic else None, base.dense if semantic else None, corpus.deep if deep else None,
        )
        if not names:
            searcher.lexicon.has_unknown_name = lambda question: False  # type: ignore[method-assign]

        def search(question: str, k: int) -> Found:
            result = searcher.search(question, k)
            return Found(result.hits, result.confident)

        return search

    return [
        ("plain rank-bm25 (BM25Okapi, stopwords, no stemming)", plain_bm25(corpus)),
        ("BM25 + rules, its decision (QUOTEBOT_SEMANTIC=off)", make(default, semantic=False)),
        ("BM25 + rules, never declining", make(never, semantic=False)),
        ("transformer only, never declining", make(never.changed(order__transformer_weight=1.0))),
        ("static hybrid, never declining", make(never, deep=False)),
        ("static hybrid, its decision (QUOTEBOT_RERANK=off)", make(default, deep=False)),
        ("transformer re-ranking, never declining", make(never)),
        ("transformer re-ranking, its decision (default)", make(default)),
        ("  without the unknown-name rule", make(default, names=False)),
        ("  without restatement penalty", make(default.changed(order__restatement_penalty=1))),
        ("  without the answer-kind preference", make(default.changed(order__answer_kind_penalty=0))),
        ("  without the closest candidate's article", make(default.changed(candidates__article_reach=0))),
        ("  without synonyms", make(default, synonyms=Synonyms.none())),
        ("  static hybrid without the word-order preference", make(default.changed(order__word_order_weight=0), deep=False)),
        ("  static hybrid at RRF k = 60", make(default.changed(order__rrf_k=60), deep=False)),
    ]


def table(name: str, gold: list[GoldQuestion], corpus: Corpus, k: int) -> str:
    lines = [
        f"**{name}** ({len(gold)} questions, k = {k})",
        "",
        f"| setup | P@1 | MRR@{k} | nDCG@{k} | answerable declined | unanswerable declined | answerable unsure |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, search in variants(corpus):
        o = evaluate(gold, search, k).overall
        cells = [o.p_at_1, o.mrr, o.ndcg, o.wrongly_declined, o.correctly_declined, o.answerable_unsure]
        lines.append(f"| {label} | " + " | ".join("–" if c != c else f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def open_corpus(folder: Path, db: Path) -> Corpus:
    corpus = Corpus.open(CorpusConfig(folder=folder, db_path=db))
    corpus.index()
    return corpus


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        news = open_corpus(ROOT / "data", Path(tmp) / "news.db")
        for name in ("dev", "test", "test-new"):
            print(table(f"eval/{name}.jsonl", load_gold(ROOT / "eval" / f"{name}.jsonl"), news, 5), end="\n\n")
        if WIKIQA.exists():
            from wikiqa import convert  # beside this script, which is run as `python bench/ablation.py`

            convert(WIKIQA, Path(tmp) / "wikiqa")
            wiki = open_corpus(Path(tmp) / "wikiqa" / "articles", Path(tmp) / "wiki.db")
            print(table("WikiQA dev, pooled", load_gold(Path(tmp) / "wikiqa" / "gold.jsonl"), wiki, 10), end="\n\n")
            off_topic = [replace(q, answers=(), kind="off-topic") for q in load_gold(Path(tmp) / "wikiqa" / "gold.jsonl")]
            print(table("WikiQA questions asked of the news articles (all off-topic)", off_topic, news, 5))
            wiki.close()
        news.close()


if __name__ == "__main__":
    main()
