"""The scale benchmark still runs end to end (a smoke run at a small size; the real figures are its own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scale_benchmark_smoke_run(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--sizes", "2000", "--corpora", str(tmp_path), "--read-seconds", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    rows = [line for line in lines if line.startswith("| 2,000 |")]
    assert len(rows) == 7  # one per setup, the speed-ups, and what each kind of semantic search costs
    for setup in ("tantivy", "tantivy+semantic", "tantivy+rerank", "rank-bm25"):
        row = next(r for r in rows if r.startswith(f"| 2,000 | {setup} |"))  # the main table's row comes first
        ingest = float(row.split("|")[3].replace(",", ""))
        assert ingest > 0
