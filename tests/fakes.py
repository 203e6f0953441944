"""Small fakes for the core's collaborators."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from index.models import Found, Hit, Passage, Source  # noqa: F401 - Source is used by tests

AP = Source("001.txt", title=None, outlet="Associated Press", published=date(2024, 11, 22))
TITLED = Source("002.txt", title="Russia Traded Air-Defense Gear", url="https://news.example/2")


def hit(text: str, source: Source = AP, also_in: tuple[Source, ...] = (), score: float = 1.0) -> Hit:
    return Hit(Passage(1, source.article_id, 0, 0, text, 1), source, score, also_in)


class FakeSearch:
    """Returns canned hits and records what it was asked."""

    def __init__(self, hits: tuple[Hit, ...] = (), confident: bool = True) -> None:
        self.hits = hits
        self.confident = confident
        self.calls: list[tuple[str, int, int, tuple[str, ...]]] = []

    def __call__(self, question: str, k: int, context: int, scope: tuple[str, ...] = ()) -> Found:
        self.calls.append((question, k, context, scope))
        return Found(self.hits[:k], self.confident)


def damaged_copy(model: Path, to: Path) -> Path:
    """A copy of a model folder with one byte of its weights flipped: its checksum no longer matches."""
    shutil.copytree(model, to)
    data = bytearray((to / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (to / "model.safetensors").write_bytes(bytes(data))
    return to
