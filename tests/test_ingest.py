"""Indexing a folder: incremental changes, bad files, interrupted runs."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from index.ingest import index_folder, plan_index, run_index
from index.store import Store

GOOD = "Officials said the bridge would reopen in March. Engineers finished the repairs early.\n"


def test_bundled_corpus_summary(seeds_dir: Path) -> None:
    report = index_folder(seeds_dir, Store.memory())
    assert report.articles == 5
    assert len(report.added) == 5
    assert report.repeats_dropped == 1  # article 000 repeats its first sentence
    assert report.copies >= 4  # syndicated sentences grouped with their copies
    assert report.skipped == ()


def test_a_run_reports_the_copies_it_grouped(seeds_dir: Path) -> None:
    store = Store.memory()
    index_folder(seeds_dir, store)
    again = index_folder(seeds_dir, store)
    assert (again.copies, again.repeats_dropped) == (0, 1)  # nothing new to group; the index still holds one repeat
    wire = next(p.text for p in store.iter_passages() if p.text.startswith("Russia has supplied air defense missiles"))
    (seeds_dir / "copy.txt").write_text(wire.replace("Friday", "on Friday") + "\n", encoding="utf-8")
    assert index_folder(seeds_dir, store).copies == 1


def test_second_run_changes_nothing(seeds_dir: Path) -> None:
    store = Store.memory()
    index_folder(seeds_dir, store)
    generation = store.generation
    assert plan_index(seeds_dir, store).is_empty
    report = index_folder(seeds_dir, store)
    assert not report.changed and report.unchanged == 5
    assert store.generation == generation


def test_added_changed_and_deleted_files(seeds_dir: Path) -> None:
    store = Store.memory()
    index_folder(seeds_dir, store)
    (seeds_dir / "new.txt").write_text(GOOD, encoding="utf-8")
    changed = seeds_dir / "003_48ae2eef28f3657b.txt"
    changed.write_text("The summit was moved to Geneva at short notice. Delegates arrived on Sunday.\n", encoding="utf-8")
    (seeds_dir / "004_d9ef441bf8dd54f3.txt").unlink()
    report = index_folder(seeds_dir, store)
    assert report.added == ("new.txt",)
    assert report.updated == ("003_48ae2eef28f3657b.txt",)
    assert report.removed == ("004_d9ef441bf8dd54f3.txt",)
    texts = {p.text for p in store.iter_passages()}
    assert "Delegates arrived on Sunday." in texts
    assert not any("Choe Son Hui" in t for t in texts)


def test_bad_files_are_skipped_with_reasons_and_good_ones_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (folder / "nav.txt").write_text("Home\nNews\nSport\nSubscribe\n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Caf\xe9 owners said prices rose again this week.".encode("latin-1"))
    with open(folder / "huge.txt", "wb") as huge:
        huge.truncate(50 * 1024 * 1024)
    report = index_folder(folder, Store.memory())
    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "nav.txt", "huge.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "no sentences" in reasons["nav.txt"]
    assert "larger than" in reasons["huge.txt"]
    assert sorted(report.added) == ["good.txt", "latin1.txt"]
    assert any("latin1.txt" in w and "UTF-8" in w for w in report.warnings)


def test_skipped_files_are_not_retried_until_they_change(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    store = Store.memory()
    assert index_folder(folder, store).skipped
    assert plan_index(folder, store).is_empty
    (folder / "empty.txt").write_text(GOOD, encoding="utf-8")
    assert index_folder(folder, store).added == ("empty.txt",)


def test_the_memory_of_skipped_files_follows_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01" * 50)
    store = Store.memory()
    index_folder(folder, store)
    assert set(store.skipped()) == {"empty.txt", "binary.txt"}
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    assert index_folder(folder, store).added == ("good.txt",)
    assert set(store.skipped()) == {"empty.txt", "binary.txt"}  # unchanged, still remembered, not retried
    (folder / "binary.txt").unlink()
    index_folder(folder, store)
    assert set(store.skipped()) == {"empty.txt"}  # a skipped file that is gone is forgotten


def test_a_file_that_breaks_keeps_its_indexed_version(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    path = folder / "story.txt"
    path.write_text(GOOD, encoding="utf-8")
    store = Store.memory()
    index_folder(folder, store)
    path.write_bytes(b"\x00\x01\x02" * 100)
    report = index_folder(folder, store)
    assert "indexed earlier stays" in report.skipped[0].reason
    assert "Engineers finished the repairs early." in {p.text for p in store.iter_passages()}


def test_interrupted_run_leaves_whole_articles_and_the_next_run_finishes(seeds_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    store = Store(db)

    def stop_after_two(path: Path, seen: list[Path] = []) -> None:  # noqa: B006 - a counter local to this test
        seen.append(path)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_index(plan_index(seeds_dir, store), store, on_file=stop_after_two, commit_seconds=0)  # one per batch
    reopened = Store(db)
    articles = reopened.articles()
    assert len(articles) == 2
    assert all(a.sentences == len([p for p in reopened.iter_passages() if p.article_id == aid]) for aid, a in articles.items())
    report = index_folder(seeds_dir, reopened)
    assert len(report.added) == 3 and report.articles == 5


class FailingSentences(list):
    """An article's sentences whose writing fails after the first, as when the disk fills up."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self[0]
        raise sqlite3.OperationalError("database or disk is full")


