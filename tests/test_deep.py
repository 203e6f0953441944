"""The re-ranking transformer: it matches sentence-transformers, its vectors follow the articles, a damaged model
or an unfinished reading falls back to the static ranking, and kill -9 while it reads loses nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from index.corpus import DEEP_BATCH, Corpus, CorpusConfig
from index.deep import DEEP_DIR, GRAPH, DeepEmbedder, passage_text
from index.semantic import from_blobs
from tests.fakes import damaged_copy
from tests.gold import gold_answers
from tests.processes import make_corpus

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"
QUESTION = "What weapons did Moscow hand over to Pyongyang?"


def open_corpus(folder: Path, db: Path, **options: object) -> Corpus:
    corpus = Corpus.open(CorpusConfig(folder=folder, db_path=db, **options))  # type: ignore[arg-type]
    corpus.index()
    return corpus


@pytest.mark.parametrize("runtime", ["onnx", "numpy"])
def test_the_transformer_matches_sentence_transformers(runtime: str) -> None:
    """Reference vectors were computed with sentence-transformers itself (see the file's `made_with`); the shipped
    weights are 8-bit, the GELU is the tanh form, and still every vector is within 0.001 in cosine, whether
    onnxruntime or numpy runs the layers."""
    reference = json.loads(REFERENCE.read_text())
    embedder = DeepEmbedder(runtime=runtime)
    vectors = embedder.embed(reference["sentences"])
    assert (embedder._parts[0].runtime is not None) == (runtime == "onnx")
    cosines = (vectors * np.array(reference["vectors"])).sum(1)
    assert cosines.min() >= 0.999, cosines
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_onnxruntime_and_numpy_read_alike_and_a_graph_it_cannot_run_falls_back_to_numpy(tmp_path: Path, caplog) -> None:
    texts = [QUESTION, passage_text("North Korea 'plots' extra support for Russia", "It could also mean the North is negotiating.")]
    fast, slow = DeepEmbedder(runtime="onnx").embed(texts), DeepEmbedder(runtime="numpy").embed(texts)
    assert np.abs(fast - slow).max() < 1e-5
    folder = shutil.copytree(DEEP_DIR, tmp_path / "deep")
    (folder / GRAPH).write_bytes(b"not a graph")
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest[GRAPH] = hashlib.sha256(b"not a graph").hexdigest()  # whole, as shipped: onnxruntime cannot parse it
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="index.deep"):
        fallen = DeepEmbedder(folder)
        assert np.abs(fallen.embed(texts) - slow).max() < 1e-5
    assert fallen._parts[0].runtime is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "index.deep"]
    assert len(warnings) == 1 and "runs in numpy" in warnings[0]


def test_the_question_is_read_on_a_thread_of_its_own_with_the_same_result() -> None:
    embedder = DeepEmbedder()
    pending = embedder.embed_meanwhile([QUESTION])
    assert np.array_equal(pending.result(timeout=30), embedder.embed([QUESTION]))
    assert any(t.name.startswith("transformer") for t in threading.enumerate())


def deep_rows(corpus: Corpus) -> dict[int, np.ndarray]:
    with closing(sqlite3.connect(corpus.config.db_path)) as conn:
        rows = conn.execute("select passage_id, vector from deep_vectors").fetchall()
    return {pid: from_blobs([blob], DeepEmbedder.dims)[0] for pid, blob in rows}


def test_every_sentence_is_read_with_its_title_and_answers_use_it(seeds_dir: Path, tmp_path: Path) -> None:
    corpus = open_corpus(seeds_dir, tmp_path / "q.db")
    rows = deep_rows(corpus)
    passages = list(corpus.store.iter_passages())
    assert set(rows) == {p.id for p in passages} and corpus.deep_missing() is None
    sources = corpus.store.sources()
    sample = passages[::20]
    expected = DeepEmbedder().embed([passage_text(sources[p.article_id].title, p.text) for p in sample])
    alone = DeepEmbedder().embed([p.text for p in sample])
    for passage, vector, bare in zip(sample, expected, alone, strict=True):
        assert float(rows[passage.id] @ vector) > 0.9999
        if sources[passage.article_id].title:
            assert passage_text(sources[passage.article_id].title, passage.text).startswith(sources[passage.article_id].title)
            assert float(rows[passage.id] @ bare) < 0.99  # the title was read too, not the sentence alone
    result = corpus.ask(QUESTION, 3)
    assert result.evidence is not None and result.evidence.model == "transformer"
    assert result.hits[0].passage.text in gold_answers(QUESTION)
    corpus.close()


def test_vectors_follow_added_updated_and_deleted_articles(seeds_dir: Path, tmp_path: Path) -> None:
    corpus = open_corpus(seeds_dir, tmp_path / "q.db")
    fair = seeds_dir / "fair.txt"
    fair.write_text("County fair results\n\nA llama named Pablo won the top prize for the third year running.\n", encoding="utf-8")
    corpus.refresh()
    ids = {p.id for p in corpus.store.iter_passages() if p.article_id == "fair.txt"}
    assert ids and ids <= set(deep_rows(corpus)) and corpus.deep_missing() is None
    fair.write_text("County fair results\n\nAn alpaca called Rosa took the blue ribbon at the state show.\n", encoding="utf-8")
    corpus.refresh()
    assert not ids & set(deep_rows(corpus))
    assert corpus.ask("Which alpaca won the ribbon?", 1).hits[0].source.article_id == "fair.txt"
    fair.unlink()
    corpus.refresh()
    assert set(deep_rows(corpus)) == {p.id for p in corpus.store.iter_passages()}
    corpus.close()


def test_unread_candidates_fall_back_to_the_static_ranking_and_a_few_are_read_while_answering(seeds_dir: Path, tmp_path: Path) -> None:
    corpus = open_corpus(seeds_dir, tmp_path / "q.db")
    read = corpus.ask(QUESTION, 3)
    corpus.store.clear_deep_vectors()
    unread = corpus.ask(QUESTION, 3)
    assert unread.evidence is not None and unread.evidence.model == "static" and unread.hits
    corpus.read_deep()
    [top] = [h.passage.id for h in read.hits[:1]]
    with closing(sqlite3.connect(corpus.config.db_path)) as conn, conn:
        conn.execute("delete from deep_vectors where passage_id = ?", [top])
    again = corpus.ask(QUESTION, 3)
    assert again.evidence is not None and again.evidence.model == "transformer"
    assert [h.passage.id for h in again.hits] == [h.passage.id for h in read.hits]  # read while answering, the same
    corpus.close()


def test_a_damaged_transformer_falls_back_to_the_static_ranking_with_one_warning(seeds_dir: Path, tmp_path: Path, caplog) -> None:
    model = damaged_copy(DEEP_DIR, tmp_path / "deep")
    with caplog.at_level(logging.WARNING, logger="index.deep"):
        corpus = open_corpus(seeds_dir, tmp_path / "q.db", deep_model=model)
    assert corpus.deep is None and "checksum" in (corpus.semantic_problem or "")
    assert len([r for r in caplog.records if r.name == "index.deep"]) == 1
    static = open_corpus(seeds_dir, tmp_path / "static.db", deep=False)
    assert corpus.find(QUESTION, 3).hits and corpus.find(QUESTION, 3) == static.find(QUESTION, 3)
    assert corpus.ask(QUESTION, 3).evidence.model == "static"  # type: ignore[union-attr]
    corpus.close()
    static.close()


def test_questions_are_answered_while_the_transformer_reads(seeds_dir: Path, tmp_path: Path) -> None:
    """As in `quotebot serve`: the refresher's reading holds the index for a while; questions do not wait for it."""
    corpus = open_corpus(seeds_dir, tmp_path / "q.db")
    make_corpus(seeds_dir / "more", 60)
    corpus.index(deep=False)
    assert corpus.deep_missing() is not None
    done = threading.Event()
    thread = threading.Thread(target=lambda: (corpus.read_deep(), done.set()))
    thread.start()
    answered_during = 0
    while not done.is_set():
        hits = corpus.search("what did Russia give North Korea", 3)
        assert hits and hits[0].passage.text in gold_answers("what did Russia give North Korea")
        answered_during += not done.is_set()
    thread.join()
    assert answered_during > 5 and corpus.deep_missing() is None


def test_a_question_does_not_wait_for_a_long_reading(seeds_dir: Path, tmp_path: Path) -> None:
    """`quotebot ask` reads a few hundred sentences before answering, never a whole archive's backlog."""
    corpus = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=tmp_path / "q.db"))
    corpus.index(deep=False)
    unread = corpus.deep_missing()
    assert unread is not None and unread[0] == 0
    assert corpus.refresh(deep_backlog=unread[1] - 1) is None  # too much to read now, and nothing else to do
    assert corpus.deep_missing() == unread
    assert corpus.refresh(deep_backlog=unread[1]) is not None
    assert corpus.deep_missing() is None
    corpus.close()


