"""BM25 engines behind one small interface. An engine is derived from the store, never the record.

Both sides speak analysed terms: the engine gets each passage's terms at build time and a
mapping of query term -> weight at search time. Scores use Lucene's BM25:

    score(d, q) = sum over t in q of  w(t) * idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

This IDF is always positive. rank-bm25's BM25Okapi instead floors the IDF of any term found in
more than half of the documents to a small constant; on a one-topic corpus (every sentence is
about North Korea) that makes 'korea' weigh less than 'north', and common words outweigh rare ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from rank_bm25 import BM25Okapi

from .models import in_scope

Scope = tuple[str, ...]  # folders of the archive, relative to it; empty: all of it


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.2
    b: float = 0.75


class Engine(Protocol):
    """What search needs from a BM25 engine."""

    name: str

    @property
    def doc_count(self) -> int: ...

    @property
    def avg_length(self) -> float:
        """Mean number of terms per passage."""
        ...

    def doc_freq(self, term: str) -> int: ...

    def search(self, query: Mapping[str, float], k: int, scope: Scope = ()) -> list[tuple[int, float]]:
        """Up to k (passage id, score) pairs, best first; only passages matching some term, and only of articles
        inside the scope's folders (all articles when it is empty). Scores do not depend on the scope."""
        ...


def lucene_idf(doc_count: int, doc_freq: int) -> float:
    return math.log(1 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


class _LuceneIdfBM25(BM25Okapi):  # type: ignore[misc]
    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {term: lucene_idf(self.corpus_size, df) for term, df in nd.items()}


class RankBM25Engine:
    """rank-bm25, in memory, rebuilt from the store at start. Simple and slow at scale."""

    name = "rank-bm25"

    def __init__(self, docs: Iterable[tuple[int, list[str], str]], params: BM25Params = BM25Params()) -> None:
        """`docs`: (passage id, analysed terms, article id) of every passage."""
        ids: list[int] = []
        corpus: list[list[str]] = []
        articles: list[str] = []
        for passage_id, terms, article_id in docs:
            ids.append(passage_id)
            corpus.append(terms)
            articles.append(article_id)
        self.params = params
        self._ids = np.array(ids, dtype=np.int64)
        self._articles = articles
        self._scopes: dict[Scope, np.ndarray] = {}  # scope -> which passages are inside it
        self._df: Counter[str] = Counter()
        for terms in corpus:
            self._df.update(set(terms))
        self._bm25 = _LuceneIdfBM25(corpus, k1=params.k1, b=params.b) if corpus else None

    @property
    def doc_count(self) -> int:
        return len(self._ids)

    @property
    def avg_length(self) -> float:
        return float(self._bm25.avgdl) if self._bm25 else 0.0

    def doc_freq(self, term: str) -> int:
        return self._df.get(term, 0)

    def search(self, query: Mapping[str, float], k: int, scope: Scope = ()) -> list[tuple[int, float]]:
        terms = {t: w for t, w in query.items() if self._df.get(t)}
        if self._bm25 is None or not terms:
            return []
        scores = np.zeros(len(self._ids))
        for term, weight in terms.items():
            scores += weight * self._bm25.get_scores([term])
        if scope:
            scores[~self._inside(scope)] = 0.0
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(self._ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def _inside(self, scope: Scope) -> np.ndarray:
        if scope not in self._scopes:
            self._scopes[scope] = np.array([in_scope(a, scope) for a in self._articles], dtype=bool)
        return self._scopes[scope]