class FailingStore(Store):
    """A store whose disk fills up halfway through a batch, after the batch's old passages are deleted."""

    def put_articles(self, articles):  # type: ignore[no-untyped-def]
        source, file, sentences = articles[-1]
        return super().put_articles([*articles[:-1], (source, file, FailingSentences(sentences))])


def test_a_failed_write_leaves_every_article_whole(seeds_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    store = Store(db)
    index_folder(seeds_dir, store)
    before = _texts_by_article(store)
    added = "A sentence added to every article today."
    for path in seeds_dir.glob("*.txt"):
        path.write_text(path.read_text(encoding="utf-8") + f"\n{added}\n", encoding="utf-8")
    with pytest.raises(sqlite3.OperationalError):
        index_folder(seeds_dir, FailingStore(db))
    after = _texts_by_article(Store(db))
    assert all(after[aid] in (texts, texts | {added}) for aid, texts in before.items())  # old or new, never half
    report = index_folder(seeds_dir, Store(db))
    assert report.articles == 5 and all(added in texts for texts in _texts_by_article(Store(db)).values())


def _texts_by_article(store: Store) -> dict[str, set[str]]:
    texts: dict[str, set[str]] = {}
    for passage in store.iter_passages():
        texts.setdefault(passage.article_id, set()).add(passage.text)
    return texts


def test_metadata_file_applies_and_changes_reindex(seeds_dir: Path) -> None:
    store = Store.memory()
    index_folder(seeds_dir, store)
    assert store.sources()["000_03080617be983ea0.txt"].outlet == "Sahara Reporters"
    with open(seeds_dir / "metadata.toml", "a", encoding="utf-8") as f:
        f.write('\n["003_48ae2eef28f3657b.txt"]\nurl = "https://news.example/nk-troops"\n')
    index_folder(seeds_dir, store)
    assert store.sources()["003_48ae2eef28f3657b.txt"].url == "https://news.example/nk-troops"


def test_broken_metadata_file_is_reported_not_fatal(seeds_dir: Path) -> None:
    (seeds_dir / "metadata.toml").write_text("this is [not toml", encoding="utf-8")
    report = index_folder(seeds_dir, Store.memory())
    assert report.articles == 5
    assert any("metadata.toml" in w for w in report.warnings)


def test_hidden_and_other_files_are_not_articles(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "notes.txt").write_text(GOOD, encoding="utf-8")
    (folder / "synonyms.txt").write_text("give, send\n", encoding="utf-8")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8")
    (folder / "story.md").write_text(GOOD, encoding="utf-8")
    os.utime(folder / "story.md")
    assert index_folder(folder, Store.memory()).added == ("story.md",)
