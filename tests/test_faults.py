"""Fault injection with real processes: signals and kill -9 at several moments, a worker killed, a full disk,
read-only and damaged files, two index runs at once, questions during an index run.

After each fault: every file is indexed once or not at all, whole (sources = files, no passage twice),
the engine holds exactly the store's passages, questions are answered, and no process of the run is left.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from index.corpus import Corpus, CorpusConfig, engine_folder
from tests.processes import children, gone, make_corpus, stored_articles

FILES = 2500  # enough for the worker processes, and a run of a few seconds


def environ() -> dict[str, str]:
    """Without the transformer's reading after indexing: it would add minutes here, and its own faults are tested in
    tests/test_deep.py."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "SLACK_"))}
    return {**env, "QUOTEBOT_RERANK": "off"}


def command(data: Path, db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--data", str(data), "--db", str(db), *args]


def run(data: Path, db: Path, *args: str, prefix: tuple[str, ...] = (), **extra: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, *command(data, db, *args)], capture_output=True, text=True, env=environ(), timeout=300, **extra  # type: ignore[call-overload]
    )


def start(data: Path, db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(command(data, db, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ())


def wait_until_stored(process: subprocess.Popen[str], db: Path, articles: int, timeout: float = 120) -> bool:
    """Wait until `articles` are committed; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and stored_articles(db) < articles:
        assert time.monotonic() < deadline, "the index run made no progress"
        time.sleep(0.005)
    return process.poll() is None


def assert_whole(data: Path, db: Path, files: int | None = None) -> Corpus:
    """Nothing lost, doubled or half-written; the engine matches the store; a question is answered."""
    corpus = Corpus.open(CorpusConfig(folder=data, db_path=db))
    stored = corpus.store.articles()
    if files is not None:
        assert len(stored) == files
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("select article_id, count(*), count(distinct position), count(distinct fingerprint) from passages group by article_id").fetchall()
    for article_id, count, positions, texts in rows:
        assert count == positions == texts == stored[article_id].sentences, article_id
    assert sum(a.sentences for a in stored.values()) == corpus.store.counts()[1]
    if stored:
        passage = next(corpus.store.iter_passages())
        assert corpus.search(passage.text, 1)[0].passage.text == passage.text
        assert corpus.searcher.engine.doc_count == corpus.store.counts()[1]
    return corpus


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    make_corpus(data, FILES)
    return data


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_index_with_one_line_and_the_next_run_resumes(archive: Path, tmp_path: Path, signum: int) -> None:
    db = tmp_path / "q.db"
    process = start(archive, db, "index")
    assert wait_until_stored(process, db, 400)
    workers = children(process.pid)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum
    last = err.strip().splitlines()[-1]
    kept = stored_articles(db)
    assert last == f"Stopped ({signal.Signals(signum).name}). {kept:,} of {FILES:,} files were indexed and kept; `quotebot index` does the rest."
    assert "Traceback" not in err
    assert gone(workers, seconds=5)
    assert_whole(archive, db).close()
    again = run(archive, db, "index")
    assert again.returncode == 0, again.stderr
    assert f"({FILES - kept} added, 0 updated, 0 removed, {kept} unchanged)" in again.stdout  # nothing read twice
    assert_whole(archive, db, FILES).close()


def test_kill_9_during_the_engine_commit_and_during_a_metadata_change(archive: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    process = start(archive, db, "index")
    wait_until_stored(process, db, FILES)  # the store is done: the engine is being built now
    engine_started = time.monotonic()
    while process.poll() is None and not any(engine_folder(db).glob("*.managed.json")) and time.monotonic() - engine_started < 5:
        time.sleep(0.001)
    workers = children(process.pid)
    process.kill()
    process.wait()
    assert gone(workers, seconds=5)
    assert_whole(archive, db, FILES).close()  # the engine catches up from the store at the first question

    # A metadata change re-reads only the articles it names; kill -9 halfway through that: as soon as the first of
    # its three commits (at most 1,000 articles each) lands.
    changed = 2400
    names = sorted(p.name for p in archive.glob("*.txt"))[:changed]
    (archive / "metadata.toml").write_text("".join(f'["{n}"]\noutlet = "Desk {i % 7}"\n' for i, n in enumerate(names)), encoding="utf-8")
    process = start(archive, db, "index")
    deadline = time.monotonic() + 60
    while process.poll() is None and _with_outlet(db) < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    process.kill()
    process.wait()
    assert_whole(archive, db, FILES).close()
    before = _with_outlet(db)
    assert 0 < before < changed
    done = run(archive, db, "index")
    assert done.returncode == 0, done.stderr
    assert f"(0 added, {changed - before} updated, 0 removed" in done.stdout  # those already redone are not read again
    assert _with_outlet(db) == changed
    assert_whole(archive, db, FILES).close()


def _with_outlet(db: Path) -> int:
    try:
        with closing(sqlite3.connect(db, timeout=1)) as conn:
            return int(conn.execute("select count(*) from sources where outlet like 'Desk %'").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_killed_worker_does_not_stop_the_run(archive: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    process = start(archive, db, "index")
    assert wait_until_stored(process, db, 200)
    workers = [pid for pid in children(process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert workers
    os.kill(workers[0], signal.SIGKILL)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert f"Indexed {FILES} articles" in out
    assert_whole(archive, db, FILES).close()


def test_a_full_disk_stops_the_run_with_one_line_and_keeps_what_was_committed(archive: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.db"

    def small_disk() -> None:  # files this process writes may not grow past 8 MB (a commit of 1,000 articles is about 5): as a disk that fills up
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8 * 1024 * 1024, resource.RLIM_INFINITY))

    full = run(archive, db, "index", preexec_fn=small_disk)
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    line = full.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: indexing stopped: ") and "full" in line and "were indexed and kept" in line
    kept = int(line.split(" of ")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert 0 < kept < FILES
    assert_whole(archive, db, kept).close()
    rest = run(archive, db, "index")
    assert rest.returncode == 0, rest.stderr
    assert_whole(archive, db, FILES).close()


def test_two_index_runs_at_once_one_waits_and_nothing_is_written_twice(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    archive, files = tmp_path / "big", 4 * FILES  # a run long enough that the second starts while the first holds the lock
    make_corpus(archive, files)
    first = start(archive, db, "index")
    assert wait_until_stored(first, db, 1)
    second = start(archive, db, "index")
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == second.returncode == 0, (err1, err2)
    assert "waiting for it to finish" in err2
    assert f"({files} added" in out1 and f"(0 added, 0 updated, 0 removed, {files} unchanged)" in out2
    assert_whole(archive, db, files).close()


def test_questions_during_an_index_run_are_answered_at_once_from_what_is_committed(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    archive, files = tmp_path / "big", 5 * FILES  # a run of several seconds, so that several questions land in it
    make_corpus(archive, files)
    indexing = start(archive, db, "index")
    assert wait_until_stored(indexing, db, 100)
    asked = 0
    while indexing.poll() is None and asked < 6:
        started = time.monotonic()
        result = run(archive, db, "ask", "w1x w2x w3x")
        assert result.returncode == 0, result.stderr
        assert "locked" not in result.stderr and "Traceback" not in result.stderr
        # answered from what is committed, whether the run has ended yet or not: a sentence of the file it names
        first = re.match(r"1\. “([^”]+)”\n   — (gen\d{5}\.txt)\n", result.stdout)
        assert first, result.stdout
        assert "w1x" in first[1].lower() and first[1] in (archive / first[2]).read_text(encoding="utf-8")
        assert time.monotonic() - started < 20
        asked += 1
    out, err = indexing.communicate(timeout=300)
    assert indexing.returncode == 0, err
    assert asked >= 2
    assert f"({files} added" in out  # the questions indexed nothing themselves
    assert_whole(archive, db, files).close()


def test_a_damaged_engine_folder_is_rebuilt_from_the_store(seeds_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    assert run(seeds_dir, db, "index").returncode == 0
    for path in engine_folder(db).iterdir():
        if path.is_file() and not path.name.startswith("."):
            path.write_bytes(b"\x00garbage" * 10)
    result = run(seeds_dir, db, "ask", "what did Russia give North Korea")
    assert result.returncode == 0, result.stderr
    assert "air defense missiles" in result.stdout
    assert_whole(seeds_dir, db, 5).close()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_is_one_line_naming_it(seeds_dir: Path, tmp_path: Path, damage: str) -> None:
    db = tmp_path / "q.db"
    assert run(seeds_dir, db, "index").returncode == 0
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    else:
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    result = run(seeds_dir, db, "ask", "what did Russia give North Korea")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: {db} is not a quotebot index (")
    assert result.stderr.rstrip().endswith("move it away, or pass --db with another file")


# -- read-only storage ---------------------------------------------------------------------

@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder that a read-only mount namespace (or another user) can reach; pytest's own is private."""
    folder = Path(tempfile.mkdtemp(prefix="quotebot-ro-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(folder)


READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def read_only(folder: Path) -> tuple[str, ...]:
    """A command prefix under which `folder` is read-only storage. As root, permissions do not stop writes,
    so the folder is mounted read-only in a mount namespace of the command's own, or, where that is not
    allowed, the command runs as user nobody on a chmod-ed folder."""
    if os.geteuid() == 0:
        mount = ("unshare", "--mount", "sh", "-c", READ_ONLY_MOUNT, str(folder))
        if shutil.which("unshare") and subprocess.run([*mount, "true"], capture_output=True).returncode == 0:
            return mount
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if os.geteuid() != 0:
        return ()
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    probe = subprocess.run([*nobody, sys.executable, "-c", "import bot"], capture_output=True, cwd=folder)
    if not shutil.which("setpriv") or probe.returncode != 0:
        pytest.skip("this machine can neither mount a folder read-only nor run the tests' Python as another user")
    return nobody


def test_an_index_on_read_only_storage_answers_questions(seeds_dir: Path, shared_tmp: Path) -> None:
    data, db = shared_tmp / "data", shared_tmp / "data" / "quotebot.db"
    shutil.copytree(seeds_dir, data)
    assert run(data, db, "index").returncode == 0
    (data / "zoo.txt").write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    prefix = read_only(data)
    asked = run(data, db, "ask", "what did Russia give North Korea", prefix=prefix)
    assert asked.returncode == 0, asked.stderr
    assert "air defense missiles" in asked.stdout
    assert "the index is read-only; new or changed articles are not indexed" in asked.stderr
    indexed = run(data, db, "index", prefix=prefix)
    assert indexed.returncode == 1
    assert indexed.stderr.strip() == f"Error: the index {db} is read-only; pass --db with a file that can be written"


def test_a_read_only_articles_folder_without_an_index_is_one_line(seeds_dir: Path, shared_tmp: Path) -> None:
    data = shared_tmp / "data"
    shutil.copytree(seeds_dir, data)
    result = run(data, data / "quotebot.db", "ask", "what did Russia give North Korea", prefix=read_only(data))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: cannot create the index {data / 'quotebot.db'}: {data} is read-only; pass --db (or QUOTEBOT_DB) with a writable place"
    )


def test_a_folder_given_as_the_database_is_one_line(seeds_dir: Path, tmp_path: Path) -> None:
    result = run(seeds_dir, tmp_path, "ask", "what did Russia give North Korea")
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {tmp_path} is a folder, not an index file; pass --db {tmp_path / 'quotebot.db'}"


def _big_result(mark: str) -> bytes:
    """A worker's result of 200 MB: writing it to the pool takes long enough to be killed halfway."""
    data = b"x" * (200 * 1024 * 1024)
    Path(mark).write_text(str(os.getpid()))
    return data


def test_a_worker_killed_while_sending_its_result_does_not_hang_the_pool(tmp_path: Path) -> None:
    """CPython 3.11's pool waits forever for the rest of a result whose writer was killed (seen as a rare hang of
    `quotebot index` in test_a_killed_worker_does_not_stop_the_run). `result_of` settles it: the result, or
    BrokenProcessPool, within seconds, at whatever moment the worker dies."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from index.ingest import result_of

    outcomes = []
    for delay in (0.05, 0.15, 0.25, 0.35, 0.5):
        mark = tmp_path / f"mark{delay}"
        pool = ProcessPoolExecutor(1, multiprocessing.get_context("spawn"))
        future = pool.submit(_big_result, str(mark))
        while not mark.exists():
            time.sleep(0.001)
        time.sleep(delay)
        os.kill(int(mark.read_text()), signal.SIGKILL)
        started = time.monotonic()
        try:
            outcomes.append(len(result_of(pool, future)))
        except BrokenProcessPool:
            outcomes.append("broken")
        assert time.monotonic() - started < 20
        pool.shutdown(wait=True)
    assert "broken" in outcomes
