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


def test_golden_rules_all_48_pass() -> None:
    cases = golden_cases()
    failed = [case["id"] for case in cases if segment(case["text"]) != case["expected"]]
    assert len(cases) == 48
    assert failed == []


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


def test_both_segmenters_agree_on_news_paragraphs() -> None:
    from index.sentences import _pysbd, needs_pysbd

    paragraphs = bundled_paragraphs()
    assert not any(needs_pysbd(p) for p in paragraphs)  # the fast segmenter is the one used on news
    for text in paragraphs:
        assert segment(text) == [s.strip() for s in _pysbd().segment(text) if s.strip()], text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. The first item 2. The second item", ["1. The first item", "2. The second item"]),
        ("a. The first item b. The second item", ["a. The first item", "b. The second item"]),
        (
            "He stopped . . . and then went on. The rest followed.",
            ["He stopped . . . and then went on.", "The rest followed."],
        ),
    ],
)
def test_lists_and_spaced_ellipses(text: str, expected: list[str]) -> None:
    assert segment(text) == expected


def test_sentence_ending_in_a_number_is_not_a_list() -> None:
    from index.sentences import needs_pysbd

    assert not needs_pysbd("The war began in 2022. It has not ended.")
    assert segment("The war began in 2022. It has not ended.") == ["The war began in 2022.", "It has not ended."]


def test_sentences_are_exact_substrings() -> None:
    for paragraph in bundled_paragraphs():
        for sentence in segment(paragraph):
            assert sentence in paragraph
