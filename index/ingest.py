"""Bring a folder of articles into the store: new and changed files in, deleted files out.

Work is planned first (`plan_index`, cheap: file sizes and times) and then run (`run_index`), so
a front end can show progress. Articles are committed whole, a few hundred milliseconds' worth at a
time: an interrupted run leaves every article either as it was or fully updated, and the next run
finishes the rest.
A file that cannot be used is skipped with the reason; if an earlier version of it was indexed,
that version keeps serving.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

from .analysis import Analyzer
from .articles import ArticleError, read_article_file
from .models import Article, IndexReport, SkippedFile, Source
from .semantic import Embedder, to_blob
from .sentences import split_sentences
from .store import FileState, NewPassage, Store, new_passage

logger = logging.getLogger(__name__)
T = TypeVar("T")

ARTICLE_SUFFIXES = frozenset({".txt", ".md"})
METADATA_FILE = "metadata.toml"
RESERVED_FILES = frozenset({"synonyms.txt"})  # configuration that lives beside the articles
NOT_ARTICLES = frozenset({"README", "LICENSE", "LICENCE", "NOTICE", "CHANGELOG"})  # an archive's own documents, in any folder
VECTORS_META = "vectors"  # meta key: the embedder version every stored passage has a vector of, or ""


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


def scan_articles(folder: Path) -> dict[str, tuple[int, int]]:
    """Every article file under a folder (.txt and .md; hidden files and folders, and README, LICENSE and the like,
    left out), by id (its path relative to the folder, with '/'), with its (size, mtime_ns)."""
    found: dict[str, tuple[int, int]] = {}
    pending = [(os.fspath(folder), "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue  # gone or unreadable since it was listed
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):  # as os.walk: no loops through linked folders
                    pending.append((entry.path, f"{prefix}{entry.name}/"))
                elif (
                    entry.is_file()
                    and not (not prefix and entry.name in RESERVED_FILES)
                    and os.path.splitext(entry.name)[1].lower() in ARTICLE_SUFFIXES
                    and os.path.splitext(entry.name)[0].upper() not in NOT_ARTICLES
                ):
                    stat = entry.stat()
                    found[prefix + entry.name] = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                continue  # removed while the folder was being read
    return found


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


def metadata_digest(entry: Mapping[str, object] | None) -> str:
    """A digest of one article's metadata.toml entry; "" for none. An article is read again when it changes."""
    if not entry:
        return ""
    return hashlib.sha256(repr(sorted(entry.items())).encode()).hexdigest()[:16]


