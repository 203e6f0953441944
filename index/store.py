"""The system of record: sources and sentence passages in one SQLite file, through sqlite-utils.

Rows become frozen dataclasses here and go no further as dicts. Every change to an article
(its source row and all its passages) is written in one transaction, so a reader never sees
half an article and an interrupted run leaves the last committed state serving.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path

import sqlite_utils

from .dedupe import block_keys, fingerprint, is_near_duplicate
from .models import Passage, Source

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class FileState:
    """What the store remembers of an article file, to notice when it changes."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class StoredArticle:
    source: Source
    file: FileState
    sentences: int


class Store:
    """Sources and passages in SQLite. Open with a path, or `Store.memory()` for tests."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            self.db = sqlite_utils.Database(memory=True)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; commits skip the fsync
        self.db.execute("PRAGMA foreign_keys=ON")
        self._ensure_schema()

    @classmethod
    def memory(cls) -> Store:
        return cls(None)

    def close(self) -> None:
        self.db.close()

    def _ensure_schema(self) -> None:
        if "sources" in self.db.table_names():
            return
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
                },
                pk="id",
            )
            self.db["passages"].create(
                {
                    "id": int,
                    "article_id": str,
                    "position": int,
                    "paragraph": int,
                    "text": str,
                    "terms": str,
                    "fingerprint": str,
                    "head_key": str,
                    "tail_key": str,
                    "group_id": int,
                },
                pk="id",
                foreign_keys=[("article_id", "sources", "id")],
            )
            self.db["passages"].create_index(["article_id", "position"], unique=True)
            self.db["passages"].create_index(["group_id"])
            self.db["passages"].create_index(["head_key"])
            self.db["passages"].create_index(["tail_key"])
            self.db["changes"].create({"generation": int, "article_id": str}, pk="generation")
            self.db["skipped"].create({"id": str, "size": int, "mtime_ns": int, "reason": str}, pk="id")
            self.db["meta"].create({"key": str, "value": str}, pk="key")
            self.db["meta"].insert({"key": "schema_version", "value": str(SCHEMA_VERSION)})
            self.db["meta"].insert({"key": "generation", "value": "0"})
            self.db["meta"].insert({"key": "next_passage_id", "value": "1"})

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
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
            "select id, title, outlet, published, url, size, mtime_ns, sha256, sentences from sources order by id"
        ).fetchall()
        return {
            row[0]: StoredArticle(
                source=_source(row[:5]), file=FileState(row[5], row[6], row[7]), sentences=row[8] or 0
            )
            for row in rows
        }

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

    def article_passages(self, article_id: str) -> list[Passage]:
        rows = self.db.execute(f"{_PASSAGE_SQL} where article_id = ? order by position", [article_id]).fetchall()
        return [Passage(*row) for row in rows]

    def sample_passages(self, limit: int) -> list[Passage]:
        """Up to `limit` passages spread over the store, for statistics."""
        count = self.counts()[1]
        step = max(count // max(limit, 1), 1)
        rows = self.db.execute(f"{_PASSAGE_SQL} where id % ? = 0 limit ?", [step, limit]).fetchall()
        return [Passage(*row) for row in rows] or list(islice(self.iter_passages(), limit))

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

    def repeat_count(self) -> int:
        """Sentences repeated within their article and stored once, over all articles."""
        return int(self.db.execute("select coalesce(sum(repeats), 0) from sources").fetchone()[0])

    def group_count(self) -> int:
        """Groups of near-identical sentences found in more than one article."""
        sql = "select count(*) from (select group_id from passages group by group_id having count(distinct article_id) > 1)"
        return int(self.db.execute(sql).fetchone()[0])

    # -- writes ----------------------------------------------------------------------------

    def put_article(self, source: Source, file: FileState, sentences: Sequence[tuple[int, str, str]]) -> int:
        """Replace an article and its passages. Returns how many repeated sentences were dropped.

        `sentences` are (paragraph number, verbatim text, analysed terms). A sentence repeated within the article
        is stored once; a near-identical sentence already stored for another article joins its group.
        """
        with self.transaction():
            execute = self.db.conn.execute
            execute("delete from passages where article_id = ?", [source.article_id])
            execute("delete from skipped where id = ?", [source.article_id])
            seen: set[str] = set()
            next_id = self._next_passage_id()
            rows = []
            for paragraph, text, terms in sentences:
                key = fingerprint(text)
                if key in seen:
                    continue
                seen.add(key)
                head, tail = block_keys(key)
                group_id = self._find_group(source.article_id, text, key, head, tail) or next_id
                rows.append((next_id, source.article_id, len(rows), paragraph, text, terms, key, head, tail, group_id))
                next_id += 1
            repeats = len(sentences) - len(rows)
            execute(_UPSERT_SOURCE, _source_row(source, file, len(rows), repeats))
            self.db.conn.executemany(_INSERT_PASSAGE, rows)
            execute("update meta set value = ? where key = 'next_passage_id'", [str(next_id)])
            self._bump_generation(source.article_id)
        return repeats

    def reanalyse(self, analyse: Callable[[str], list[str]], version: str) -> None:
        """Recompute every passage's terms after the analysis changed, and mark every article changed."""
        with self.transaction():
            rows = self.db.execute("select id, text from passages").fetchall()
            self.db.conn.executemany(
                "update passages set terms = ? where id = ?", [(" ".join(analyse(text)), pid) for pid, text in rows]
            )
            for article_id in self.sources():
                self._bump_generation(article_id)
            self.db.execute("insert or replace into meta (key, value) values ('analysis', ?)", [version])

    def remove_article(self, article_id: str) -> None:
        with self.transaction():
            self._delete_passages(article_id)
            self.db.execute("delete from sources where id = ?", [article_id])
            self._bump_generation(article_id)

    def _delete_passages(self, article_id: str) -> None:
        self.db.execute("delete from passages where article_id = ?", [article_id])

    def _next_passage_id(self) -> int:
        # Ids are never reused, so a derived index can't confuse an old passage with a new one.
        return int(self.db.execute("select value from meta where key = 'next_passage_id'").fetchone()[0])

    def _bump_generation(self, article_id: str) -> None:
        self.db.execute("update meta set value = cast(value as integer) + 1 where key = 'generation'")
        self.db.execute("insert or replace into changes (generation, article_id) values (?, ?)", [self.generation, article_id])

    def _find_group(self, article_id: str, text: str, key: str, head: str, tail: str) -> int | None:
        rows = self.db.execute(
            "select group_id, text, fingerprint from passages where article_id != ? and (head_key = ? or tail_key = ?) "
            "order by id limit 50",
            [article_id, head, tail],
        ).fetchall()
        for group_id, other_text, other_key in rows:
            if other_key == key or is_near_duplicate(text, other_text):
                return int(group_id)
        return None


_PASSAGE_SQL = "select id, article_id, position, paragraph, text, group_id, terms from passages"
_SOURCE_COLUMNS = ("id", "title", "outlet", "published", "url", "size", "mtime_ns", "sha256", "sentences", "repeats")
_UPSERT_SOURCE = (
    f"insert into sources ({', '.join(_SOURCE_COLUMNS)}) values ({', '.join('?' for _ in _SOURCE_COLUMNS)}) "
    f"on conflict(id) do update set {', '.join(f'{c} = excluded.{c}' for c in _SOURCE_COLUMNS[1:])}"
)
_PASSAGE_COLUMNS = ("id", "article_id", "position", "paragraph", "text", "terms", "fingerprint", "head_key", "tail_key", "group_id")
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


def _source_row(source: Source, file: FileState, sentences: int, repeats: int) -> tuple[object, ...]:
    published = source.published.isoformat() if source.published else None
    row = (source.article_id, source.title, source.outlet, published, source.url, file.size, file.mtime_ns, file.sha256)
    return (*row, sentences, repeats)