def test_ask_answers_at_once_and_says_what_the_transformer_has_not_read_and_eval_reads_it_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_corpus(data, 120)  # about 660 sentences: more than `ask` reads before answering
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "SLACK_"))}
    command = [sys.executable, "-m", "bot", "--data", str(data), "--db", str(tmp_path / "q.db")]
    indexed = subprocess.run([*command, "index"], capture_output=True, text=True, env={**env, "QUOTEBOT_RERANK": "off"}, timeout=120)
    assert indexed.returncode == 0, indexed.stderr
    asked = subprocess.run([*command, "ask", "w1x w2x w3x"], capture_output=True, text=True, env=env, timeout=60)
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("1. “")
    assert "note: the transformer has read 0 of " in asked.stderr and "`quotebot index`" in asked.stderr
    assert deep_count(tmp_path / "q.db") == 0
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "g1", "question": "w1x w2x w3x", "answers": [], "kind": "other"}) + "\n", encoding="utf-8")
    as_is = subprocess.run([*command, "eval", "--as-is", str(gold)], capture_output=True, text=True, env=env, timeout=60)
    assert as_is.returncode == 0 and "P@1" in as_is.stdout, as_is.stderr
    assert "note: the transformer has read 0 of " in as_is.stderr and deep_count(tmp_path / "q.db") == 0
    measured = subprocess.run([*command, "eval", "--json", str(gold)], capture_output=True, text=True, env=env, timeout=300)
    assert measured.returncode == 0, measured.stderr
    assert "Reading sentences for re-ranking" in measured.stderr and "note:" not in measured.stderr
    with closing(sqlite3.connect(tmp_path / "q.db")) as conn:
        assert deep_count(tmp_path / "q.db") == conn.execute("select count(*) from passages").fetchone()[0]
    assert json.loads(measured.stdout)["overall"]["questions"] == 1