def plan_index(folder: Path, store: Store) -> IndexPlan:
    """What an index run must do to bring the store in line with the folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no articles folder at {folder}")
    metadata, warnings = load_metadata(folder)
    stored = store.file_states()
    skipped = store.skipped()
    files = scan_articles(folder)
    todo = []
    still_skipped = []
    for aid in sorted(files):
        now = files[aid]
        if aid in skipped and skipped[aid][:2] == now:
            still_skipped.append(SkippedFile(aid, skipped[aid][2]))
            continue
        if stored.get(aid) != (*now, metadata_digest(metadata.get(aid))):
            todo.append(folder / aid)
    removed = tuple(a for a in stored if a not in files)
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


PARALLEL_FROM = 200  # files; below this, reading in other processes costs more than it saves
COMMIT_SECONDS = 1.0  # a bulk run commits the articles written in this long together


@dataclass(frozen=True)
class Prepared:
    """One file read, cleaned, split and analysed, ready to store; or the reason it cannot be."""

    article_id: str
    source: Source | None
    state: FileState | None
    sentences: tuple[NewPassage, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None


def prepare_file(
    path: Path, aid: str, metadata: Mapping[str, object] | None, analyzer: Analyzer, embedder: Embedder | None = None
) -> Prepared:
    """Read, clean, split, analyse, fingerprint and embed one file. Touches no store, so it can run in another process."""
    analyse = analyzer.terms
    try:
        try:
            data = path.read_bytes()
            stat = path.stat()
        except OSError as error:
            raise ArticleError(f"cannot read: {error.strerror or error}") from error
        state = FileState(stat.st_size, stat.st_mtime_ns, hashlib.sha256(data).hexdigest(), metadata_digest(metadata))
        article, warnings = read_article_file(data, aid, dict(metadata) if metadata else None)
        found = article_sentences(article)
        if not found:
            raise ArticleError("no sentences found after removing page furniture")
        vectors = [to_blob(v) for v in embedder.embed([s for _, s in found])] if embedder else [None] * len(found)
        sentences = tuple(new_passage(p, s, " ".join(analyse(s)), v) for (p, s), v in zip(found, vectors, strict=True))
    except ArticleError as error:
        return Prepared(aid, None, None, error=str(error))
    return Prepared(aid, article.source, state, sentences, tuple(warnings))


Job = tuple[Path, str, Mapping[str, object] | None, Analyzer, Embedder | None]
CHUNK_FILES = 64  # files a worker prepares per task
CHUNKS_IN_FLIGHT = 16  # per worker: enough to keep it busy, few enough that memory stays flat however big the run


def _prepare_chunk(jobs: list[Job]) -> list[Prepared]:
    return [prepare_file(*job) for job in jobs]


PARENT_CHECK_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


class IndexCancelled(Exception):
    """An index run was asked to stop between commits; everything committed before stays."""


def _die_with_parent(parent: int) -> None:
    """Worker start-up: exit as soon as the indexing process is gone, however it ended (even kill -9).

    On Linux the kernel sends SIGKILL when the parent dies; everywhere, a thread also notices that the
    worker was handed to another parent, within PARENT_CHECK_SECONDS. Ctrl-C at a terminal reaches the
    whole process group: workers leave it to the indexing process, which stops them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the watcher below still does it
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _prepared(
    plan: IndexPlan, analyzer: Analyzer, embedder: Embedder | None, workers: int
) -> Iterator[tuple[Path, Prepared]]:
    """Each planned file, prepared, in plan order: in `workers` processes when there are many files."""
    jobs: list[Job] = []
    for path in plan.files:
        aid = article_id(plan.folder, path)
        jobs.append((path, aid, plan.metadata.get(aid), analyzer, embedder))
    if workers < 2 or len(jobs) < PARALLEL_FROM:
        for job in jobs:
            yield job[0], prepare_file(*job)
        return
    chunks = iter([jobs[i : i + CHUNK_FILES] for i in range(0, len(jobs), CHUNK_FILES)])
    context = multiprocessing.get_context("spawn")  # no fork: the caller may have threads (the Slack server)
    pool = ProcessPoolExecutor(workers, context, initializer=_die_with_parent, initargs=(os.getpid(),))
    pending: deque[tuple[list[Job], Future[list[Prepared]]]] = deque()
    try:
        for chunk in islice(chunks, workers * CHUNKS_IN_FLIGHT):
            pending.append((chunk, pool.submit(_prepare_chunk, chunk)))
        while pending:
            chunk, future = pending[0]
            try:
                ready = result_of(pool, future)
            except BrokenProcessPool:
                logger.warning("an indexing worker died (killed, or out of memory); going on in this process")
                break
            pending.popleft()
            following = next(chunks, None)
            if following is not None:
                pending.append((following, pool.submit(_prepare_chunk, following)))
            yield from zip((job[0] for job in chunk), ready, strict=True)
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)
    left = [job for chunk, _ in pending for job in chunk]  # what a broken pool left, if anything
    for job in left:
        yield job[0], prepare_file(*job)
    for chunk in chunks:
        for job in chunk:
            yield job[0], prepare_file(*job)


WORKER_CHECK_SECONDS = 0.5
DEAD_WORKER_GRACE = 2.0  # seconds the pool has to notice a dead worker itself


def result_of(pool: ProcessPoolExecutor, future: Future[T]) -> T:
    """`future.result()`, but never forever. A worker killed while it writes its result to the pool (a chunk
    of prepared files is megabytes) leaves the pool's manager thread waiting for the rest of the message
    (CPython 3.11), and the future is never settled. If a worker is dead and the pool has not noticed within
    DEAD_WORKER_GRACE, the other workers are stopped and the pool's end of the result pipe is closed: the
    manager thread reads end-of-file and reports the pool broken (BrokenProcessPool), as for any dead worker."""
    dead_since: float | None = None
    while True:
        try:
            return future.result(timeout=WORKER_CHECK_SECONDS)
        except FutureTimeout:
            if not _a_worker_died(pool):
                dead_since = None
                continue
            dead_since = dead_since or time.monotonic()
            if time.monotonic() - dead_since >= DEAD_WORKER_GRACE:
                logger.warning("an indexing worker died while sending its work; stopping the others")
                _unstick(pool)


