"""The approximate vector index used past ANN_FROM sentences: agreement with exact search, scopes, changes,
and its folder on disk (written whole, replayed from the change log, rebuilt when unusable)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from index.ann import AnnIndex, nearest, probes, spherical_kmeans
from index.corpus import Corpus, CorpusConfig, vectors_folder
from index.semantic import from_blobs, to_blob

DIMS = 32


def clustered(rng: np.random.Generator, count: int) -> np.ndarray:
    centres = rng.normal(size=(40, DIMS))
    x = centres[rng.integers(0, 40, count)] + 0.5 * rng.normal(size=(count, DIMS))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def rows_of(vectors: np.ndarray, first_id: int = 1) -> list[tuple[int, str, bytes]]:
    desks = ("sport", "tech", "business")
    return [(first_id + i, f"{desks[i % 3]}/{i // 10}.txt", to_blob(v)) for i, v in enumerate(vectors)]


def make_index(rows: list[tuple[int, str, bytes]]) -> AnnIndex:
    stored = {pid: blob for pid, _, blob in rows}
    index = AnnIndex(DIMS, "v1", lambda ids: {pid: stored[pid] for pid in ids if pid in stored})
    index.build(from_blobs([blob for _, _, blob in rows[::4]], DIMS), iter(rows), generation=1)
    return index


def exact_top(rows: list[tuple[int, str, bytes]], query: np.ndarray, k: int, desk: str = "") -> list[int]:
    kept = [(pid, blob) for pid, article, blob in rows if article.startswith(desk)]
    scores = from_blobs([blob for _, blob in kept], DIMS) @ query
    return [kept[i][0] for i in np.argsort(-scores)[:k]]


def test_agrees_with_exact_search_inside_and_outside_a_scope() -> None:
    rng = np.random.default_rng(1)
    rows = rows_of(clustered(rng, 20_000))
    index = make_index(rows)
    overlap, scoped = [], []
    for query in clustered(rng, 30):
        got = [pid for pid, _ in index.search(query, 10)]
        overlap.append(len(set(got) & set(exact_top(rows, query, 10))) / 10)
        inside = index.search(query, 10, ("tech",))
        assert len(inside) == 10 and all(rows[pid - 1][1].startswith("tech/") for pid, _ in inside)
        scoped.append(len({pid for pid, _ in inside} & set(exact_top(rows, query, 10, "tech/"))) / 10)
    assert np.mean(overlap) >= 0.9 and np.mean(scoped) >= 0.9
    pid, cosine = index.search(clustered(rng, 1)[0], 1)[0]
    assert index.similarity(from_blobs([rows[pid - 1][2]], DIMS)[0], [pid, 999_999]) == {pid: pytest.approx(1.0, abs=1e-3)}
    assert index.search(clustered(rng, 1)[0], 5, ("nowhere",)) == []


def test_clusters_are_learnt_from_the_sample() -> None:
    rng = np.random.default_rng(5)
    sample = clustered(rng, 4_000)  # around 40 directions
    centroids = spherical_kmeans(sample, 40)
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)
    fit = np.mean(np.max(sample @ centroids.T, axis=1))
    start = sample[np.random.default_rng(0).choice(len(sample), 40, replace=False)]
    assert fit > np.mean(np.max(sample @ start.T, axis=1)) + 0.05  # the iterations moved them to the clusters
    assert len(set(nearest(sample, centroids).tolist())) == 40  # none left empty
    assert np.array_equal(centroids, spherical_kmeans(sample, 40))  # the same clusters on every build


def test_each_vector_is_filed_in_the_cluster_faiss_would_choose(tmp_path: Path) -> None:
    """The index finds each vector's cluster itself (a faster matrix product than faiss's): the same clusters,
    for the rows of a build, for rows added later, and for rows added after the index is read back from disk."""
    import faiss

    rng = np.random.default_rng(4)
    rows = rows_of(clustered(rng, 5_000))
    built = make_index(rows[:4_000])
    built.replace({"sport/999.txt"}, iter(rows[4_000:4_500]), generation=2)
    built.save(tmp_path / "vectors")
    index = AnnIndex(DIMS, "v1", built.vectors_of)
    assert index.open(tmp_path / "vectors")
    index.replace({"sport/998.txt"}, iter(rows[4_500:]), generation=3)
    assert index.index is not None and len(index) == 5_000
    filed = {}
    for cluster in range(index.index.nlist):
        size = index.index.invlists.list_size(cluster)
        for pid in faiss.rev_swig_ptr(index.index.invlists.get_ids(cluster), size):
            filed[int(pid)] = cluster
    vectors = from_blobs([blob for _, _, blob in rows], DIMS)
    _, chosen = index.index.quantizer.search(vectors, 1)
    assert filed == {pid: int(c) for (pid, _, _), c in zip(rows, chosen[:, 0], strict=True)}


def test_changed_articles_are_replaced_and_deleted_ones_gone() -> None:
    rng = np.random.default_rng(2)
    rows = rows_of(clustered(rng, 3_000))
    index = make_index(rows)
    index.unsaved = 0  # as if just written
    target = clustered(rng, 1)[0]
    replacement = [(50_000, "sport/0.txt", to_blob(target))]
    index.replace({"sport/0.txt", "tech/0.txt"}, iter(replacement), generation=2)
    assert index.search(target, 1) == [(50_000, pytest.approx(1.0, abs=1e-2))]
    gone = {pid for pid, article, _ in rows if article in {"sport/0.txt", "tech/0.txt"}}
    assert len(gone) == 7 and len(index) == 3_000 - 7 + 1
    assert not {pid for pid, _ in index.search(target, 3_000)} & gone
    assert index.generation == 2 and index.unsaved == 8


def test_written_whole_and_read_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = rows_of(clustered(rng, 2_000))
    index = make_index(rows)
    index.save(tmp_path / "vectors")
    assert index.unsaved == 0 and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    again = AnnIndex(DIMS, "v1", index.vectors_of)
    assert again.open(tmp_path / "vectors") and again.generation == 1 and len(again) == 2_000
    query = clustered(rng, 1)[0]
    assert again.search(query, 5) == index.search(query, 5)
    assert again.search(query, 5, ("business",)) == index.search(query, 5, ("business",))
    assert not AnnIndex(DIMS, "v2", index.vectors_of).open(tmp_path / "vectors")  # another model's vectors
    (tmp_path / "vectors" / "ivf.faiss").write_bytes(b"damaged")
    assert not AnnIndex(DIMS, "v1", index.vectors_of).open(tmp_path / "vectors")


def test_a_corpus_past_the_threshold_keeps_its_vector_index_on_disk_in_step(seeds_dir: Path, tmp_path: Path) -> None:
    config = CorpusConfig(folder=seeds_dir, db_path=tmp_path / "i.db", ann_from=50)
    corpus = Corpus.open(config)
    assert corpus.embedder is not None, corpus.semantic_problem
    corpus.index()
    corpus.sync_engine()
    folder = vectors_folder(config.db_path)
    assert (folder / "state.json").exists()
    question = "which pyongyang zoo giraffes arrived"
    before = [h.passage.text for h in corpus.search("what did Russia give North Korea", 3)]
    shutil.copytree(folder, tmp_path / "saved")  # as it was before the next change
    (seeds_dir / "zoo.txt").write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    corpus.index()
    assert corpus.searcher.dense is not None and "giraffes" in corpus.search(question, 1)[0].passage.text
    corpus.close()
    # As if killed before the folder was written again: the next process replays the change log.
    shutil.rmtree(folder)
    shutil.copytree(tmp_path / "saved", folder)
    reopened = Corpus.open(config)
    assert "giraffes" in reopened.search(question, 1)[0].passage.text
    assert [h.passage.text for h in reopened.search("what did Russia give North Korea", 3)] == before
    (seeds_dir / "zoo.txt").unlink()
    reopened.index()
    assert all("giraffes" not in h.passage.text for h in reopened.search(question, 3))
    reopened.close()
    shutil.rmtree(folder)  # gone altogether: built again from the store
    third = Corpus.open(config)
    assert [h.passage.text for h in third.search("what did Russia give North Korea", 3)] == before
    third.close()


def test_a_question_scans_an_eighth_of_the_clusters_and_at_most_about_65_000_vectors() -> None:
    assert probes(1024, 200_000) == 128
    assert probes(1024, 1_000_000) == 67  # about 65,000 vectors
    assert probes(1024, 4_000_000) == 16
    assert probes(512, 20_000) == 64
    assert probes(20, 800) == 8  # a small index: at least MIN_PROBE, at most all of them
    assert probes(4, 200) == 4
