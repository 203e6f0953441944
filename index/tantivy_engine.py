"""The default engine: Tantivy, a persistent inverted index with top-k pruning, derived from the store.

The index lives in a folder beside the database and is opened in milliseconds. It holds one
document per passage: the passage id (a fast field), its article (to delete by), and its analysed
terms, indexed as they are (whitespace tokenizer), so Tantivy scores exactly the terms quotebot's
Analyzer produced. Scoring is Tantivy's BM25 (Lucene's formula, k1 = 1.2, b = 0.75).

`sync` brings the index up to the store's generation from the store's change log: every article
changed since the last sync is deleted and re-added, in one Tantivy commit. Tantivy commits are
atomic, and the generation is recorded after the commit, so a sync killed at any point is simply
redone (deleting and re-adding an article twice changes nothing). Readers keep the last commit.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import tantivy

from .engine import Scope
from .models import folders_of
from .store import Store

logger = logging.getLogger(__name__)

FORMAT = 2  # bump when the schema or the analysis changes: the index is then rebuilt
STATE_FILE = "quotebot-engine.json"
WRITER_HEAP = 128 * 1024 * 1024
LENGTH_SAMPLE = 2000


class EngineBusy(RuntimeError):
    """Another process is writing the engine index; the current one keeps serving."""


class EngineUnusable(RuntimeError):
    """A read-only engine index that is missing or damaged."""


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("pid", stored=False, indexed=True, fast=True)
    builder.add_text_field("article", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("folder", stored=False, tokenizer_name="raw", index_option="basic")  # each folder it is in
    builder.add_text_field("terms", stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


class TantivyEngine:
    name = "tantivy"

    def __init__(self, folder: Path, read_only: bool = False) -> None:
        """Open the index in `folder`; one that is missing, of another format or damaged is started afresh
        (the next sync rebuilds it from the store). `read_only`: open as it is, or raise EngineUnusable."""
        self.folder = folder
        self.schema = _schema()
        state = self._read_state()
        opened = None
        if state.get("format") == FORMAT and tantivy.Index.exists(str(folder)):
            try:
                opened = tantivy.Index.open(str(folder))
                self.searcher = opened.searcher()
            except (ValueError, OSError) as error:
                logger.warning("the search engine index in %s is damaged (%s); rebuilding it from the store", folder, error)
                opened = None
        if opened is None:
            if read_only:
                raise EngineUnusable(f"no usable search engine index in {folder}")
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
            state = {"format": FORMAT, "generation": -1, "avg_length": 0.0}
            opened = tantivy.Index(self.schema, path=str(folder))
        self.index = opened
        self.generation: int = int(state["generation"])  # type: ignore[call-overload]
        self._avg_length = float(state["avg_length"])  # type: ignore[arg-type]
        self.searcher = self.index.searcher()

    # -- reading ---------------------------------------------------------------------------

    @property
    def doc_count(self) -> int:
        return int(self.searcher.num_docs)

    @property
    def avg_length(self) -> float:
        return self._avg_length

    def doc_freq(self, term: str) -> int:
        return int(self.searcher.doc_freq("terms", term))

    def search(self, query: Mapping[str, float], k: int, scope: Scope = ()) -> list[tuple[int, float]]:
        Query, Occur = tantivy.Query, tantivy.Occur
        clauses = [
            (Occur.Should, Query.boost_query(Query.term_query(self.schema, "terms", term), weight))
            for term, weight in query.items()
            if weight > 0
        ]
        if not clauses or not self.doc_count:
            return []
        search = Query.boolean_query(clauses)
        if scope:  # a filter inside the query, so that the top k are all inside the scope; it adds nothing to scores
            inside = Query.const_score_query(Query.term_set_query(self.schema, "folder", list(scope)), 0.0)
            search = Query.boolean_query([(Occur.Must, search), (Occur.Must, inside)])
        hits = self.searcher.search(search, k).hits
        ids = self.searcher.fast_field_values("pid", [address for _, address in hits])
        return [(int(pid), float(score)) for (score, _), pid in zip(hits, ids) if pid is not None]

    # -- writing ---------------------------------------------------------------------------

    def sync(self, store: Store) -> bool:
        """Catch up with the store. Returns True if anything changed. Raises EngineBusy if locked."""
        if self.generation < 0:
            generation, articles = store.changes_since(-1)
            articles = set(store.sources())
            rebuild = True
        else:
            generation, articles = store.changes_since(self.generation)
            rebuild = False
        if generation == self.generation:
            return False
        try:
            writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=min(os.cpu_count() or 1, 4) if rebuild else 1)
        except ValueError as error:  # the lock file of another writer
            raise EngineBusy(str(error)) from error
        try:
            if rebuild:
                writer.delete_all_documents()
            else:
                for article_id in sorted(articles):
                    writer.delete_documents_by_term("article", article_id)
            add, document = writer.add_document, tantivy.Document
            for pid, article_id, terms in store.iter_terms(None if rebuild else articles):
                add(document(pid=pid, article=article_id, folder=list(folders_of(article_id)), terms=terms))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        if rebuild or len(articles) * 50 > max(self.doc_count, 1) or not self._avg_length:
            self._avg_length = self._sample_length(store)  # a few changed articles barely move the mean
        self.generation = generation
        self._write_state()
        self.reload()
        return True

    def reopen_if_written_elsewhere(self) -> None:
        """Open the index afresh if another process committed to it since this one opened it: a writer made
        from a stale view would miss segments the other one merged away."""
        state = self._read_state()
        if state.get("format") == FORMAT and int(state.get("generation", -1)) != self.generation:  # type: ignore[call-overload]
            self.index = tantivy.Index.open(str(self.folder))
            self.reload()

    def reload(self) -> None:
        """See the latest commit, and the generation it reflects, including another process's."""
        self.index.reload()
        self.searcher = self.index.searcher()
        state = self._read_state()
        if state.get("format") == FORMAT:
            self.generation = int(state["generation"])
            self._avg_length = float(state["avg_length"])

    def _sample_length(self, store: Store) -> float:
        sample = store.sample_passages(LENGTH_SAMPLE)
        return sum(len(p.terms.split()) for p in sample) / len(sample) if sample else 0.0

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self) -> None:
        state = {"format": FORMAT, "generation": self.generation, "avg_length": self._avg_length}
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".state-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / STATE_FILE)