def _a_worker_died(pool: ProcessPoolExecutor) -> bool:
    try:
        return any(p.exitcode is not None for p in tuple((pool._processes or {}).values()))  # noqa: SLF001
    except RuntimeError:  # the pool's thread changed the table meanwhile: look again next time
        return False


def _unstick(pool: ProcessPoolExecutor) -> None:
    try:
        workers = tuple((pool._processes or {}).values())  # noqa: SLF001
    except RuntimeError:
        workers = ()
    for worker in workers:
        worker.kill()
    pool._result_queue._writer.close()  # type: ignore[attr-defined]  # noqa: SLF001


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the workers: queued chunks are dropped, and each worker exits after the chunk in its hands."""
    pool.shutdown(wait=True, cancel_futures=True)


def run_index(
    plan: IndexPlan,
    store: Store,
    on_file: Callable[[Path], None] | None = None,
    analyzer: Analyzer | None = None,
    workers: int | None = None,
    commit_seconds: float = COMMIT_SECONDS,
    embedder: Embedder | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> IndexReport:
    """Carry out a plan. `on_file` is called after each file, for progress.

    Files are read, cleaned, split and analysed in `workers` processes (default: one per core) when
    there are many; this process writes them to the store. Articles that arrive within `commit_seconds`
    are committed together: an interruption loses at most that batch, and never part of an article.
    With an `embedder`, each sentence's vector is stored with it; without one, the store notes that
    its vectors are incomplete, so that they are filled in once an embedder is given again.
    `cancelled` is asked after each commit; when it says True the run stops with IndexCancelled.
    """
    stored = store.file_states()
    added, updated, skipped, warnings = [], [], [], list(plan.warnings)
    copies = 0
    if embedder is None and plan.files:
        store.set_meta(VECTORS_META, "")
    prepared = _prepared(plan, analyzer or Analyzer(), embedder, workers if workers is not None else (os.cpu_count() or 1))
    try:
        for batch in _batches(prepared, commit_seconds):
            with store.transaction():  # whole articles only: a batch commits together or not at all
                good = []
                for path, ready in batch:
                    aid = ready.article_id
                    if ready.error is not None or ready.source is None or ready.state is None:
                        reason = ready.error or "unreadable"
                        if aid in stored:
                            reason += "; the version indexed earlier stays"
                        skipped.append(SkippedFile(aid, reason))
                        logger.warning("skipped %s: %s", aid, reason)
                        _remember_skipped(store, path, aid, reason)
                    else:
                        good.append((ready.source, ready.state, ready.sentences))
                        warnings.extend(ready.warnings)
                        (updated if aid in stored else added).append(aid)
                copies += store.put_articles(good).copies
            if on_file:
                for path, _ in batch:
                    on_file(path)
            if cancelled():
                raise IndexCancelled(f"stopped after {len(added) + len(updated)} articles")
    finally:  # stop the workers here and now, not whenever (and in whichever thread) the generator is collected
        prepared.close()
    for aid in plan.removed:
        store.remove_article(aid)
    if plan.whole_folder:
        store.clear_skipped(s.path for s in (*plan.still_skipped, *skipped))  # the rest were fixed or are gone
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
        duplicates=len(store.duplicate_files()),
        copies=copies,
        skipped=(*plan.still_skipped, *skipped),
        warnings=tuple(warnings),
    )


def _batches(items: Iterator[T], seconds: float, most: int = 1000) -> Iterator[list[T]]:
    """The items in lists of what arrived within `seconds` (at most `most`), to commit together."""
    batch: list[T] = []
    started = time.monotonic()
    for item in items:
        batch.append(item)
        if len(batch) >= most or time.monotonic() - started >= seconds:
            yield batch
            batch, started = [], time.monotonic()
    if batch:
        yield batch


def _remember_skipped(store: Store, path: Path, aid: str, reason: str) -> None:
    try:
        stat = path.stat()
    except OSError:
        return
    store.set_skipped(aid, stat.st_size, stat.st_mtime_ns, reason)


def index_folder(
    folder: Path,
    store: Store,
    on_file: Callable[[Path], None] | None = None,
    analyzer: Analyzer | None = None,
    embedder: Embedder | None = None,
) -> IndexReport:
    """Plan and run an index of `folder` in one call."""
    return run_index(plan_index(folder, store), store, on_file, analyzer, embedder=embedder)
