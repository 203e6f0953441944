from __future__ import annotations

import pytest

from index.models import Source
from index.store import FileState, Store

FILE = FileState(size=1, mtime_ns=1, sha256="x")
WIRE = "Russia has supplied air defense missiles to North Korea in exchange for troops, an official said Friday."
COPY = "Russia has supplied air-defence missiles to North Korea in exchange for troops, an official said on Friday."


def test_repeats_within_an_article_are_stored_once(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    dropped = store.put_article(Source("a.txt"), FILE, [(0, "One sentence here.", ""), (1, "Two sentences here.", ""), (2, "One sentence here.", "")])
    assert dropped == 1
    assert [p.text for p in store.iter_passages()] == ["One sentence here.", "Two sentences here."]
    assert [p.position for p in store.iter_passages()] == [0, 1]


def test_near_identical_sentences_across_articles_share_a_group() -> None:
    store = Store.memory()
    store.put_article(Source("a.txt"), FILE, [(0, WIRE, ""), (0, "Something else entirely happened there.", "")])
    store.put_article(Source("b.txt"), FILE, [(0, COPY, "")])
    passages = list(store.iter_passages())
    assert passages[0].group_id == passages[2].group_id
    assert passages[1].group_id != passages[0].group_id
    assert store.group_articles([passages[0].group_id]) == {passages[0].group_id: ["a.txt", "b.txt"]}
    assert store.group_count() == 1


def test_replacing_an_article_is_idempotent_and_ids_are_not_reused() -> None:
    store = Store.memory()
    store.put_article(Source("a.txt"), FILE, [(0, WIRE, "")])
    first = [p.id for p in store.iter_passages()]
    generation = store.generation
    store.put_article(Source("a.txt", title="T"), FILE, [(0, WIRE, "")])
    assert store.counts() == (1, 1)
    assert [p.id for p in store.iter_passages()] != first
    assert store.sources()["a.txt"].title == "T"
    assert store.generation > generation


def test_remove_article() -> None:
    store = Store.memory()
    store.put_article(Source("a.txt"), FILE, [(0, WIRE, "")])
    store.remove_article("a.txt")
    assert store.counts() == (0, 0)


def test_a_failed_write_leaves_the_previous_article(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    store.put_article(Source("a.txt"), FILE, [(0, WIRE, "")])
    with pytest.raises((AttributeError, TypeError)):  # the second sentence is not text
        store.put_article(Source("a.txt"), FILE, [(0, "A new first sentence.", ""), (1, None, "")])  # type: ignore[list-item]
    reopened = Store(tmp_path / "s.db")
    assert [p.text for p in reopened.iter_passages()] == [WIRE]
