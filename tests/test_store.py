from __future__ import annotations

import pytest

from index.models import Source
from index.store import SCHEMA_VERSION, FileState, Store, new_passage

FILE = FileState(size=1, mtime_ns=1, sha256="x")
WIRE = "Russia has supplied air defense missiles to North Korea in exchange for troops, an official said Friday."
COPY = "Russia has supplied air-defence missiles to North Korea in exchange for troops, an official said on Friday."


def test_repeats_within_an_article_are_stored_once(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    sentences = [new_passage(0, "One sentence here.", ""), new_passage(1, "Two sentences here.", ""), new_passage(2, "One sentence here.", "")]
    dropped = store.put_article(Source("a.txt"), FILE, sentences)
    assert dropped == 1
    assert [p.text for p in store.iter_passages()] == ["One sentence here.", "Two sentences here."]
    assert [p.position for p in store.iter_passages()] == [0, 1]


def test_near_identical_sentences_across_articles_share_a_group() -> None:
    store = Store.memory()
    store.put_article(Source("a.txt"), FILE, [new_passage(0, WIRE, ""), new_passage(0, "Something else entirely happened there.", "")])
    store.put_article(Source("b.txt"), FILE, [new_passage(0, COPY, "")])
    passages = list(store.iter_passages())
    assert passages[0].group_id == passages[2].group_id
    assert passages[1].group_id != passages[0].group_id
    assert store.group_articles([passages[0].group_id]) == {passages[0].group_id: ["a.txt", "b.txt"]}
    assert store.group_count() == 1


def test_replacing_an_article_is_idempotent_and_ids_are_not_reused() -> None:
    store = Store.memory()
    store.put_article(Source("a.txt"), FILE, [new_passage(0, WIRE, "")])
    first = [p.id for p in store.iter_passages()]
    generation = store.generation
    store.put_article(Source("a.txt", title="T"), FILE, [new_passage(0, WIRE, "")])
    assert store.counts() == (1, 1)
    assert [p.id for p in store.iter_passages()] != first
    assert store.sources()["a.txt"].title == "T"
    assert store.generation > generation


def test_remove_article() -> None:
    store = Store.memory()
    store.put_article(Source("a.txt"), FILE, [new_passage(0, WIRE, "")])
    store.remove_article("a.txt")
    assert store.counts() == (0, 0)


class BrokenSentences(list):
    """Sentences whose reading fails halfway, as when the disk under a file goes away."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield new_passage(0, "A new first sentence.", "")
        raise OSError("the file went away")


def test_a_failed_write_leaves_the_previous_article(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    store.put_article(Source("a.txt"), FILE, [new_passage(0, WIRE, "")])
    with pytest.raises(OSError):
        store.put_article(Source("a.txt"), FILE, BrokenSentences([None, None]))
    reopened = Store(tmp_path / "s.db")
    assert [p.text for p in reopened.iter_passages()] == [WIRE]
    assert store.put_article(Source("b.txt"), FILE, [new_passage(0, COPY, "")]) == 0  # the store still writes


def test_a_copy_is_found_by_its_last_words_and_a_common_opening_is_not_a_copy() -> None:
    store = Store.memory()
    store.put_article(Source("a.txt"), FILE, [new_passage(0, "Many observers say the war in Ukraine has changed the security of the whole region for a generation or more.", "")])
    store.put_article(Source("b.txt"), FILE, [new_passage(0, "According to the Associated Press, many observers say the war in Ukraine has changed the security of the whole region for a generation or more.", "")])
    store.put_article(Source("c.txt"), FILE, [new_passage(0, "Many observers say the talks will fail before the winter.", "")])
    a, b, c = store.iter_passages()
    assert a.group_id == b.group_id != c.group_id


STORE_V1 = """
create table sources (id text primary key, title text, outlet text, published text, url text, size integer,
  mtime_ns integer, sha256 text, sentences integer, repeats integer);
create table passages (id integer primary key, article_id text references sources(id), position integer,
  paragraph integer, text text, terms text, fingerprint text, head_key text, tail_key text, group_id integer);
create unique index idx_passages_article_id_position on passages (article_id, position);
create index idx_passages_group_id on passages (group_id);
create index idx_passages_head_key on passages (head_key);
create index idx_passages_tail_key on passages (tail_key);
create table changes (generation integer primary key, article_id text);
create table skipped (id text primary key, size integer, mtime_ns integer, reason text);
create table meta (key text primary key, value text);
insert into meta values ('schema_version', '1'), ('generation', '1'), ('next_passage_id', '2');
insert into changes values (1, 'a.txt');
insert into sources values ('a.txt', null, 'Associated Press', null, null, 1, 1, 'x', 1, 0);
"""


def test_a_store_from_the_first_schema_is_migrated_and_keeps_grouping_copies(tmp_path) -> None:
    import sqlite3

    from index.dedupe import fingerprint

    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.executescript(STORE_V1)
        key = fingerprint(WIRE)
        words = key.split()
        conn.execute(
            "insert into passages values (1, 'a.txt', 0, 0, ?, '', ?, ?, ?, 1)",
            [WIRE, key, " ".join(words[:4]), " ".join(words[-4:])],
        )
    store = Store(tmp_path / "old.db")
    assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert [p.text for p in store.iter_passages()] == [WIRE]
    assert "head_key" not in store.db["passages"].columns_dict
    store.put_article(Source("b.txt"), FILE, [new_passage(0, COPY, "")])
    assert store.group_articles([1]) == {1: ["a.txt", "b.txt"]}
    assert store.sources()["a.txt"].outlet == "Associated Press"
    assert {"shown_answers", "feedback"} <= set(store.db.table_names())


def test_a_store_from_schema_6_gains_the_rating_tables_and_ratings_outlive_reopening_and_re_indexing(tmp_path) -> None:
    from index.feedback import FeedbackLog
    from tests.fakes import hit

    store = Store(tmp_path / "q.db")
    store.put_article(Source("a.txt"), FILE, [new_passage(0, WIRE, "")])
    store.db.execute("drop table feedback")
    store.db.execute("drop table shown_answers")
    store.db.execute("update meta set value = '6' where key = 'schema_version'")
    store.db.conn.commit()
    store.close()

    log = FeedbackLog(Store(tmp_path / "q.db"))  # opening migrates
    answer_id = log.remember("what did Russia give", (), [hit(WIRE)], "repl")
    assert log.rate(answer_id, "up", "U1") is not None
    log.close()
    store = Store(tmp_path / "q.db")
    assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
    store.put_article(Source("a.txt"), FILE, [new_passage(0, COPY, "")])  # the article re-indexed with other text
    store.close()
    log = FeedbackLog(Store(tmp_path / "q.db"))
    [rating] = log.ratings()
    assert rating.answer_id == answer_id and rating.quotes[0].text == WIRE
    log.close()
