"""The engine and analysis rank an external benchmark (BEIR SciFact) at least as well as published BM25."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scifact import DEFAULT, run
from index.engine import BM25Params

PUBLISHED_BEIR_BM25 = 0.665


@pytest.mark.skipif(not (DEFAULT / "corpus.jsonl").exists(), reason="shared/benchmarks/scifact is not beside the repository")
def test_scifact_ndcg_at_10_is_at_least_published_bm25() -> None:
    result = run(Path(DEFAULT), BM25Params(k1=0.9, b=0.4))
    assert result["queries"] == 300
    assert result["ndcg@10"] >= PUBLISHED_BEIR_BM25