def deep_count(db: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute("select count(*) from deep_vectors").fetchone()[0])
    except sqlite3.Error:
        return 0


def index_command(data: Path, db: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "SLACK_"))}
    return [sys.executable, "-m", "bot", "--data", str(data), "--db", str(db), "index"], env


def reading(tmp_path: Path, files: int) -> tuple[Path, Path, list[str], dict[str, str], subprocess.Popen[str]]:
    """`quotebot index` of `files` generated articles, once the transformer has committed its first batch:
    (articles folder, database, the command, its environment, the running process)."""
    data, db = tmp_path / "data", tmp_path / "q.db"
    make_corpus(data, files)
    command, env = index_command(data, db)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while deep_count(db) < DEEP_BATCH:
        assert process.poll() is None and time.monotonic() < deadline, "the transformer never committed"
        time.sleep(0.05)
    return data, db, command, env, process


def test_kill_9_while_the_transformer_reads_keeps_what_it_committed(tmp_path: Path) -> None:
    data, db, command, env, process = reading(tmp_path, 300)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    corpus = Corpus.open(CorpusConfig(folder=data, db_path=db))
    done, total = corpus.deep_missing()  # type: ignore[misc]
    assert done % DEEP_BATCH == 0 and DEEP_BATCH <= done < total
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    passage = next(corpus.store.iter_passages())
    assert corpus.search(passage.text, 1)[0].passage.text == passage.text  # answered meanwhile
    corpus.close()
    rest = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert rest.returncode == 0, rest.stderr
    assert "Reading sentences for re-ranking" in rest.stderr
    again = Corpus.open(CorpusConfig(folder=data, db_path=db))
    assert again.deep_missing() is None and deep_count(db) == again.store.counts()[1]
    again.close()


def test_ctrl_c_while_the_transformer_reads_says_what_it_read_and_the_next_run_reads_the_rest(tmp_path: Path) -> None:
    data, db, command, env, process = reading(tmp_path, 200)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("Stopped (SIGINT). All 200 articles are indexed and answer questions; the transformer read ")
    read = int(last.split("the transformer read ")[1].split(" of ")[0].replace(",", ""))
    # what it said it read was kept (a batch committed just as the signal came may not be counted yet)
    assert read % DEEP_BATCH == 0 and read <= deep_count(db) <= read + DEEP_BATCH
    assert last.endswith("`quotebot index` or a running bot reads the rest.")
    rest = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert rest.returncode == 0, rest.stderr
    assert "(0 added, 0 updated, 0 removed, 200 unchanged)" in rest.stdout
    corpus = Corpus.open(CorpusConfig(folder=data, db_path=db))
    assert corpus.deep_missing() is None
    corpus.close()
