from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.corpus import Corpus, CorpusConfig

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data"
SESSION_MARK = "QB_TEST_SESSION"  # inherited by every process the tests start, and by theirs


def _marked_processes(mark: str) -> list[str]:
    """Processes other than this one whose environment carries `mark`: "pid command" each."""
    found = []
    needle = f"{SESSION_MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if state == "Z" or (int(parent) == os.getpid() and "resource_tracker" in command):
                continue  # multiprocessing's tracker for this very process's pools ends when this process does
            found.append(f"{entry.name} {command[:120]}")
        except OSError:
            continue
    return found


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """After the whole suite, no process started by it (however deep) may still be running."""
    mark = uuid.uuid4().hex
    os.environ[SESSION_MARK] = mark
    yield
    deadline = time.monotonic() + 10
    while (left := _marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, "processes started by the tests are still running:\n" + "\n".join(left)


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A copy of the bundled corpus (articles and metadata) that a test may change."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for path in SEEDS.iterdir():
        if path.suffix in {".txt", ".toml"}:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def corpus(seeds_dir: Path, tmp_path: Path) -> Corpus:
    corpus = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=tmp_path / "index.db"))
    corpus.index()
    yield corpus
    corpus.close()
