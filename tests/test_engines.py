"""One suite for both engines: same results, incremental sync, crash safety, queries during ingest."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from index.analysis import Analyzer
from index.corpus import Corpus, CorpusConfig, engine_folder
from index.engine import RankBM25Engine
from index.evaluate import load_gold
from index.ingest import index_folder
from index.store import Store
from index.tantivy_engine import STATE_FILE, TantivyEngine
from tests.gold import gold_answers
from tests.processes import children, gone, make_corpus, stored_articles

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["russia missil north korea", "spy satellit orbit", "troop kursk", "oreshnik", "economic aid", "artilleri shell"]


def engines(store: Store, tmp: Path) -> tuple[RankBM25Engine, TantivyEngine]:
    analyzer = Analyzer()
    rank = RankBM25Engine((p.id, analyzer.terms(p.text), p.article_id) for p in store.iter_passages())
    tantivy = TantivyEngine(tmp / "engine")
    tantivy.sync(store)
    return rank, tantivy


def assert_same_results(rank: RankBM25Engine, tantivy: TantivyEngine, queries: list[dict[str, float]]) -> None:
    assert rank.doc_count == tantivy.doc_count
    for query in queries:
        a, b = rank.search(query, 10), tantivy.search(query, 10)
        assert len(a) == len(b)
        if not a:
            continue
        # Tantivy stores lengths as one-byte norms: the best scores agree to 10 %, and the two may put a
        # different sentence first only when rank-bm25 scores that sentence within 10 % of its own best.
        assert b[0][1] == pytest.approx(a[0][1], rel=0.1)
        if b[0][0] != a[0][0]:
            assert dict(a).get(b[0][0], 0.0) == pytest.approx(a[0][1], rel=0.1), (query, a[:3], b[:3])
        assert len({pid for pid, _ in a} & {pid for pid, _ in b}) >= 0.7 * len(a)


def test_same_results_on_the_bundled_corpus(seeds_dir: Path, tmp_path: Path) -> None:
    store = Store.memory()
    index_folder(seeds_dir, store)
    rank, tantivy = engines(store, tmp_path)
    assert_same_results(rank, tantivy, [dict.fromkeys(q.split(), 1.0) for q in QUERIES])
    for term in ("russia", "korea", "oreshnik", "nothing"):
        assert rank.doc_freq(term) == tantivy.doc_freq(term)


def test_same_results_on_a_generated_corpus(tmp_path: Path) -> None:
    make_corpus(tmp_path / "gen", 300)
    store = Store.memory()
    index_folder(tmp_path / "gen", store)
    rank, tantivy = engines(store, tmp_path)
    rng = random.Random(3)
    queries = [{f"w{rng.randint(0, 800)}x": 1.0 for _ in range(rng.randint(2, 5))} for _ in range(40)]
    assert_same_results(rank, tantivy, queries)


@pytest.mark.parametrize("semantic", [True, False], ids=["hybrid", "bm25"])
def test_same_answers_through_search(seeds_dir: Path, tmp_path: Path, semantic: bool) -> None:
    answers = {}
    for name in ("tantivy", "rank-bm25"):
        config = CorpusConfig(folder=seeds_dir, db_path=tmp_path / f"{name}.db", engine=name, semantic=semantic)
        corpus = Corpus.open(config)
        corpus.index()
        answers[name] = [[h.passage.text for h in corpus.search(q.question, 3)] for q in load_gold(ROOT / "eval" / "dev.jsonl")]
        corpus.close()
    same_first = sum(a[:1] == b[:1] for a, b in zip(answers["tantivy"], answers["rank-bm25"]))
    assert same_first >= 0.95 * len(answers["tantivy"])


def test_incremental_sync_and_reopen_without_rebuild(seeds_dir: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    index_folder(seeds_dir, store)
    engine = TantivyEngine(tmp_path / "engine")
    assert engine.sync(store)
    before = engine.doc_count
    (seeds_dir / "004_d9ef441bf8dd54f3.txt").unlink()
    (seeds_dir / "zoo.txt").write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    index_folder(seeds_dir, store)
    assert engine.sync(store)
    assert engine.doc_count == store.counts()[1] < before
    assert engine.search({"giraff": 1.0}, 3)
    assert not engine.search({"choe": 1.0}, 3)
    reopened = TantivyEngine(tmp_path / "engine")
    assert reopened.generation == store.generation
    assert not reopened.sync(store)  # nothing to do: no rebuild at start
    assert reopened.doc_count == store.counts()[1]


def test_a_sync_cut_short_is_redone_without_duplicates(seeds_dir: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    index_folder(seeds_dir, store)
    engine = TantivyEngine(tmp_path / "engine")
    engine.sync(store)
    old_generation = engine.generation
    (seeds_dir / "zoo.txt").write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    index_folder(seeds_dir, store)
    engine.sync(store)
    # As if the process died after Tantivy's commit but before the state was recorded:
    state = json.loads((tmp_path / "engine" / STATE_FILE).read_text())
    (tmp_path / "engine" / STATE_FILE).write_text(json.dumps({**state, "generation": old_generation}))
    again = TantivyEngine(tmp_path / "engine")
    assert again.sync(store)
    assert again.doc_count == store.counts()[1]
    assert len(again.search({"giraff": 1.0}, 10)) == 1


def test_kill_9_during_index_leaves_a_serving_index_and_the_next_run_finishes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_corpus(data, 6000)
    db = tmp_path / "q.db"
    command = [sys.executable, "-m", "bot", "--data", str(data), "--db", str(db), "index"]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QUOTEBOT_")}
    environ["QUOTEBOT_RERANK"] = "off"  # the transformer's reading afterwards would take minutes here; see tests/test_deep.py
    killed_midway = 0
    for stored_before_kill in (1, 2000, 4000):
        process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and stored_articles(db) < stored_before_kill:
            time.sleep(0.005)
        if process.poll() is None:
            workers = children(process.pid)
            assert workers  # the index run's worker processes (and multiprocessing's resource tracker)
            process.send_signal(signal.SIGKILL)
            killed_midway += 1
            process.wait()
            assert gone(workers, seconds=5), "workers outlived the killed index run"
        process.wait()
        corpus = Corpus.open(CorpusConfig(folder=data, db_path=db))
        stored = corpus.store.articles()
        passages = list(corpus.store.iter_passages())
        assert all(a.sentences == sum(p.article_id == aid for p in passages) for aid, a in stored.items())
        if passages:
            assert corpus.search(passages[0].text, 1)  # whatever was committed is searchable
            assert corpus.searcher.engine.doc_count == len(passages)
        corpus.close()
    assert killed_midway >= 2  # the kills really landed while the index was being written
    finished = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert "Indexed 6000 articles" in finished.stdout
    corpus = Corpus.open(CorpusConfig(folder=data, db_path=db))
    assert corpus.searcher.engine.doc_count == corpus.store.counts()[1]


def test_queries_keep_working_during_an_ingest(seeds_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    reader = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=db))
    reader.index()
    writer = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=db, deep=False))  # the transformer's reading: tests/test_deep.py
    make_corpus(seeds_dir / "more", 400)
    errors: list[BaseException] = []
    answered = 0

    def ingest() -> None:
        try:
            writer.index()
            writer.searcher  # noqa: B018 - sync the engine while the reader queries
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    thread = threading.Thread(target=ingest)
    thread.start()
    while thread.is_alive():
        hits = reader.search("what did Russia give North Korea", 3)
        assert hits and hits[0].passage.text in gold_answers("what did Russia give North Korea")
        answered += 1
    thread.join()
    assert not errors
    assert answered > 5
    assert reader.search("w1x w2x", 1)  # the reader sees the new articles once they are in
    assert engine_folder(db).is_dir()


def test_the_same_corpus_answers_while_it_ingests(seeds_dir: Path, tmp_path: Path) -> None:
    """As in `quotebot serve`: the refresher ingests while questions arrive on the same Corpus."""
    corpus = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=tmp_path / "q.db"))
    corpus.index()
    corpus.search("Oreshnik", 1)
    make_corpus(seeds_dir / "more", 400)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (corpus.index(deep=False), done.set()))  # the reading: tests/test_deep.py
    thread.start()
    answered_during = 0
    while not done.is_set():
        hits = corpus.search("what did Russia give North Korea", 3)
        assert hits and hits[0].passage.text in gold_answers("what did Russia give North Korea")
        if not done.is_set():
            answered_during += 1
    thread.join()
    assert answered_during > 5  # questions did not wait for the ingest to finish
    assert corpus.search("w1x w2x", 1)  # and the engine caught up afterwards
    assert corpus.searcher.engine.doc_count == corpus.store.counts()[1]


def test_article_count_follows_every_change(seeds_dir: Path, tmp_path: Path) -> None:
    corpus = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=tmp_path / "q.db"))
    corpus.index()
    assert corpus.article_count() == 5
    (seeds_dir / "zoo.txt").write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    corpus.refresh()
    assert corpus.article_count() == 6
    (seeds_dir / "zoo.txt").unlink()
    corpus.refresh()
    assert corpus.article_count() == 5
