"""A searchable corpus: an articles folder, its store, and an engine derived from the store.

`Corpus.index` and `Corpus.refresh` bring the store in line with the folder, writing through a
connection of their own, so questions answered meanwhile (on the reading connection) see only committed
articles and never wait for an ingest. The engine catches up with the store at the first question after
an ingest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from .analysis import ANALYSIS_VERSION, Analyzer
from .deep import DEEP_DIR, DeepEmbedder, load_deep, passage_text
from .engine import BM25Params, Engine, RankBM25Engine, Scope
from .ingest import VECTORS_META, IndexPlan, plan_files, plan_index, run_index
from .models import Found, Hit, IndexReport, Source, UnknownScope, folders_of
from .search import Searcher, SearchResult, SearchSettings
from .semantic import ANN_FROM, MODEL_DIR, DenseIndex, Embedder, VectorIndex, from_blobs, load_embedder, to_blob
from .store import ReadOnlyStore, Store
from .synonyms import Synonyms
from .tantivy_engine import EngineBusy, EngineUnusable, TantivyEngine

if TYPE_CHECKING:  # imported when first needed: faiss takes a tenth of a second to import, and most stores are small
    from .ann import AnnIndex

logger = logging.getLogger(__name__)

ENGINES = ("tantivy", "rank-bm25")
WRITER_CACHE_MB = 256  # room for the passage indexes of a few million sentences while ingesting
FILL_BATCH = 4096  # passages embedded and committed together when filling in missing vectors
DEEP_BATCH = 256  # passages read by the transformer and committed together (about two seconds)
DEEP_META = "deep_vectors"  # the version of the transformer whose vectors the store holds
REFRESH_DEEP_SECONDS = 20.0  # transformer reading per refresh, so that new articles are not kept waiting behind it


class EngineError(ValueError):
    """An unknown engine name."""


class IndexBusy(Exception):
    """Another process is indexing into the same database right now."""


@dataclass(frozen=True)
class CorpusConfig:
    folder: Path
    db_path: Path
    engine: str = "tantivy"
    synonyms: Path | None = None  # None: the articles folder's synonyms.txt if any, else the default
    params: BM25Params = BM25Params()
    search: SearchSettings = SearchSettings()
    semantic: bool = True  # hybrid BM25 + embedding search; falls back to BM25 alone if the model cannot load
    model: Path = MODEL_DIR
    deep: bool = True  # re-rank with the transformer (index/deep.py) once it has read the sentences
    deep_model: Path = DEEP_DIR
    ann_from: int = ANN_FROM  # sentences from which the vector index is approximate and kept on disk


def vectors_folder(db_path: Path) -> Path:
    """Where the approximate vector index of a database lives: beside it."""
    return db_path.with_name(db_path.name + ".vectors")


def engine_folder(db_path: Path) -> Path:
    """Where the Tantivy index of a database lives: beside it."""
    return db_path.with_name(db_path.name + ".tantivy")


def lock_file(db_path: Path) -> Path:
    """Held by the one process that is indexing into a database."""
    return db_path.with_name(db_path.name + ".lock")


class Corpus:
    """The articles folder, its store and engine, and a searcher over them."""

    def __init__(self, config: CorpusConfig, store: Store) -> None:
        if config.engine not in ENGINES:
            raise EngineError(f"unknown engine {config.engine!r}; choose one of: {', '.join(ENGINES)}")
        self.config = config
        self.store = store
        self.analyzer = Analyzer()
        synonyms_file = config.synonyms or _local_synonyms(config.folder)
        self.synonyms = Synonyms.load(synonyms_file, self.analyzer)
        self._lock = threading.Lock()  # the searcher and its engine
        self._index_lock = threading.Lock()  # one ingest at a time, on the writing connection
        self._process_lock = FileLock(lock_file(config.db_path))  # and one process at a time
        self._cancel = threading.Event()
        self._search_lock = threading.Lock()  # the reading connection, shared by the bot's threads
        self._writer: Store | None = None
        self._generation = -1
        self._searcher: Searcher | None = None
        self._tantivy: TantivyEngine | None = None
        self._articles: tuple[int, int] | None = None  # (generation, articles)
        self._folders: tuple[int, tuple[str, ...]] | None = None  # (generation, folders with articles)
        self.embedder: Embedder | None = None
        self.semantic_problem: str | None = None  # why semantic search is off although it was asked for
        if config.semantic:
            self.embedder, self.semantic_problem = load_embedder(config.model)
        self.deep: DeepEmbedder | None = None
        if self.embedder is not None and config.deep:
            self.deep, self.semantic_problem = load_deep(config.deep_model)
        self._dense: DenseIndex | AnnIndex | None = None

    @classmethod
    def open(cls, config: CorpusConfig) -> Corpus:
        """Raises StoreError when the database cannot be used, with a one-line message."""
        corpus = cls(config, Store(config.db_path))
        if corpus.store.get_meta("analysis") != ANALYSIS_VERSION:
            if corpus.store.read_only:
                logger.warning("the read-only index was analysed by another version; some words may not match")
            else:
                corpus.store.reanalyse(corpus.analyzer.terms, ANALYSIS_VERSION)
        return corpus

    @property
    def read_only(self) -> bool:
        return self.store.read_only

    def plan(self) -> IndexPlan:
        return plan_index(self.config.folder, self.store)

    @contextmanager
    def _writing(self, wait: bool) -> Iterator[Store]:
        """The writing connection, held by this thread and process alone. IndexBusy if another process holds
        it and `wait` is False; ReadOnlyStore if the index cannot be written."""
        if self.store.read_only:
            raise ReadOnlyStore(f"the index {self.config.db_path} is read-only")
        with self._index_lock:
            try:
                self._process_lock.acquire(timeout=-1 if wait else 0)
            except Timeout:
                raise IndexBusy(f"another quotebot process is indexing into {self.config.db_path}") from None
            try:
                yield self._writing_store()
            finally:
                self._process_lock.release()

    def index_busy(self) -> bool:
        """Whether another process is indexing into this database now."""
        if self.store.read_only:
            return False
        try:
            self._process_lock.acquire(timeout=0)
        except Timeout:
            return True
        self._process_lock.release()
        return False

    def index(
        self,
        on_file: Callable[[Path], None] | None = None,
        *,
        wait: bool = True,
        on_plan: Callable[[IndexPlan], None] | None = None,
        deep: bool = True,
        deep_seconds: float | None = None,
        deep_backlog: int | None = None,
    ) -> IndexReport:
        """Bring the store in line with the folder. The plan is made once this process may write, so a run that
        waited for another one does only what that one left (`on_plan` sees it). Then, if `deep`, the transformer
        reads the sentences it has not read, for at most `deep_seconds` (see `read_deep`)."""
        with self._writing(wait) as writer:
            plan = plan_index(self.config.folder, writer)
            if on_plan:
                on_plan(plan)
            report = run_index(plan, writer, on_file, self.analyzer, embedder=self.embedder, cancelled=self._cancel.is_set)
            self._fill_vectors(writer)
            if deep:
                self._fill_deep(writer, None, deep_seconds, deep_backlog)
            return report

    def read_deep(self, on_progress: Callable[[int, int], None] | None = None) -> None:
        """The transformer reads every sentence it has not read, committing as it goes (`on_progress` sees
        (done, total) after each commit). Questions are answered meanwhile, ranked by the static model where it
        has not read the candidates yet."""
        if self.deep is None:
            return
        with self._writing(wait=True) as writer:
            self._fill_deep(writer, on_progress)

    def stop_indexing(self) -> None:
        """Make a run in progress (in another thread) stop at its next commit, and any later run at its first."""
        self._cancel.set()

    def add(self, paths: list[Path], on_file: Callable[[Path], None] | None = None) -> IndexReport:
        """Ingest the given files, which must already be in the articles folder."""
        with self._writing(wait=True) as writer:
            report = run_index(plan_files(self.config.folder, writer, paths), writer, on_file, self.analyzer, embedder=self.embedder)
            self._fill_vectors(writer)
            self._fill_deep(writer)
            return report

    def vectors_missing(self) -> bool:
        """Semantic search is on but some stored passages have no vector from this model yet."""
        return self.embedder is not None and self.store.get_meta(VECTORS_META) != self.embedder.version

    def _fill_vectors(self, writer: Store) -> None:
        """Embed the passages that have no vector (stored by a run without the model, or an older store)."""
        embedder = self.embedder
        if embedder is None or writer.get_meta(VECTORS_META) == embedder.version:
            return
        if writer.get_meta(VECTORS_META):  # vectors of another model: all of them are redone
            writer.clear_vectors()
        while batch := writer.without_vectors(FILL_BATCH):
            vectors = embedder.embed([text for _, _, text in batch])
            writer.set_vectors([(pid, article, to_blob(v)) for (pid, article, _), v in zip(batch, vectors, strict=True)])
        writer.set_meta(VECTORS_META, embedder.version)

    def deep_missing(self) -> tuple[int, int] | None:
        """(sentences the transformer has read, sentences) while it has not read them all; None once it has, or when it is off."""
        if self.deep is None:
            return None
        with self._search_lock:
            if self.store.get_meta(DEEP_META) != self.deep.version:
                return 0, self.store.counts()[1]
            done, total = self.store.deep_vector_counts()
        return (done, total) if done < total else None

    def _fill_deep(
        self, writer: Store, on_progress: Callable[[int, int], None] | None = None, seconds: float | None = None, backlog: int | None = None
    ) -> None:
        """The transformer reads each passage (headed by its article's title) that it has not read, committing every
        DEEP_BATCH: an interrupted run keeps what it committed. Stops after `seconds`, or when asked to stop; does
        nothing if more than `backlog` passages are left to read."""
        deep = self.deep
        if deep is None:
            return
        if writer.get_meta(DEEP_META) != deep.version:  # none yet, or another model's
            writer.clear_deep_vectors()
            writer.set_meta(DEEP_META, deep.version)
        done, total = writer.deep_vector_counts()
        if done >= total or (backlog is not None and total - done > backlog):
            return
        deadline = None if seconds is None else time.monotonic() + seconds
        after = writer.last_deep_vector()  # every passage up to it is read
        while not self._cancel.is_set() and (batch := writer.without_deep_vectors(DEEP_BATCH, after)):
            vectors = deep.embed([passage_text(title, text) for _, title, text in batch])
            writer.set_deep_vectors([(pid, to_blob(v)) for (pid, _, _), v in zip(batch, vectors, strict=True)])
            after = batch[-1][0]
            done += len(batch)
            if on_progress:
                on_progress(done, total)
            if deadline is not None and time.monotonic() > deadline:
                return

    def _writing_store(self) -> Store:
        if self._writer is None:
            self._writer = Store(self.config.db_path, cache_mb=WRITER_CACHE_MB)
        return self._writer

    def refresh(self, deep_seconds: float = REFRESH_DEEP_SECONDS, deep_backlog: int | None = None) -> IndexReport | None:
        """Index the folder if any article changed, and let the transformer read for up to `deep_seconds` (only if
        it has at most `deep_backlog` sentences left, when that is given). Returns the report, or None if there
        was nothing to do.

        Never waits for another process's index run (IndexBusy): what it has committed is already served.
        """
        if self.store.read_only:
            return None
        plan = self.plan()
        unread = self.deep_missing()
        if unread is not None and deep_backlog is not None and unread[1] - unread[0] > deep_backlog:
            unread = None  # too much to read now: `quotebot index` or a running bot does it
        if plan.is_empty and not self.vectors_missing() and unread is None:
            return None
        return self.index(wait=False, deep=unread is not None or not plan.is_empty, deep_seconds=deep_seconds, deep_backlog=deep_backlog)

    @property
    def searcher(self) -> Searcher:
        """A searcher over the latest committed store: the engine catches up after changes.

        While this corpus is ingesting, the searcher it had keeps serving; it catches up afterwards.
        """
        with self._search_lock:
            generation = self.store.generation
        with self._lock:
            current = self._searcher is not None and generation == self._generation
            if current or (self._searcher is not None and self._index_lock.locked()):
                return self._searcher  # type: ignore[return-value]
            engine, synced = self._current_engine()
            dense = self._current_dense()
            self._searcher = Searcher(
                self.store, engine, self.analyzer, self.synonyms, self.config.search, self.embedder, dense, self.deep
            )
            self._generation = generation if synced else -1  # not synced: try again at the next question
            return self._searcher

    def sync_engine(self) -> None:
        """Bring the search engine's index on disk up to date with the store now, rather than at the first question,
        and the approximate vector index when there is one. (An exact, in-memory vector index is read by the
        process that answers, when it first answers.)"""
        with self._lock:
            self._current_engine()
            if self.embedder is not None and self.store.counts()[1] >= self.config.ann_from:
                if self._writer is not None:  # the writer's page cache is not needed while the vectors are indexed
                    self._writer.db.execute("PRAGMA shrink_memory")
                self._current_dense()

    def _current_engine(self) -> tuple[Engine, bool]:
        """The engine, caught up with the store if it could be; and whether it was."""
        with self._search_lock:
            if self.config.engine == "rank-bm25":
                return self._rank_bm25(), True
            if self.store.read_only:
                return self._engine_as_it_is(stale_ok=False), True
            try:  # the engine is written by one process at a time, as the store is
                self._process_lock.acquire(timeout=0)
            except Timeout:
                return self._engine_as_it_is(stale_ok=True), False
            try:
                if self._tantivy is None:
                    self._tantivy = TantivyEngine(engine_folder(self.config.db_path))
                self._tantivy.reopen_if_written_elsewhere()
                self._tantivy.sync(self.store)
            except EngineBusy:
                logger.info("the engine index is being written by another process; serving its last commit")
                self._tantivy.reload()
                return self._tantivy, False
            finally:
                self._process_lock.release()
            return self._tantivy, True

    def _rank_bm25(self) -> RankBM25Engine:
        docs = ((pid, terms.split(), article_id) for pid, article_id, terms in self.store.iter_terms())
        return RankBM25Engine(docs, self.config.params)

    def _engine_as_it_is(self, stale_ok: bool) -> Engine:
        """The engine index as it is on disk, for a process that may not write it: on read-only storage it must
        match the store (`stale_ok` False); while another process indexes, its last commit will do. Otherwise, or
        if there is none, an in-memory engine built from the store."""
        try:
            if self._tantivy is None:
                self._tantivy = TantivyEngine(engine_folder(self.config.db_path), read_only=True)
            self._tantivy.reload()
        except (EngineUnusable, ValueError, OSError) as error:
            logger.warning("%s; searching an in-memory index of the store instead", error)
            self._tantivy = None
            return self._rank_bm25()
        generation = self._tantivy.generation
        if generation < 0 or (not stale_ok and generation != self.store.generation):
            logger.info("the engine index is behind the store; searching an in-memory index of the store instead")
            return self._rank_bm25()
        return self._tantivy

    def _current_dense(self) -> VectorIndex | None:
        """The vector index, caught up with the store from its change log: exact and in memory for up to
        ANN_FROM sentences, approximate and on disk (index/ann.py) past that."""
        if self.embedder is None:
            return None
        with self._search_lock:
            if self.store.counts()[1] >= self.config.ann_from:
                return self._current_ann()
            if not isinstance(self._dense, DenseIndex):
                self._dense = DenseIndex(self.embedder.dims)
                generation = self.store.generation
                self._dense.load(self.store.iter_vectors(), self.store.counts()[1], generation)
            else:
                generation, changed = self.store.changes_since(self._dense.generation)
                if generation != self._dense.generation:
                    self._dense.replace(changed, list(self.store.iter_vectors(changed)), generation)
            return self._dense

    def _current_ann(self) -> AnnIndex:
        """The approximate vector index: opened from its folder, or built from the store; then caught up, and
        written back when enough changed and this process may write (as the Tantivy index)."""
        from .ann import TRAIN_SAMPLE, AnnIndex

        assert self.embedder is not None
        ann = self._dense if isinstance(self._dense, AnnIndex) else None
        folder = vectors_folder(self.config.db_path)
        if ann is None:
            self._dense = None  # the exact index's memory goes before the approximate one is built
            ann = AnnIndex(self.embedder.dims, self.embedder.version, self.store.vectors)
            if not ann.open(folder):
                logger.info("building the approximate vector index of %d sentences", self.store.counts()[1])
                generation = self.store.generation
                sample = from_blobs(self.store.sample_vectors(TRAIN_SAMPLE), self.embedder.dims)
                ann.build(sample, self.store.iter_vectors(), generation)
        generation, changed = self.store.changes_since(ann.generation)
        if generation != ann.generation:
            ann.replace(changed, self.store.iter_vectors(changed), generation)
        self._dense = ann
        if ann.needs_saving and not self.store.read_only:
            try:
                self._process_lock.acquire(timeout=0)
            except Timeout:
                return ann  # another process is indexing; its own run writes the folder
            try:
                ann.save(folder)
            except OSError as error:
                logger.warning("could not write the vector index to %s (%s); it is caught up again at the next start", folder, error)
            finally:
                self._process_lock.release()
        return ann

    def search(self, question: str, k: int, context: int = 0, scope: Scope = ()) -> tuple[Hit, ...]:
        return self.ask(question, k, context, scope).hits

    def find(self, question: str, k: int, context: int = 0, scope: Scope = ()) -> Found:
        """Hits, and whether they are likely to answer the question."""
        result = self.ask(question, k, context, scope)
        return Found(result.hits, confident=result.confident)

    def ask(self, question: str, k: int, context: int = 0, scope: Scope = ()) -> SearchResult:
        """The best k sentences, from the articles inside the scope's folders (all, if it is empty).
        UnknownScope if the archive has no such folder."""
        scope = self.resolve_scope(scope)
        searcher = self.searcher
        with self._search_lock:  # one SQLite connection, shared by the bot's threads
            return searcher.search(question, k, context, scope)

    def scopes(self) -> tuple[str, ...]:
        """The folders of the archive that hold indexed articles, at any depth: what a question can be scoped to."""
        with self._search_lock:
            generation = self.store.generation
            if self._folders is None or self._folders[0] != generation:
                folders = {folder for aid in self.store.article_ids() for folder in folders_of(aid)}
                self._folders = (generation, tuple(sorted(folders)))
            return self._folders[1]

    def resolve_scope(self, scope: Scope) -> Scope:
        """The scope's folders as the archive names them ('Sport/' -> 'sport'). UnknownScope if one is not there."""
        if not scope:
            return ()
        known = self.scopes()
        by_name = {name.casefold(): name for name in known}
        wanted = [folder.strip().strip("/").removeprefix("./") for folder in scope]
        unknown = tuple(folder for folder in wanted if folder.casefold() not in by_name)
        if unknown:
            raise UnknownScope(unknown, known)
        return tuple(sorted({by_name[folder.casefold()] for folder in wanted}))

    def duplicate_files(self) -> dict[str, str]:
        """Files holding a story already filed under another name: each -> that first file."""
        with self._search_lock:
            return self.store.duplicate_files()

    def sources(self) -> list[tuple[Source, int]]:
        """Every indexed article with its number of sentences."""
        return [(a.source, a.sentences) for a in self.store.articles().values()]

    def article_count(self) -> int:
        """How many articles are indexed; counted again only after a change (it is asked with every question)."""
        with self._search_lock:
            generation = self.store.generation
            if self._articles is None or self._articles[0] != generation:
                self._articles = (generation, self.store.article_count())
            return self._articles[1]

    def close(self) -> None:
        self.store.close()
        if self._writer is not None:
            self._writer.close()


def _local_synonyms(folder: Path) -> Path | None:
    path = folder / "synonyms.txt"
    return path if path.is_file() else None
