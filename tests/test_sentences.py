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
