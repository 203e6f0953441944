"""The gold answers of the bundled articles' question sets, for tests that check what ranks first."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from index.evaluate import load_gold

EVAL = Path(__file__).resolve().parent.parent / "eval"


@cache
def gold_answers(question: str) -> frozenset[str]:
    """Every sentence that eval/dev, test or test-new accepts as an answer to `question` (asked word for word)."""
    found = frozenset(
        answer.text
        for name in ("dev.jsonl", "test.jsonl", "test-new.jsonl")
        for gold in load_gold(EVAL / name)
        if gold.question == question
        for answer in gold.answers
    )
    assert found, f"no gold set asks {question!r}"
    return found
