"""Helpers for tests that run quotebot as real processes: generated corpora, and the process table."""

from __future__ import annotations

import random
import sqlite3
import time
from contextlib import closing
from pathlib import Path


def make_corpus(folder: Path, files: int, seed: int = 7) -> None:
    """Articles from a Zipf-distributed made-up vocabulary, a few sentences each."""
    rng = random.Random(seed)
    vocab = [f"w{i}x" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        sentences = []
        for _ in range(rng.randint(3, 8)):
            words = rng.choices(vocab, weights, k=rng.randint(6, 20))
            sentences.append(" ".join(words).capitalize() + ".")
        (folder / f"gen{n:05}.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def gone(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = {pid for pid in pids if Path(f"/proc/{pid}").exists() and "(Z)" not in _state(pid)}
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "(Z)"
    return "(Z)" if stat.rsplit(")", 1)[1].split()[0] == "Z" else "(R)"


def stored_articles(db: Path) -> int:
    """Articles committed so far, read as another process would; 0 while the database is being created."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(db, timeout=1)) as conn:
            return int(conn.execute("select count(*) from sources").fetchone()[0])
    except sqlite3.Error:
        return 0
