"""The system of record: sources and sentence passages in one SQLite file, through sqlite-utils.

Rows become frozen dataclasses here and go no further as dicts. Every change to an article
(its source row and all its passages) is written in one transaction, so a reader never sees
half an article and an interrupted run leaves the last committed state serving.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import sqlite_utils

from .dedupe import block_keys, copy_finder, fingerprint
from .models import Passage, Source

SCHEMA_VERSION = 7  # 2: block keys are hashed to integers; 3: sentence vectors; 4: per-article metadata digest;
# 5: a digest of each article's stored sentences, which is equal for the same story filed under two names;
# 6: the re-ranking model's vectors; 7: answers shown for rating, and their ratings (index/feedback.py)


class StoreError(Exception):
    """The index file cannot be used; the message names the file, the cause and a fix, in one line."""


class ReadOnlyStore(StoreError):
    """A write was asked of a store opened read-only."""


@dataclass(frozen=True)
class FileState:
    """What the store remembers of an article file, to notice when it changes."""

    size: int
    mtime_ns: int
    sha256: str
    metadata_sha: str = ""  # digest of the article's metadata.toml entry, "" when it has none


@dataclass(frozen=True)
class StoredArticle:
    source: Source
    file: FileState
    sentences: int


class NewPassage(NamedTuple):
    """A sentence on its way into the store, with the keys that find its copies in other articles."""

    paragraph: int
    text: str
    terms: str  # the analysed terms, space-separated
    fingerprint: str
    head_key: int
    tail_key: int
    vector: bytes | None = None  # the sentence's embedding (index/semantic.py), if semantic search is on


def new_passage(paragraph: int, text: str, terms: str, vector: bytes | None = None) -> NewPassage:
    key = fingerprint(text)
    return NewPassage(paragraph, text, terms, key, *block_keys(key), vector)


@dataclass(frozen=True)
class Written:
    """What a batch write did: each article's repeated sentences dropped, and the copies that joined a group."""

    repeats: tuple[int, ...]
    copies: int


