"""The semantic layer: the shipped model loads and behaves, vectors follow the articles, damage falls back to BM25."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.corpus import Corpus, CorpusConfig
from index.semantic import MODEL_DIR, DenseIndex, StaticEmbedder, from_blobs, load_embedder, to_blob
from tests.fakes import damaged_copy
from tests.gold import gold_answers

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"


def open_corpus(folder: Path, db: Path, **options: object) -> Corpus:
    corpus = Corpus.open(CorpusConfig(folder=folder, db_path=db, **options))  # type: ignore[arg-type]
    corpus.index()
    return corpus


def test_vectors_are_unit_length_and_deterministic() -> None:
    embedder = StaticEmbedder()
    vectors = embedder.embed(["Russia supplied missiles.", "Russia supplied missiles.", ""])
    assert vectors.shape == (3, embedder.dims) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors[0], vectors[1])
    assert embedder.embed([]).shape == (0, embedder.dims)


TRICKY = [
    "Don’t “quote” me — it’s 3.5%… (really) [sic] a_b-c/d\\e ~x~ `y` {z}",
    "Café naïve résumé Ærø",  # accents: the tokenizer's own path
    "£5.3m (€7m), ¥100 and 50¢: costs£3 £ 4",  # currency signs are word characters to BERT's pre-tokenizer
    "tab\there\nnewline\r",
    "日本語 text",
    "x" * 150,  # longer than a word piece may be: [UNK], which model2vec drops
    "",
    "   ",
    "[UNK] and [CLS] written in a text",
    "word " * 700,  # over 512 word pieces: model2vec truncates it
]


def test_word_pieces_are_the_tokenizers_and_vectors_model2vecs(seeds_dir: Path) -> None:
    """`StaticEmbedder.embed` finds word pieces its own, faster way: the ids must be the tokenizer's, and the
    vectors model2vec's."""
    from model2vec import StaticModel

    embedder = StaticEmbedder()
    model = StaticModel.from_pretrained(str(MODEL_DIR))
    texts = [line for path in sorted(seeds_dir.glob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += TRICKY
    model.tokenizer.no_truncation()
    expected = [[i for i in e.ids if i != model.unk_token_id] for e in model.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
    assert embedder._pieces.ids(texts) == expected
    assert embedder._pieces.ids(texts) == expected  # again, from the cache
    reference = np.asarray(model.encode(texts, show_progress_bar=False), dtype=np.float32)
    found = embedder.embed(texts)
    empty = np.linalg.norm(reference, axis=1) == 0
    assert empty.sum() == 3 and not np.linalg.norm(found[empty], axis=1).any()  # "", "   " and the [UNK]
    reference = reference[~empty] / np.linalg.norm(reference[~empty], axis=1, keepdims=True)
    assert np.min(np.sum(reference * found[~empty], axis=1)) > 0.99999


def test_static_model_agrees_with_the_transformer_on_what_is_closest() -> None:
    """Reference vectors come from sentence-transformers itself (see the file's `made_with`).

    The static model is a distillation, so its cosines differ; what must hold is that each sentence's
    nearest neighbour and the off-topic question's distance agree with the full model's.
    """
    reference = json.loads(REFERENCE.read_text())
    full = np.array(reference["vectors"])
    static = StaticEmbedder().embed(reference["sentences"])
    full_sim, static_sim = full @ full.T, static @ static.T
    np.fill_diagonal(full_sim, -1)
    np.fill_diagonal(static_sim, -1)
    assert full_sim[0].argmax() == static_sim[0].argmax() == 1  # the missile sentence and its paraphrased question
    assert full_sim[1].argmax() == static_sim[1].argmax() == 0
    assert static_sim[0, 1] > static_sim[0, 3] + 0.1  # closer than "What is the capital of Australia?"


def test_a_damaged_model_falls_back_to_bm25_with_one_warning(tmp_path: Path, seeds_dir: Path, caplog) -> None:
    model = damaged_copy(MODEL_DIR, tmp_path / "model")
    with caplog.at_level(logging.WARNING, logger="index.semantic"):
        corpus = open_corpus(seeds_dir, tmp_path / "q.db", model=model)
    assert corpus.embedder is None and "checksum" in (corpus.semantic_problem or "")
    assert len([r for r in caplog.records if r.name == "index.semantic"]) == 1
    plain = open_corpus(seeds_dir, tmp_path / "plain.db", semantic=False)
    question = "what did Russia give North Korea"
    assert corpus.find(question, 3).hits and corpus.find(question, 3) == plain.find(question, 3)  # BM25 answers
    corpus.close()
    plain.close()


@pytest.mark.parametrize("damage", ["missing folder", "missing manifest", "truncated tokenizer", "vectors of another size"])
def test_missing_or_unreadable_model_files_are_reported_not_raised(tmp_path: Path, damage: str) -> None:
    model = tmp_path / "model"
    if damage != "missing folder":
        shutil.copytree(MODEL_DIR, model)
    if damage == "missing manifest":
        (model / "MANIFEST.json").unlink()
    if damage == "truncated tokenizer":
        (model / "tokenizer.json").write_text("{")
    if damage == "vectors of another size":  # a consistent manifest, but a config that does not fit the vectors
        config = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(json.dumps({**config, "hidden_dim": 128}))
        manifest = json.loads((model / "MANIFEST.json").read_text())
        manifest["config.json"] = hashlib.sha256((model / "config.json").read_bytes()).hexdigest()
        (model / "MANIFEST.json").write_text(json.dumps(manifest))
    embedder, problem = load_embedder(model)
    assert embedder is None and problem and str(model) in problem


def test_vectors_follow_added_updated_and_deleted_articles(seeds_dir: Path, tmp_path: Path) -> None:
    corpus = open_corpus(seeds_dir, tmp_path / "q.db")

    def dense_ids() -> set[int]:
        corpus.searcher  # noqa: B018 - catch up with the store
        dense = corpus._current_dense()
        assert dense is not None
        return {pid for pid, _ in dense.search(corpus.embedder.embed(["x"])[0], 10_000)}

    def store_ids(article: str | None = None) -> set[int]:
        return {pid for pid, aid, vector in corpus.store.iter_vectors() if vector and (article is None or aid == article)}

    assert dense_ids() == store_ids() and len(store_ids()) == corpus.store.counts()[1]
    added = "A llama named Pablo won the county fair's top prize for the third year running."
    (seeds_dir / "fair.txt").write_text(added + "\n", encoding="utf-8")
    corpus.refresh()
    assert dense_ids() == store_ids() and store_ids("fair.txt")
    top = corpus.find("Which animal won the prize at the county fair?", 1).hits[0]
    assert top.passage.text == added
    old = store_ids("fair.txt")
    changed = "An alpaca called Rosa took the blue ribbon at the state show."
    (seeds_dir / "fair.txt").write_text(changed + "\n", encoding="utf-8")
    corpus.refresh()
    assert dense_ids() == store_ids() and not (old & dense_ids())
    assert corpus.find("Which alpaca won the ribbon?", 1).hits[0].passage.text == changed
    (seeds_dir / "fair.txt").unlink()
    corpus.refresh()
    assert dense_ids() == store_ids() and not store_ids("fair.txt")
    corpus.close()


def test_a_store_indexed_without_the_model_gets_its_vectors_later(seeds_dir: Path, tmp_path: Path) -> None:
    plain = open_corpus(seeds_dir, tmp_path / "q.db", semantic=False)
    assert all(vector is None for _, _, vector in plain.store.iter_vectors())
    plain.close()
    corpus = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=tmp_path / "q.db"))
    assert corpus.vectors_missing()
    assert corpus.refresh() is not None  # nothing changed in the folder, but the vectors were missing
    assert not corpus.vectors_missing()
    assert all(vector is not None for _, _, vector in corpus.store.iter_vectors())
    assert corpus.find("What weapons did Moscow hand over to Pyongyang?", 3).hits
    corpus.close()


def test_rephrased_question_is_answered_only_with_semantic_search(seeds_dir: Path, tmp_path: Path) -> None:
    """The kind of question issue reports came from: no word of the answer but 'Pyongyang'."""
    question = "What weapons did Moscow hand over to Pyongyang?"
    hybrid = open_corpus(seeds_dir, tmp_path / "a.db")
    plain = open_corpus(seeds_dir, tmp_path / "b.db", semantic=False)
    assert not plain.find(question, 3).hits
    assert hybrid.find(question, 3).hits[0].passage.text in gold_answers(question)
    hybrid.close()
    plain.close()


def test_dense_index_replaces_rows_by_article() -> None:
    index = DenseIndex(2)
    up, right = to_blob(np.array([1.0, 0.0])), to_blob(np.array([0.0, 1.0]))
    index.replace(None, [(1, "a", up), (2, "b", right), (3, "b", None)], generation=1)
    assert len(index) == 2  # a passage without a vector is not searchable by meaning
    assert index.search(np.array([0.0, 1.0]), 1) == [(2, 1.0)]
    index.replace({"b"}, [(4, "b", up)], generation=2)
    assert sorted(pid for pid, _ in index.search(np.array([1.0, 0.0]), 5)) == [1, 4]
    assert index.similarity(np.array([1.0, 0.0]), [4, 2, 99]) == {4: 1.0}


def test_dense_index_agrees_with_brute_force_through_many_changes() -> None:
    """Rows marked dead, blocks added and merged, compactions: search, scopes and similarity stay exact."""
    rng = np.random.default_rng(4)
    dims, next_id = 8, 1
    truth: dict[str, list[tuple[int, np.ndarray]]] = {}

    def article_rows(article: str) -> list[tuple[int, str, bytes]]:
        nonlocal next_id
        rows = []
        for _ in range(int(rng.integers(1, 6))):
            vector = rng.normal(size=dims)
            vector /= np.linalg.norm(vector)
            rows.append((next_id, article, to_blob(vector)))
            next_id += 1
        truth[article] = [(pid, from_blobs([blob], dims)[0]) for pid, _, blob in rows]
        return rows

    index = DenseIndex(dims)
    names = [f"{desk}/{n}.txt" for desk in ("sport", "tech") for n in range(30)]
    first = [row for name in names for row in article_rows(name)]
    index.load(iter(first), len(first) - 3, generation=0)  # fewer counted than there are: it grows
    for step in range(40):
        changed = set(rng.choice(names, size=int(rng.integers(1, 5)), replace=False))
        for gone in [a for a in changed if rng.random() < 0.3]:
            truth.pop(gone, None)
            changed.discard(gone)
            index.replace({gone}, [], generation=step)
        index.replace(changed, [row for a in sorted(changed) for row in article_rows(a)], generation=step)
        query = rng.normal(size=dims)
        live = [(pid, float(v @ query), a) for a, rows in truth.items() for pid, v in rows]
        for scope in ((), ("tech",)):
            expected = sorted((s, pid) for pid, s, a in live if not scope or a.startswith("tech/"))[::-1][:7]
            got = index.search(query, 7, scope)
            assert [pid for pid, _ in got] == [pid for _, pid in expected]
            assert [s for _, s in got] == pytest.approx([s for s, _ in expected], abs=1e-3)
        some = [pid for pid, _, _ in live[:5]] + [10_000]
        assert index.similarity(query, some) == pytest.approx({pid: s for pid, s, _ in live[:5]}, abs=1e-3)
        assert len(index) == len(live)
    assert len(index._blocks) <= 9  # small blocks were merged along the way
