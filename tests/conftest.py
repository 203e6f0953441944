from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.corpus import Corpus, CorpusConfig

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data"


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
