from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.sentences import segment, split_sentences

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "segmentation" / "golden_rules_en.json"
BUNDLED_GOLDEN = Path(__file__).resolve().parent / "data" / "golden_rules_en.json"


def golden_cases() -> list[dict]:
    path = GOLDEN if GOLDEN.exists() else BUNDLED_GOLDEN
    return json.loads(path.read_text(encoding="utf-8"))


def test_golden_rules_score_at_least_44_of_48() -> None:
    cases = golden_cases()
    passed = sum(1 for case in cases if segment(case["text"]) == case["expected"])
    assert len(cases) == 48
    assert passed >= 44


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. and South Korea said so. Mr. Shin spoke on Friday.",
            ["The U.S. and South Korea said so.", "Mr. Shin spoke on Friday."],
        ),
        (
            '"North Korea appears to have received equipment," Shin said. He added more.',
            ['"North Korea appears to have received equipment," Shin said.', "He added more."],
        ),
        ("More than 10,000 troops were sent. Another 1.5 million rounds followed.", ["More than 10,000 troops were sent.", "Another 1.5 million rounds followed."]),
    ],
)
def test_news_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_fragments_are_not_passages() -> None:
    assert split_sentences("image") == []
    assert split_sentences("") == []


def bundled_paragraphs() -> list[str]:
    from index.articles import clean_article

    data = Path(__file__).resolve().parent.parent / "data"
    return [p.text for f in sorted(data.glob("*.txt")) for p in clean_article(f.read_text(encoding="utf-8"), f.name).paragraphs]


def test_fast_path_agrees_with_pysbd_wherever_it_is_taken() -> None:
    from index.sentences import _segmenter, is_plain

    texts = bundled_paragraphs() + [case["text"] for case in golden_cases()]
    plain = [t for t in texts if is_plain(t)]
    assert len(plain) >= 10  # the fast path is really used
    for text in plain:
        assert segment(text) == [s.strip() for s in _segmenter().segment(text) if s.strip()], text


def test_sentences_are_exact_substrings() -> None:
    for paragraph in bundled_paragraphs():
        for sentence in segment(paragraph):
            assert sentence in paragraph
