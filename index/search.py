"""Question -> candidates -> order -> decision -> de-duplicated hits with their sources.

Answering runs in three stages, each in its own module with its own small settings:
1. candidates (index/candidates.py): the BM25 engine's best sentences for the question's words, pooled with
   the static model's nearest in meaning, each matched word by word and given its cosine to the question
   (the transformer's where it has read them, else the static model's);
2. order (index/order.py): one fused score per candidate;
3. decision (index/decision.py): answer, answer marked unsure, or decline.
Then syndicated copies collapse into one hit listing the other sources (`Searcher.hits`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .analysis import Analyzer
from .candidates import CandidateSettings, Gatherer
from .decision import DecisionSettings, Evidence, Verdict, decide
from .deep import DeepEmbedder
from .engine import Engine, Scope
from .lexical import LexicalSettings, Lexicon, Query
from .models import Hit, Passage, Source, in_scope
from .order import OrderSettings, order
from .semantic import Embedder, VectorIndex
from .store import Store
from .synonyms import Synonyms


@dataclass(frozen=True)
class SearchSettings:
    """Each stage's settings."""

    lexical: LexicalSettings = LexicalSettings()
    candidates: CandidateSettings = CandidateSettings()
    order: OrderSettings = OrderSettings()
    decision: DecisionSettings = DecisionSettings()

    def changed(self, **changes: float) -> SearchSettings:
        """These settings with some of their stages' fields changed: `order__rrf_k=60` sets the order stage's."""
        settings = self
        for key, value in changes.items():
            stage, name = key.split("__")
            settings = replace(settings, **{stage: replace(getattr(settings, stage), **{name: value})})
        return settings


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    query: Query
    verdict: Verdict = "answer"  # "unsure": on topic, but the best sentences may not answer the question
    evidence: Evidence | None = None  # with vectors

    @property
    def confident(self) -> bool:
        return self.verdict == "answer"


class Searcher:
    """Answers questions from a store and an engine built from it (and, with semantic search on, the models)."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        analyzer: Analyzer | None = None,
        synonyms: Synonyms | None = None,
        settings: SearchSettings = SearchSettings(),
        embedder: Embedder | None = None,
        dense: VectorIndex | None = None,
        deep: DeepEmbedder | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        analyzer = analyzer or Analyzer()
        synonyms = synonyms if synonyms is not None else Synonyms.load(None, analyzer)
        self.lexicon = Lexicon(engine, analyzer, synonyms, settings.lexical)
        self.gatherer = Gatherer(store, engine, self.lexicon, embedder, dense, deep, settings.candidates)
        self.dense = self.gatherer.dense  # None: BM25 alone
        self.settings = settings

    def search(self, question: str, k: int = 3, context: int = 0, scope: Scope = ()) -> SearchResult:
        """The best k sentences for a question, from articles inside the scope's folders (all, if it is empty)."""
        candidates = self.gatherer.gather(question, scope)
        ranked = order(question, candidates, self.settings.order)
        decision = decide(candidates, ranked, self.settings.decision)
        hits = self.hits(decision.quoted, k, context, scope) if decision.verdict != "decline" else ()
        return SearchResult(hits, candidates.query, decision.verdict, decision.evidence)

    def hits(self, ranked: list[tuple[float, Passage]], k: int, context: int, scope: Scope = ()) -> tuple[Hit, ...]:
        """The best sentence of each group of copies, up to k, with the other files that carry it.

        A story filed under several names (identical sentences) is quoted from its first file, by name, inside
        the scope; the others are listed as filed-as, never as other outlets reporting it.
        """
        chosen: list[tuple[float, Passage]] = []
        groups: set[int] = set()
        for score, passage in ranked:
            if passage.group_id in groups:
                continue
            groups.add(passage.group_id)
            chosen.append((score, passage))
            if len(chosen) == k:
                break
        members = self.store.group_articles(p.group_id for _, p in chosen)
        mates = self.store.story_mates({p.article_id for _, p in chosen})
        stories = []  # each quote's story: every file holding it
        for i, (score, passage) in enumerate(chosen):
            story = {passage.article_id, *mates.get(passage.article_id, ())}
            first = min(a for a in story if a == passage.article_id or in_scope(a, scope))
            if first != passage.article_id:
                chosen[i] = (score, self.store.group_passage(passage.group_id, first) or passage)
            stories.append(story)
        article_ids = {a for story in stories for a in story} | {a for ids in members.values() for a in ids}
        sources = self.store.sources(article_ids)
        hits = []
        for (score, passage), story in zip(chosen, stories, strict=True):
            source = sources[passage.article_id]
            others = sorted((story | set(members.get(passage.group_id, ()))) - {passage.article_id})
            filed = [sources[a] for a in others if a in sources and (a in story or refiled(source, sources[a]))]
            hit = Hit(
                passage=passage,
                source=source,
                score=round(score, 4),
                also_in=tuple(sources[a] for a in others if a in sources and sources[a] not in filed),
                filed_as=tuple(filed),
            )
            if context:
                before, after = self.store.neighbours(passage, context, context)
                hit = replace(hit, context_before=tuple(before), context_after=tuple(after))
            hits.append(hit)
        return tuple(hits)


def refiled(source: Source, other: Source) -> bool:
    """Whether another file is a version of the same story: same headline and outlet (a re-filed story with a
    sentence changed). It is listed as filed-as, so that the answer never repeats its own headline as another report."""
    if source.title is None or other.title is None:
        return False
    return other.title.casefold() == source.title.casefold() and other.outlet == source.outlet
