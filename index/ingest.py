"""Bring a folder of articles into the store: new and changed files in, deleted files out.

Work is planned first (`plan_index`, cheap: file sizes and times) and then run (`run_index`), so
a front end can show progress. Each article is written in its own transaction: an interrupted
run leaves every article either as it was or fully updated, and the next run finishes the rest.
A file that cannot be used is skipped with the reason; if an earlier version of it was indexed,
that version keeps serving.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .analysis import Analyzer
from .articles import ArticleError, read_article_file
from .models import Article, IndexReport, SkippedFile
from .sentences import split_sentences
from .store import FileState, Store

logger = logging.getLogger(__name__)

ARTICLE_SUFFIXES = frozenset({".txt", ".md"})
METADATA_FILE = "metadata.toml"
RESERVED_FILES = frozenset({"synonyms.txt"})  # configuration that lives beside the articles


@dataclass(frozen=True)
class IndexPlan:
    folder: Path
    files: tuple[Path, ...]  # new or possibly changed article files, to read
    removed: tuple[str, ...]  # article ids whose files are gone
    unchanged: int
    still_skipped: tuple[SkippedFile, ...]  # unusable files skipped before and not changed since
    metadata: Mapping[str, Mapping[str, object]]
    warnings: tuple[str, ...] = ()
    whole_folder: bool = True  # False for a plan of some files only (`quotebot add`)

    @property
    def is_empty(self) -> bool:
        return not self.files and not self.removed


def article_id(folder: Path, path: Path) -> str:
    return path.relative_to(folder).as_posix()


def find_articles(folder: Path) -> list[Path]:
    """Article files under a folder: .txt and .md, hidden files and folders left out."""
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.name in RESERVED_FILES and path.parent == folder:
            continue
        if path.suffix.lower() in ARTICLE_SUFFIXES and path.is_file():
            found.append(path)
    return sorted(found)


def load_metadata(folder: Path) -> tuple[dict[str, dict[str, object]], list[str]]:
    """Per-article metadata from `metadata.toml`, a table per file name. Returns (metadata, warnings)."""
    path = folder / METADATA_FILE
    if not path.exists():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return {}, [f"{METADATA_FILE}: ignored, it could not be read ({error})"]
    tables = {name: dict(value) for name, value in data.items() if isinstance(value, dict)}
    return tables, []


def _metadata_digest(metadata: Mapping[str, Mapping[str, object]]) -> str:
    return hashlib.sha256(repr(sorted((k, sorted(v.items())) for k, v in metadata.items())).encode()).hexdigest()


def plan_index(folder: Path, store: Store) -> IndexPlan:
    """What an index run must do to bring the store in line with the folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no articles folder at {folder}")
    metadata, warnings = load_metadata(folder)
    metadata_changed = store.get_meta("metadata_digest") != _metadata_digest(metadata)
    stored = store.articles()
    skipped = store.skipped()
    files = find_articles(folder)
    todo = []
    still_skipped = []
    for path in files:
        aid = article_id(folder, path)
        known = stored.get(aid)
        stat = path.stat()
        now = (stat.st_size, stat.st_mtime_ns)
        if aid in skipped and skipped[aid][:2] == now:
            still_skipped.append(SkippedFile(aid, skipped[aid][2]))
            continue
        if metadata_changed or known is None or (known.file.size, known.file.mtime_ns) != now:
            todo.append(path)
    present = {article_id(folder, p) for p in files}
    removed = tuple(a for a in stored if a not in present)
    return IndexPlan(
        folder=folder,
        files=tuple(todo),
        removed=removed,
        unchanged=len(files) - len(todo) - len(still_skipped),
        still_skipped=tuple(still_skipped),
        metadata=metadata,
        warnings=tuple(warnings),
    )


def plan_files(folder: Path, store: Store, paths: list[Path]) -> IndexPlan:
    """A plan that ingests only the given files, which must be inside `folder`."""
    metadata, warnings = load_metadata(folder)
    inside = tuple(folder / p.resolve().relative_to(folder.resolve()) for p in paths)
    return IndexPlan(
        folder=folder,
        files=inside,
        removed=(),
        unchanged=0,
        still_skipped=(),
        metadata=metadata,
        warnings=tuple(warnings),
        whole_folder=False,
    )


def article_sentences(article: Article) -> list[tuple[int, str]]:
    """(paragraph number, sentence) for every sentence of an article's body."""
    return [(p.number, s) for p in article.paragraphs for s in split_sentences(p.text)]


def run_index(
    plan: IndexPlan, store: Store, on_file: Callable[[Path], None] | None = None, analyzer: Analyzer | None = None
) -> IndexReport:
    """Carry out a plan. `on_file` is called after each file, for progress."""
    analyse = (analyzer or Analyzer()).terms
    stored = store.articles()
    added, updated, skipped, warnings = [], [], [], list(plan.warnings)
    for path in plan.files:
        aid = article_id(plan.folder, path)
        try:
            outcome = _ingest_file(path, aid, plan.metadata.get(aid), store, stored.get(aid), analyse)
        except ArticleError as error:
            reason = str(error)
            if aid in stored:
                reason += "; the version indexed earlier stays"
            skipped.append(SkippedFile(aid, reason))
            logger.warning("skipped %s: %s", aid, reason)
            _remember_skipped(store, path, aid, reason)
        else:
            file_warnings, kind = outcome
            warnings.extend(file_warnings)
            if kind == "added":
                added.append(aid)
            elif kind == "updated":
                updated.append(aid)
        if on_file:
            on_file(path)
    for aid in plan.removed:
        store.remove_article(aid)
    if plan.whole_folder:
        store.clear_skipped(article_id(plan.folder, p) for p in find_articles(plan.folder))
        store.set_meta("metadata_digest", _metadata_digest(plan.metadata))
    for warning in warnings:
        logger.warning("%s", warning)
    articles, sentences = store.counts()
    return IndexReport(
        articles=articles,
        sentences=sentences,
        added=tuple(added),
        updated=tuple(updated),
        removed=plan.removed,
        unchanged=plan.unchanged,
        repeats_dropped=store.repeat_count(),
        groups=store.group_count(),
        skipped=(*plan.still_skipped, *skipped),
        warnings=tuple(warnings),
    )


def _remember_skipped(store: Store, path: Path, aid: str, reason: str) -> None:
    try:
        stat = path.stat()
    except OSError:
        return
    store.set_skipped(aid, stat.st_size, stat.st_mtime_ns, reason)


def _ingest_file(
    path: Path,
    aid: str,
    metadata: Mapping[str, object] | None,
    store: Store,
    known: object | None,
    analyse: Callable[[str], list[str]],
) -> tuple[list[str], str]:
    """Read, clean, split and store one file. Returns (warnings, 'added' or 'updated')."""
    try:
        data = path.read_bytes()
        stat = path.stat()
    except OSError as error:
        raise ArticleError(f"cannot read: {error.strerror or error}") from error
    state = FileState(size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=hashlib.sha256(data).hexdigest())
    article, warnings = read_article_file(data, aid, dict(metadata) if metadata else None)
    sentences = article_sentences(article)
    if not sentences:
        raise ArticleError("no sentences found after removing page furniture")
    store.put_article(article.source, state, [(p, s, " ".join(analyse(s))) for p, s in sentences])
    return warnings, "updated" if known else "added"


def index_folder(
    folder: Path, store: Store, on_file: Callable[[Path], None] | None = None, analyzer: Analyzer | None = None
) -> IndexReport:
    """Plan and run an index of `folder` in one call."""
    return run_index(plan_index(folder, store), store, on_file, analyzer)