class Store:
    """Sources and passages in SQLite. Open with a path, or `Store.memory()` for tests.

    A file this process may not write (read-only storage, or permissions) is opened read-only: it can
    be searched, and any write raises ReadOnlyStore. Problems opening it raise StoreError.
    """

    def __init__(self, path: str | Path | None = None, cache_mb: int | None = None) -> None:
        """`cache_mb` sets SQLite's page cache; a writer of many articles wants its indexes to fit in it."""
        self.read_only = False
        if path is None:
            self.db = sqlite_utils.Database(memory=True)
        else:
            self.db, self.read_only = _connect(Path(path))
        if cache_mb and not self.read_only:
            self.db.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")  # negative: in KiB
            # Copy the write-ahead log into the database less often: a page changed by several commits is copied once.
            self.db.execute(f"PRAGMA wal_autocheckpoint={int(cache_mb) * 256 // 4}")  # a quarter of the cache, in 4 KiB pages
        self.db.execute("PRAGMA foreign_keys=ON")
        try:
            self._ensure_schema()
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise StoreError(f"{path} is not a quotebot index ({error}); move it away, or pass --db with another file") from error

    @classmethod
    def memory(cls) -> Store:
        return cls(None)

    def close(self) -> None:
        self.db.close()

    def _ensure_schema(self) -> None:
        if "sources" in self.db.table_names():
            self._migrate()
            return
        if self.read_only:
            raise StoreError("the index file is read-only and empty; run `quotebot index` where it can be written")
        # (the change log lets derived indexes catch up article by article)
        with self.transaction():
            self.db["sources"].create(
                {
                    "id": str,
                    "title": str,
                    "outlet": str,
                    "published": str,
                    "url": str,
                    "size": int,
                    "mtime_ns": int,
                    "sha256": str,
                    "sentences": int,
                    "repeats": int,
                    "metadata_sha": str,
                    "story_sha": str,
                },
                pk="id",
            )
            self.db["sources"].create_index(["story_sha"])
            self.db["passages"].create(
                {
                    "id": int,
                    "article_id": str,
                    "position": int,
                    "paragraph": int,
                    "text": str,
                    "terms": str,
                    "fingerprint": str,
                    "head_hash": int,
                    "tail_hash": int,
                    "group_id": int,
                    "vector": bytes,
                },
                pk="id",
                foreign_keys=[("article_id", "sources", "id")],
            )
            self.db["passages"].create_index(["article_id", "position"], unique=True)
            self.db["passages"].create_index(["group_id"])
            self.db["passages"].create_index(["head_hash"])
            self.db["passages"].create_index(["tail_hash"])
            self.db["changes"].create({"generation": int, "article_id": str}, pk="generation")
            self.db["skipped"].create({"id": str, "size": int, "mtime_ns": int, "reason": str}, pk="id")
            self._create_deep_vectors()
            self._create_feedback()
            self.db["meta"].create({"key": str, "value": str}, pk="key")
            self.db["meta"].insert({"key": "schema_version", "value": str(SCHEMA_VERSION)})
            self.db["meta"].insert({"key": "generation", "value": "0"})
            self.db["meta"].insert({"key": "next_passage_id", "value": "1"})

    def _migrate(self) -> None:
        """Bring a store written by an earlier version up to this schema, in one transaction."""
        version = int(self.get_meta("schema_version") or SCHEMA_VERSION)
        if version >= SCHEMA_VERSION:
            return
        if self.read_only:
            raise StoreError("the index was written by an older quotebot and is read-only; re-index it where it can be written")
        with self.transaction():
            if version < 2:  # block keys were text; they become hashes
                passages = self.db["passages"]
                passages.add_column("head_hash", int)
                passages.add_column("tail_hash", int)
                rows = self.db.execute("select id, fingerprint from passages").fetchall()
                self.db.conn.executemany(
                    "update passages set head_hash = ?, tail_hash = ? where id = ?",
                    [(*block_keys(key), pid) for pid, key in rows],
                )
                for index in ("idx_passages_head_key", "idx_passages_tail_key"):
                    self.db.execute(f"drop index if exists {index}")
                passages.transform(drop={"head_key", "tail_key"})
                passages.create_index(["head_hash"])
                passages.create_index(["tail_hash"])
            if version < 3:  # vectors: filled in by the next index run with semantic search on
                self.db["passages"].add_column("vector", bytes)
            if version < 4:  # articles with metadata are read again once, and from then on only when theirs changes
                self.db["sources"].add_column("metadata_sha", str)
            if version < 5:  # the same story under two file names is found from the stored sentences
                self.db["sources"].add_column("story_sha", str)
                rows = self.db.execute("select article_id, text from passages order by article_id, position").fetchall()
                self.db.conn.executemany(
                    "update sources set story_sha = ? where id = ?",
                    [(story_digest(text for _, text in group), aid) for aid, group in groupby(rows, key=itemgetter(0))],
                )
                self.db["sources"].create_index(["story_sha"])
            if version < 6:
                self._create_deep_vectors()
            if version < 7:
                self._create_feedback()
            self.db.execute("update meta set value = ? where key = 'schema_version'", [str(SCHEMA_VERSION)])

    def _create_deep_vectors(self) -> None:
        """The re-ranking model's vector of each passage, filled in after the passages are searchable (index/deep.py).
        Not part of the change log: they are read per question, by passage id."""
        self.db["deep_vectors"].create({"passage_id": int, "vector": bytes}, pk="passage_id")

    def _create_feedback(self) -> None:
        """Answers shown with rating buttons, and the ratings given to them. Each keeps its own copy of the question
        and of the quotes' text, so that ratings outlive re-indexing (passage ids are not reused, but passages go)."""
        self.db["shown_answers"].create(
            {"id": str, "question": str, "scope": str, "quotes": str, "surface": str, "created": str}, pk="id"
        )
        self.db["shown_answers"].create_index(["created"])
        self.db["feedback"].create(
            {
                "answer_id": str,
                "user_id": str,
                "channel_id": str,
                "question": str,
                "scope": str,
                "quotes": str,
                "vote": str,
                "chosen": int,
                "created": str,
                "version": str,
            },
            pk=("answer_id", "user_id"),  # one rating per user per answer: a second vote replaces the first
        )
        self.db["feedback"].create_index(["created"])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        if self.read_only:
            raise ReadOnlyStore("the index is read-only")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    # -- reads -----------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Grows by one with every committed change; derived indexes compare against it."""
        return int(self.db.execute("select value from meta where key = 'generation'").fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("insert or replace into meta (key, value) values (?, ?)", [key, value])

    def articles(self) -> dict[str, StoredArticle]:
        rows = self.db.execute(
            "select id, title, outlet, published, url, size, mtime_ns, sha256, metadata_sha, sentences from sources order by id"
        ).fetchall()
        return {
            row[0]: StoredArticle(
                source=_source(row[:5]), file=FileState(row[5], row[6], row[7], row[8] or ""), sentences=row[9] or 0
            )
            for row in rows
        }

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        """Each stored article's file (size, mtime_ns) and metadata digest when it was indexed: enough to notice a change."""
        rows = self.db.execute("select id, size, mtime_ns, metadata_sha from sources")
        return {row[0]: (row[1], row[2], row[3] or "") for row in rows}

    def skipped(self) -> dict[str, tuple[int, int, str]]:
        """Files skipped by earlier runs: id -> (size, mtime_ns, reason)."""
        rows = self.db.execute("select id, size, mtime_ns, reason from skipped").fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def set_skipped(self, article_id: str, size: int, mtime_ns: int, reason: str) -> None:
        with self.transaction():
            self.db["skipped"].upsert({"id": article_id, "size": size, "mtime_ns": mtime_ns, "reason": reason}, pk="id")

    def clear_skipped(self, keep: Iterable[str]) -> None:
        """Forget skipped files except those in `keep`."""
        keep = sorted(set(keep))
        with self.transaction():
            self.db.execute(f"delete from skipped where id not in ({_marks(keep)})", keep)

    def sources(self, ids: Iterable[str] | None = None) -> dict[str, Source]:
        sql = "select id, title, outlet, published, url from sources"
        if ids is None:
            rows = self.db.execute(sql + " order by id").fetchall()
        else:
            wanted = sorted(set(ids))
            rows = self.db.execute(sql + f" where id in ({_marks(wanted)})", wanted).fetchall()
        return {row[0]: _source(row) for row in rows}

    def article_ids(self) -> list[str]:
        return [row[0] for row in self.db.execute("select id from sources order by id")]

    def article_count(self) -> int:
        return int(self.db.execute("select count(*) from sources").fetchone()[0])

    def counts(self) -> tuple[int, int]:
        """(articles, passages) in the store."""
        articles = self.db.execute("select count(*) from sources").fetchone()[0]
        passages = self.db.execute("select count(*) from passages").fetchone()[0]
        return articles, passages

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        if not ids:
            return {}
        rows = self.db.execute(f"{_PASSAGE_SQL} where id in ({_marks(ids)})", list(ids)).fetchall()
        return {row[0]: Passage(*row) for row in rows}

    def changes_since(self, generation: int) -> tuple[int, set[str]]:
        """(current generation, articles changed after `generation`), read in one snapshot."""
        conn = self.db.conn
        nested = conn.in_transaction
        if not nested:
            conn.execute("BEGIN")  # a read snapshot: both answers come from the same moment
        try:
            current = self.generation
            rows = self.db.execute("select distinct article_id from changes where generation > ?", [generation]).fetchall()
        finally:
            if not nested:
                conn.commit()
        return current, {row[0] for row in rows}

    def sample_passages(self, limit: int) -> list[Passage]:
        """Up to `limit` passages spread over the store, for statistics."""
        count = self.counts()[1]
        step = max(count // max(limit, 1), 1)
        rows = self.db.execute(f"{_PASSAGE_SQL} where id % ? = 0 limit ?", [step, limit]).fetchall()
        return [Passage(*row) for row in rows] or list(islice(self.iter_passages(), limit))

    def iter_terms(self, article_ids: Iterable[str] | None = None) -> Iterator[tuple[int, str, str]]:
        """(passage id, article id, analysed terms) of every passage, or of the given articles': what engines index."""
        if article_ids is None:
            yield from self.db.conn.execute("select id, article_id, terms from passages order by id")
            return
        for article_id in sorted(set(article_ids)):
            yield from self.db.conn.execute("select id, article_id, terms from passages where article_id = ?", [article_id])

    def iter_vectors(self, article_ids: Iterable[str] | None = None) -> Iterator[tuple[int, str, bytes | None]]:
        """(passage id, article id, stored vector or None) of every passage, or of the given articles'."""
        if article_ids is None:
            yield from self.db.conn.execute("select id, article_id, vector from passages order by id")
            return
        for article_id in sorted(set(article_ids)):
            yield from self.db.conn.execute("select id, article_id, vector from passages where article_id = ?", [article_id])

    def vectors(self, ids: Sequence[int]) -> dict[int, bytes]:
        """The stored vectors of the given passages (those that have one)."""
        return self._blobs("select id, vector from passages where vector is not null and id", ids)

    def _blobs(self, query: str, ids: Sequence[int]) -> dict[int, bytes]:
        """(id, blob) rows of `query`, which ends with the id column to match against `ids`."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        return dict(self.db.execute(f"{query} in ({_marks(wanted)})", wanted).fetchall())

    def sample_vectors(self, limit: int) -> list[bytes]:
        """Up to `limit` stored vectors spread over the store, to learn the approximate index's clusters from."""
        step = max(self.counts()[1] // max(limit, 1), 1)
        rows = self.db.execute("select vector from passages where vector is not null and id % ? = 0 limit ?", [step, limit])
        return [row[0] for row in rows]

    def without_vectors(self, limit: int) -> list[tuple[int, str, str]]:
        """Up to `limit` (passage id, article id, text) of passages that have no vector yet."""
        return self.db.execute("select id, article_id, text from passages where vector is null limit ?", [limit]).fetchall()

    def set_vectors(self, vectors: Sequence[tuple[int, str, bytes]]) -> None:
        """Store (passage id, article id, vector) in one transaction; each article touched counts as changed."""
        with self.transaction():
            self.db.conn.executemany("update passages set vector = ? where id = ?", [(v, pid) for pid, _, v in vectors])
            self._bump_generation(*sorted({article for _, article, _ in vectors}))

    def clear_vectors(self) -> None:
        with self.transaction():
            self.db.execute("update passages set vector = null")

    def deep_vectors(self, ids: Sequence[int]) -> dict[int, bytes]:
        """The re-ranking model's vectors of the given passages (those that have one)."""
        return self._blobs("select passage_id, vector from deep_vectors where passage_id", ids)

    def without_deep_vectors(self, limit: int, after: int = 0) -> list[tuple[int, str, str]]:
        """Up to `limit` (passage id, article title, text) of passages after id `after` without a re-ranking
        vector, in id order."""
        return self.db.execute(
            "select p.id, coalesce(s.title, ''), p.text from passages p join sources s on s.id = p.article_id"
            " where p.id > ? and not exists (select 1 from deep_vectors d where d.passage_id = p.id) order by p.id limit ?",
            [after, limit],
        ).fetchall()

    def last_deep_vector(self) -> int:
        """The highest passage id with a re-ranking vector (0 if none). Passages are read in id order, committed a
        batch at a time, and new ones get higher ids, so every passage at or below it has its vector."""
        return int(self.db.execute("select coalesce(max(passage_id), 0) from deep_vectors").fetchone()[0])

    def deep_vector_counts(self) -> tuple[int, int]:
        """(passages with a re-ranking vector, passages): those up to `last_deep_vector`, counted without reading the
        vectors (a count of their table would read all of them, 0.77 GB at a million sentences)."""
        unread = self.db.execute("select count(*) from passages where id > ?", [self.last_deep_vector()]).fetchone()[0]
        total = self.counts()[1]
        return total - int(unread), total

    def set_deep_vectors(self, vectors: Sequence[tuple[int, bytes]]) -> None:
        """Store (passage id, vector) in one transaction; a passage deleted meanwhile gets none."""
        with self.transaction():
            self.db.conn.executemany(
                "insert or replace into deep_vectors (passage_id, vector) select ?, ? where exists (select 1 from passages where id = ?)",
                [(pid, blob, pid) for pid, blob in vectors],
            )

    def clear_deep_vectors(self) -> None:
        with self.transaction():
            self.db.execute("delete from deep_vectors")

    def iter_passages(self) -> Iterator[Passage]:
        for row in self.db.execute(f"{_PASSAGE_SQL} order by id"):
            yield Passage(*row)

    def neighbours(self, passage: Passage, before: int, after: int) -> tuple[list[Passage], list[Passage]]:
        rows = self.db.execute(
            f"{_PASSAGE_SQL} where article_id = ? and position between ? and ? order by position",
            [passage.article_id, passage.position - before, passage.position + after],
        ).fetchall()
        found = [Passage(*row) for row in rows]
        return (
            [p for p in found if p.position < passage.position],
            [p for p in found if p.position > passage.position],
        )

    def group_articles(self, group_ids: Iterable[int]) -> dict[int, list[str]]:
        """For each group, the articles that hold a copy of its sentence."""
        wanted = sorted(set(group_ids))
        if not wanted:
            return {}
        rows = self.db.execute(
            f"select distinct group_id, article_id from passages where group_id in ({_marks(wanted)}) "
            "order by group_id, article_id",
            wanted,
        ).fetchall()
        groups: dict[int, list[str]] = {}
        for group_id, article_id in rows:
            groups.setdefault(group_id, []).append(article_id)
        return groups

    def story_mates(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """For each given article that shares its story (identical stored sentences) with other files, those files."""
        wanted = sorted(set(article_ids))
        if not wanted:
            return {}
        rows = self.db.execute(
            "select a.id, b.id from sources a join sources b on b.story_sha = a.story_sha and b.id != a.id "
            f"where a.id in ({_marks(wanted)}) order by a.id, b.id",
            wanted,
        ).fetchall()
        mates: dict[str, list[str]] = {}
        for article_id, other in rows:
            mates.setdefault(article_id, []).append(other)
        return mates

    def duplicate_files(self) -> dict[str, str]:
        """Files that hold the same story as another file: each -> the first file (by name) of its story."""
        rows = self.db.execute(
            "select id, first from (select id, min(id) over (partition by story_sha) as first from sources "
            "where story_sha is not null) where id != first order by id"
        ).fetchall()
        return dict(rows)

    def group_passage(self, group_id: int, article_id: str) -> Passage | None:
        """The copy of a group's sentence that an article holds."""
        row = self.db.execute(f"{_PASSAGE_SQL} where group_id = ? and article_id = ? order by position limit 1", [group_id, article_id]).fetchone()
        return Passage(*row) if row else None

    def repeat_count(self) -> int:
        """Sentences repeated within their article and stored once, over all articles."""
        return int(self.db.execute("select coalesce(sum(repeats), 0) from sources").fetchone()[0])

    def group_count(self) -> int:
        """Groups of near-identical sentences found in more than one article."""
        sql = "select count(*) from (select group_id from passages group by group_id having count(distinct article_id) > 1)"
        return int(self.db.execute(sql).fetchone()[0])

    # -- writes ----------------------------------------------------------------------------

    def put_article(self, source: Source, file: FileState, sentences: Sequence[NewPassage]) -> int:
        """Replace an article and its passages. Returns how many repeated sentences were dropped."""
        return self.put_articles([(source, file, sentences)]).repeats[0]

    def put_articles(self, articles: Sequence[tuple[Source, FileState, Sequence[NewPassage]]]) -> Written:
        """Replace articles and their passages, all in one transaction.

        A sentence repeated within an article is stored once; a near-identical sentence already stored
        for another article (or earlier in this batch) joins its group.
        """
        if not articles:
            return Written((), 0)
        with self.transaction():
            conn = self.db.conn
            ids = [(source.article_id,) for source, _, _ in articles]
            for (article_id,) in ids:
                self._delete_passages(article_id)
            conn.executemany("delete from skipped where id = ?", ids)
            first_id = next_id = self._next_passage_id()
            sources, rows, repeats = [], [], []
            for source, file, sentences in articles:
                seen: set[str] = set()
                position = 0
                for paragraph, text, terms, key, head, tail, vector in sentences:
                    if key in seen:
                        continue
                    seen.add(key)
                    rows.append((next_id, source.article_id, position, paragraph, text, terms, key, head, tail, next_id, vector))
                    next_id += 1
                    position += 1
                repeats.append(len(sentences) - position)
                story = story_digest(row[4] for row in rows[len(rows) - position :])
                sources.append(_source_row(source, file, position, repeats[-1], story))
            conn.executemany(_UPSERT_SOURCE, sources)
            conn.executemany(_INSERT_PASSAGE, rows)
            copies = self._join_groups(first_id, next_id - 1)
            conn.execute("update meta set value = ? where key = 'next_passage_id'", [str(next_id)])
            self._bump_generation(*(article_id for article_id, in ids))
        return Written(tuple(repeats), copies)

    def _join_groups(self, first_id: int, last_id: int) -> int:
        """Put each new passage (ids first..last) in the group of its earliest copy in another article.
        Returns how many joined a group.

        Candidates share the first or the last words (the block keys); the database pairs them up in one
        query, a few per key, and only those pairs are compared.
        """
        pairs = self.db.execute(_COPY_CANDIDATES_SQL, [first_id, last_id, first_id, last_id]).fetchall()
        joined: dict[int, int] = {}
        for new_id, rows in groupby(pairs, key=itemgetter(0)):
            candidates = list(rows)
            is_copy = copy_finder(candidates[0][1])
            for _, _, old_id, old_group, old_key in candidates:
                if is_copy(old_key):
                    joined[new_id] = joined.get(old_id, old_group)  # the copy may itself have joined a group just now
                    break
        if joined:
            self.db.conn.executemany("update passages set group_id = ? where id = ?", [(g, i) for i, g in joined.items()])
        return len(joined)

    def reanalyse(self, analyse: Callable[[str], list[str]], version: str) -> None:
        """Recompute every passage's terms after the analysis changed, and mark every article changed."""
        with self.transaction():
            rows = self.db.execute("select id, text from passages").fetchall()
            self.db.conn.executemany(
                "update passages set terms = ? where id = ?", [(" ".join(analyse(text)), pid) for pid, text in rows]
            )
            self._bump_generation(*self.sources())
            self.db.execute("insert or replace into meta (key, value) values ('analysis', ?)", [version])

    def remove_article(self, article_id: str) -> None:
        with self.transaction():
            self._delete_passages(article_id)
            self.db.execute("delete from sources where id = ?", [article_id])
            self._bump_generation(article_id)

    def _delete_passages(self, article_id: str) -> None:
        self.db.execute("delete from deep_vectors where passage_id in (select id from passages where article_id = ?)", [article_id])
        self.db.execute("delete from passages where article_id = ?", [article_id])

    def _next_passage_id(self) -> int:
        # Ids are never reused, so a derived index can't confuse an old passage with a new one.
        return int(self.db.execute("select value from meta where key = 'next_passage_id'").fetchone()[0])

    def _bump_generation(self, *article_ids: str) -> None:
        """Record a change to each article, one generation each."""
        first = self.generation + 1
        self.db.conn.executemany(
            "insert or replace into changes (generation, article_id) values (?, ?)",
            [(first + n, article_id) for n, article_id in enumerate(article_ids)],
        )
        self.db.execute("update meta set value = ? where key = 'generation'", [str(first + len(article_ids) - 1)])


_PASSAGE_SQL = "select id, article_id, position, paragraph, text, group_id, terms from passages"
MAX_COPY_CANDIDATES = 10  # per block key: the earliest sentences with that opening (or ending) are tried
_COPY_CANDIDATES_SQL = f"""
select n.id, n.fingerprint, o.id, o.group_id, o.fingerprint from passages n
  join passages o on o.id in (
    select id from passages where head_hash = n.head_hash and id < n.id order by id limit {MAX_COPY_CANDIDATES})
  where n.id between ? and ? and o.article_id != n.article_id
union
select n.id, n.fingerprint, o.id, o.group_id, o.fingerprint from passages n
  join passages o on o.id in (
    select id from passages where tail_hash = n.tail_hash and id < n.id order by id limit {MAX_COPY_CANDIDATES})
  where n.id between ? and ? and o.article_id != n.article_id
order by 1, 3
"""
_SOURCE_COLUMNS = (
    "id", "title", "outlet", "published", "url", "size", "mtime_ns", "sha256", "metadata_sha", "sentences", "repeats",
    "story_sha",
)
_UPSERT_SOURCE = (
    f"insert into sources ({', '.join(_SOURCE_COLUMNS)}) values ({', '.join('?' for _ in _SOURCE_COLUMNS)}) "
    f"on conflict(id) do update set {', '.join(f'{c} = excluded.{c}' for c in _SOURCE_COLUMNS[1:])}"
)
_PASSAGE_COLUMNS = (
    "id", "article_id", "position", "paragraph", "text", "terms", "fingerprint", "head_hash", "tail_hash", "group_id", "vector"
)
_INSERT_PASSAGE = f"insert into passages ({', '.join(_PASSAGE_COLUMNS)}) values ({', '.join('?' for _ in _PASSAGE_COLUMNS)})"


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _source(row: Sequence[object]) -> Source:
    article_id, title, outlet, published, url = row[:5]
    return Source(
        article_id=str(article_id),
        title=title if isinstance(title, str) else None,
        outlet=outlet if isinstance(outlet, str) else None,
        published=date.fromisoformat(published) if isinstance(published, str) else None,
        url=url if isinstance(url, str) else None,
    )


def _source_row(source: Source, file: FileState, sentences: int, repeats: int, story: str) -> tuple[object, ...]:
    published = source.published.isoformat() if source.published else None
    row = (source.article_id, source.title, source.outlet, published, source.url, file.size, file.mtime_ns, file.sha256)
    return (*row, file.metadata_sha, sentences, repeats, story)


def story_digest(sentences: Iterable[str]) -> str:
    """A digest of an article's stored sentences, in order: equal for two files holding the same story
    (whatever their page furniture, which the cleaner dropped)."""
    digest = hashlib.sha256()
    for text in sentences:
        digest.update(text.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def _connect(path: Path) -> tuple[sqlite_utils.Database, bool]:
    """A connection to the index file, and whether it is read-only; StoreError, in one line, if there is none."""
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not an index file; pass --db {path / 'quotebot.db'}")
    folder = path.parent
    if not path.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create {folder} for the index: {error.strerror}; pass --db with a writable place") from error
        if not os.access(folder, os.W_OK):
            raise StoreError(f"cannot create the index {path}: {folder} is read-only; pass --db (or QUOTEBOT_DB) with a writable place")
    elif not os.access(path, os.R_OK):
        raise StoreError(f"cannot read the index {path}: permission denied; fix its permissions or pass --db with another file")
    writable = not path.exists() or (os.access(path, os.W_OK) and os.access(folder, os.W_OK))
    try:
        if writable:
            conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; commits skip the fsync
        else:
            conn = _connect_read_only(path)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path} is not a quotebot index ({error}); move it away, or pass --db with another file") from error
    return sqlite_utils.Database(conn), not writable


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Open without writing anything, not even WAL set-up. Where the write-ahead log's files cannot be made
    (a read-only folder), the file is read as immutable: nothing can be changing it there."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
    try:
        conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30, check_same_thread=False)
        conn.execute("select count(*) from sqlite_master").fetchone()
    return conn
