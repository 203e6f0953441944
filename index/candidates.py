"""Stage 1 of answering: the sentences that might answer a question, and what is known about each.

The BM25 engine's best sentences for the question's words (and synonyms) are pooled with the static
model's nearest sentences in meaning. Each candidate is matched word by word (`Lexicon.match`) and, where
the transformer has read the candidates (index/deep.py), given its cosine to the question, and the rest of
the closest candidate's article joins them; otherwise each gets the static model's cosine. The transformer
reads the question on a thread of its own while the engines search.
Stage 2 (index/order.py) puts the candidates in order; stage 3 (index/decision.py) decides whether to answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .deep import DeepEmbedder, passage_text
from .engine import Engine, Scope
from .lexical import Lexicon, Match, Query
from .models import Passage
from .semantic import Embedder, VectorIndex, from_blobs, to_blob
from .store import Store

Model = Literal["transformer", "static"]


@dataclass(frozen=True)
class CandidateSettings:
    """Budgets, set for speed rather than fitted: neither changes P@1 on any dev or held-out set between
    30 and 100 candidates (bench/tune.py's sets)."""

    pool: int = 60  # sentences taken from each of the engine and the static model's nearest
    read_on_the_fly: int = 8  # candidates the transformer has not stored a vector for, read while answering; more: static
    # With the transformer, the sentences of the closest candidate's article, this many either side of it, join the
    # candidates: a news story's answer often follows the sentence that names the topic, in words of its own
    # ("But the wildcard entry was dispatched by ..."). A story, not a whole book.
    article_reach: int = 25


@dataclass(frozen=True)
class Candidates:
    query: Query  # and what follows: each candidate's, by passage id
    passages: Mapping[int, Passage]
    matches: Mapping[int, Match]  # every candidate's
    lexical_order: tuple[int, ...]  # the engine's candidates, best BM25 match first
    dense_order: tuple[int, ...]  # the static model's nearest, nearest first
    cosines: Mapping[int, float]  # to the question, by `model`
    model: Model | None  # whose cosines; None: BM25 alone, no vectors
    unknown_name: bool  # the question names something the articles never mention

    @property
    def best_cosine(self) -> float:
        return max(self.cosines.values(), default=0.0)


class Gatherer:
    """Finds the candidates for a question. Without `embedder` and `dense`, BM25 alone."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        lexicon: Lexicon,
        embedder: Embedder | None = None,
        dense: VectorIndex | None = None,
        deep: DeepEmbedder | None = None,
        settings: CandidateSettings = CandidateSettings(),
    ) -> None:
        self.store = store
        self.engine = engine
        self.lexicon = lexicon
        self.embedder = embedder
        self.dense = dense if embedder is not None else None
        self.deep = deep if self.dense is not None else None
        self.settings = settings

    def gather(self, question: str, scope: Scope = ()) -> Candidates:
        asked = self.deep.embed_meanwhile([question]) if self.deep is not None else None
        query = self.lexicon.analyse(question)
        found = [pid for pid, _ in self.engine.search(query.terms, self.settings.pool, scope)] if query.terms else []
        nearest: list[tuple[int, float]] = []
        if self.dense is not None and self.embedder is not None:
            vector = self.embedder.embed([question])[0]
            nearest = self.dense.search(vector, self.settings.pool, scope)
        passages = self.store.passages(list(dict.fromkeys(found + [pid for pid, _ in nearest])))
        matches = {pid: self.lexicon.match(query, passage) for pid, passage in passages.items()}
        lexical_order = tuple(sorted((pid for pid in found if pid in passages), key=lambda pid: (-matches[pid].score, pid)))
        model: Model | None = None
        cosines: dict[int, float] = {}
        if self.dense is not None and passages:
            read = self._transformer_cosines(asked, passages) if asked is not None else None
            if read is not None:
                model, cosines = "transformer", read
                mates = self._article_mates(asked, passages, cosines)
                passages.update((pid, passage) for pid, (passage, _) in mates.items())
                cosines.update((pid, cosine) for pid, (_, cosine) in mates.items())
                matches.update((pid, self.lexicon.match(query, passage)) for pid, (passage, _) in mates.items())
            else:
                model, cosines = "static", dict(nearest)
                cosines.update(self.dense.similarity(vector, [pid for pid in found if pid not in cosines]))
        return Candidates(
            query=query,
            passages=passages,
            matches=matches,
            lexical_order=lexical_order,
            dense_order=tuple(pid for pid, _ in nearest if pid in passages),
            cosines=cosines,
            model=model,
            unknown_name=self.lexicon.has_unknown_name(question),
        )

    def _article_mates(self, asked, passages: Mapping[int, Passage], cosines: Mapping[int, float]) -> dict[int, tuple[Passage, float]]:  # type: ignore[no-untyped-def]
        """The sentences around the closest candidate in its article that are not candidates yet and that the
        transformer has read, with their cosines to the question."""
        assert self.deep is not None
        reach = self.settings.article_reach
        if not reach or not cosines:
            return {}
        top = passages[max(cosines, key=lambda pid: (cosines[pid], -pid))]
        before, after = self.store.neighbours(top, reach, reach)
        others = {p.id: p for p in (*before, *after) if p.id not in passages}
        cosines = self._cosines(self.store.deep_vectors(list(others)), asked)
        return {pid: (others[pid], cosine) for pid, cosine in cosines.items()}

    def _transformer_cosines(self, asked, passages: Mapping[int, Passage]) -> dict[int, float] | None:  # type: ignore[no-untyped-def]
        """Each candidate's cosine to the question by the transformer (`asked`: the question, being read); None
        if it has read too few of them."""
        assert self.deep is not None
        stored = self.store.deep_vectors(list(passages))
        missing = [pid for pid in passages if pid not in stored]
        if len(missing) > self.settings.read_on_the_fly:
            return None
        if missing:  # added since the transformer last read the store: read now, not kept
            titles = {aid: source.title for aid, source in self.store.sources({passages[pid].article_id for pid in missing}).items()}
            vectors = self.deep.embed([passage_text(titles.get(passages[pid].article_id), passages[pid].text) for pid in missing])
            stored.update((pid, to_blob(v)) for pid, v in zip(missing, vectors, strict=True))
        return self._cosines(stored, asked)

    def _cosines(self, stored: Mapping[int, bytes], asked) -> dict[int, float]:  # type: ignore[no-untyped-def]
        """Each stored transformer vector's cosine to the question (`asked`: its vector, being read)."""
        assert self.deep is not None
        if not stored:
            return {}
        question: np.ndarray = asked.result()[0]
        scores = from_blobs(list(stored.values()), self.deep.dims) @ question
        return {pid: float(score) for pid, score in zip(stored, scores, strict=True)}
