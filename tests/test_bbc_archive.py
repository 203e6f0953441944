"""The BBC news archive (../shared/benchmarks/bbc-news) used as a user's own: duplicate files, attribution, desks."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.scale import questions
from bot.core import Answerer
from bot.render import render_text
from index.corpus import Corpus, CorpusConfig

BBC = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "bbc-news"
DESKS = ("business", "entertainment", "politics", "sport", "tech")

pytestmark = pytest.mark.skipif(not (BBC / "sport").is_dir(), reason="shared/benchmarks/bbc-news is not beside the repository")


@pytest.fixture(scope="module")
def bbc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    db = tmp_path_factory.mktemp("bbc") / "bbc.db"
    corpus = Corpus.open(CorpusConfig(folder=BBC, db_path=db, semantic=False))
    corpus.index()
    yield corpus
    corpus.close()


def test_every_byte_identical_pair_is_one_story(bbc: Corpus) -> None:
    by_content: dict[str, list[str]] = defaultdict(list)
    for path in sorted(BBC.rglob("*.txt")):
        by_content[hashlib.sha256(path.read_bytes()).hexdigest()].append(path.relative_to(BBC).as_posix())
    pairs = [files for files in by_content.values() if len(files) > 1]
    assert len(pairs) >= 90  # the archive's README: some exact duplicates, as real archives hold
    copies = bbc.duplicate_files()
    for first, *others in pairs:
        assert all(copies.get(other) == copies.get(first, first) for other in others)
    assert "README.md" not in {source.article_id for source, _ in bbc.sources()}  # the archive's own document


def test_answers_show_their_file_and_never_repeat_their_headline_as_an_also(bbc: Corpus) -> None:
    answerer = Answerer(bbc.find, bbc.article_count)
    filed = 0
    for question in questions(150, seed=7, archive=BBC):  # words of its own sentences: most have answers
        answer = answerer.answer(question)
        text = render_text(answer, width=10_000)
        for hit, block in zip(answer.hits, text.split("\n\n")[-len(answer.hits):] if answer.hits else [], strict=True):
            source_line, *also = block.splitlines()[1:]
            assert source_line.endswith(f" · {hit.source.article_id}") or source_line.endswith(f"— {hit.source.article_id}")
            title = hit.source.title
            assert not title or not any(title in line for line in also), (question, block)
            assert len(also) == len(set(also))
            filed += bool(hit.filed_as)
    assert filed  # duplicate files were met, and listed as filed-as


DESK_QUESTIONS = {
    "business": "how much did profits rise",
    "entertainment": "which film won the award",
    "politics": "what did the minister say about the election",
    "sport": "who won the final",
    "tech": "what do people use mobile phones for",
}


@pytest.mark.parametrize("desk", DESKS)
def test_a_desk_answers_from_its_folder_only_and_fills_k(bbc: Corpus, desk: str) -> None:
    for question in DESK_QUESTIONS.values():  # its own desk's question, and the other desks'
        hits = bbc.search(question, 5, scope=(desk,))
        assert all(h.source.article_id.startswith(f"{desk}/") for h in hits), (desk, question)
    assert len(bbc.search(DESK_QUESTIONS[desk], 5, scope=(desk,))) == 5
