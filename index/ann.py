"""Approximate nearest neighbours for large stores: faiss IVF over 8-bit quantised vectors, kept on disk.

Below `semantic.ANN_FROM` vectors, `semantic.DenseIndex` searches exactly in memory. Past it, a float32 matrix
costs a gigabyte per million sentences and a full scan per question; this index holds each vector in
256 bytes (8-bit scalar quantisation), sorted into `LISTS` clusters of which a question scans one in
`PROBE_SHARE`, or fewer past half a million vectors so that it reads about `SCAN` of them (at a million
generated sentences: recall of the exact top 60 about 0.92, in about 10 ms on this 2-core machine;
`bench/ann_recall.py` measures it). The clusters are learnt, and each vector's cluster found, with numpy
(`spherical_kmeans`, `nearest`); faiss quantises, stores, saves and searches.

It lives in a folder beside the database and follows the store's change log like the Tantivy index:
it records the generation it reflects, and on opening replays the articles changed since (their old
rows are removed by id, their current vectors added). It is written whole, to a temporary folder that
then replaces the old one, after a build and once enough has changed; a process killed at any point
leaves the previous folder, or none, and either way the next open catches up from the store.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from pathlib import Path

import faiss
import numpy as np

from .models import in_scope
from .semantic import LOAD_CHUNK, VECTOR_DTYPE, from_blobs

logger = logging.getLogger(__name__)

LISTS = 1024  # clusters (a million vectors: about a thousand each)
PROBE_SHARE = 8  # a question scans at most one cluster in this many...
SCAN = 65_536  # ...and about this many vectors: 67 of 1,024 clusters at a million (recall 0.92; 128: 0.96, twice the time)
MIN_PROBE = 8  # and at least this many (all of them in a small index)
TRAIN_SAMPLE = 50_000  # vectors the clusters are learnt from
SAVE_SHARE = 0.01  # write the folder again once this share of the rows changed since it was written
KMEANS_ITERATIONS = 10  # as faiss's default for IVF training
ASSIGN_CHUNK = 8192  # vectors matched against the centroids at a time (32 MB of scores at 1,024 clusters)
FORMAT = 1
STATE_FILE = "state.json"

Rows = Iterable[tuple[int, str, bytes | None]]  # (passage id, article id, stored vector)


def probes(lists: int, vectors: int) -> int:
    """Clusters a question scans: one in `PROBE_SHARE`, fewer when that would read more than about `SCAN` vectors."""
    return min(lists, max(MIN_PROBE, min(lists // PROBE_SHARE, lists * SCAN // max(vectors, 1))))


def nearest(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The index of each vector's centroid of greatest inner product.

    In numpy rather than faiss: the OpenBLAS inside faiss's wheels predates recent CPUs and falls back to its
    slowest kernels on them (three to four times slower than numpy's on this machine's Xeon).
    """
    step = ASSIGN_CHUNK
    found = [np.argmax(vectors[i : i + step] @ centroids.T, axis=1) for i in range(0, len(vectors), step)]
    return np.concatenate(found).astype(np.int64, copy=False) if found else np.zeros(0, dtype=np.int64)


def spherical_kmeans(sample: np.ndarray, clusters: int, iterations: int = KMEANS_ITERATIONS, seed: int = 0) -> np.ndarray:
    """Unit-length centroids of `sample` (unit vectors), as faiss trains an inner-product IVF index: start from
    random points, then assign each point to its nearest centroid and move each centroid to its points' mean
    direction, `iterations` times. A cluster left empty restarts from a random point."""
    rng = np.random.default_rng(seed)
    centroids = sample[rng.choice(len(sample), clusters, replace=False)].copy()
    for _ in range(iterations):
        assigned = nearest(sample, centroids)
        counts = np.bincount(assigned, minlength=clusters)
        order = np.argsort(assigned, kind="stable")
        used = counts > 0
        starts = (np.cumsum(counts) - counts)[used]
        sums = np.add.reduceat(sample[order], starts, axis=0)
        centroids[used] = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        empty = np.flatnonzero(~used)
        if len(empty):
            centroids[empty] = sample[rng.choice(len(sample), len(empty), replace=False)]
    return centroids


class AnnIndex:
    """The approximate index: search, scopes and similarity, with the same interface as `DenseIndex`."""

    def __init__(self, dims: int, version: str, vectors_of: Callable[[Sequence[int]], dict[int, bytes]]) -> None:
        """`version`: the embedder's (an index of another model's vectors is not used); `vectors_of`: stored
        vectors by passage id, for `similarity`."""
        self.dims = dims
        self.version = version
        self.generation = -1
        self.vectors_of = vectors_of
        self.index: faiss.IndexIVFScalarQuantizer | None = None
        self._ids = np.zeros(0, dtype=np.int64)  # the rows held, and their articles as numbers
        self._codes = np.zeros(0, dtype=np.int32)
        self._code_of: dict[str, int] = {}
        self._scopes: dict[tuple[str, ...], tuple[int, np.ndarray, faiss.IDSelectorBitmap]] = {}
        self.unsaved = 0  # rows added or removed since the folder was written
        self._centroids: np.ndarray | None = None  # the clusters' centres: kept from `build`, or read from the quantizer

    def __len__(self) -> int:
        return len(self._ids)

    # -- building and keeping up ---------------------------------------------------------------

    def build(self, sample: np.ndarray, rows: Rows, generation: int) -> None:
        """Learn the clusters from `sample` (vectors, float32), then add `rows` a chunk at a time."""
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        lists = min(LISTS, max(1, len(sample) // 39))  # faiss wants about 39 training points per cluster
        centroids = spherical_kmeans(sample, lists)
        quantizer = faiss.IndexFlatIP(self.dims)
        quantizer.add(centroids)
        index = faiss.IndexIVFScalarQuantizer(quantizer, self.dims, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index.train(sample)  # the clusters are given: this learns the 8-bit quantiser's ranges only
        self.index = index
        self._centroids = centroids
        self._ids = np.zeros(0, dtype=np.int64)
        self._codes = np.zeros(0, dtype=np.int32)
        self._code_of = {}
        self._add(rows)
        self.generation = generation
        self.unsaved = len(self._ids)

    def replace(self, changed: set[str] | None, rows: Rows, generation: int) -> None:
        """Remove the rows of the `changed` articles, then add `rows`: the store's current vectors of them."""
        assert self.index is not None and changed is not None
        gone_codes = [self._code_of[a] for a in changed if a in self._code_of]
        if gone_codes:
            gone = np.isin(self._codes, np.array(gone_codes, dtype=np.int32))
            if gone.any():
                self.index.remove_ids(faiss.IDSelectorBatch(self._ids[gone]))
                self.unsaved += int(gone.sum())
                self._ids, self._codes = self._ids[~gone], self._codes[~gone]
        self.unsaved += self._add(rows)
        self.generation = generation
        self._scopes = {}

    def _add(self, rows: Rows) -> int:
        assert self.index is not None
        added = 0
        size = self.dims * np.dtype(VECTOR_DTYPE).itemsize
        iterator = iter(rows)
        while chunk := list(islice(iterator, LOAD_CHUNK)):
            usable = [(pid, article, blob) for pid, article, blob in chunk if blob is not None and len(blob) == size]
            if not usable:
                continue
            ids = np.array([pid for pid, _, _ in usable], dtype=np.int64)
            codes = np.array([self._code_of.setdefault(a, len(self._code_of)) for _, a, _ in usable], dtype=np.int32)
            vectors = from_blobs([blob for _, _, blob in usable], self.dims)
            lists = self._nearest_lists(vectors)
            # add_with_ids would find the lists itself, about four times slower (see `nearest`)
            self.index.add_core(len(ids), faiss.swig_ptr(vectors), faiss.swig_ptr(ids), faiss.swig_ptr(lists))
            self._ids = np.concatenate([self._ids, ids])
            self._codes = np.concatenate([self._codes, codes])
            added += len(usable)
        self._scopes = {}
        return added

    def _nearest_lists(self, vectors: np.ndarray) -> np.ndarray:
        """Each vector's cluster, as faiss's quantizer would choose it."""
        assert self.index is not None
        if self._centroids is None:  # an index read from disk: its quantizer holds them
            self._centroids = self.index.quantizer.reconstruct_n(0, self.index.nlist)
        return nearest(vectors, self._centroids)

    @property
    def needs_saving(self) -> bool:
        return self.unsaved > SAVE_SHARE * max(len(self._ids), 1)

    # -- searching -----------------------------------------------------------------------------

    def search(self, vector: np.ndarray, k: int, scope: tuple[str, ...] = ()) -> list[tuple[int, float]]:
        """Up to k (passage id, cosine) pairs, best first (approximately); only of articles inside the scope."""
        if self.index is None or not len(self._ids) or k <= 0:
            return []
        lists = self.index.nlist
        params = faiss.SearchParametersIVF(nprobe=probes(lists, len(self._ids)))
        if scope:
            inside, selector = self._inside(scope)
            if not inside:
                return []
            params.sel = selector
        scores, ids = self.index.search(np.asarray(vector, dtype=np.float32)[None, :], k, params=params)
        return [(int(pid), float(score)) for pid, score in zip(ids[0], scores[0], strict=True) if pid >= 0]

    def _inside(self, scope: tuple[str, ...]) -> tuple[int, faiss.IDSelectorBitmap]:
        """How many rows are inside the scope, and a selector of them (a bit per passage id)."""
        if scope not in self._scopes:
            wanted = [code for article, code in self._code_of.items() if in_scope(article, scope)]
            ids = self._ids[np.isin(self._codes, np.array(wanted, dtype=np.int32))]
            bitmap = np.zeros(int(self._ids.max(initial=0)) // 8 + 1, dtype=np.uint8)
            np.bitwise_or.at(bitmap, ids >> 3, (1 << (ids & 7)).astype(np.uint8))
            # (the bitmap is kept with its selector, which only points at it)
            self._scopes[scope] = (len(ids), bitmap, faiss.IDSelectorBitmap(len(bitmap) * 8, faiss.swig_ptr(bitmap)))
        count, _, selector = self._scopes[scope]
        return count, selector

    def similarity(self, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Exact cosine of the given passages to `vector`, from their stored vectors."""
        found = self.vectors_of(ids)
        if not found:
            return {}
        pids = list(found)
        scores = from_blobs([found[p] for p in pids], self.dims) @ np.asarray(vector, dtype=np.float32)
        return {pid: float(score) for pid, score in zip(pids, scores, strict=True)}

    # -- on disk -------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the index to `folder`, replacing what is there only once the new one is complete."""
        assert self.index is not None
        folder.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
        try:
            faiss.write_index(self.index, str(fresh / "ivf.faiss"))
            np.save(fresh / "ids.npy", self._ids)
            np.save(fresh / "codes.npy", self._codes)
            articles = sorted(self._code_of, key=self._code_of.__getitem__)
            state = {"format": FORMAT, "version": self.version, "generation": self.generation, "articles": articles}
            (fresh / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
            for path in fresh.iterdir():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
            old = folder.with_name(f".{folder.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            if folder.exists():
                folder.rename(old)
            fresh.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        self.unsaved = 0

    def open(self, folder: Path) -> bool:
        """Read the index written in `folder`; False if there is none usable (of this model and format)."""
        if not (folder / STATE_FILE).exists():
            return False
        try:
            state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
            if state.get("format") != FORMAT or state.get("version") != self.version:
                return False
            index = faiss.read_index(str(folder / "ivf.faiss"))
            ids, codes = np.load(folder / "ids.npy"), np.load(folder / "codes.npy")
        except (OSError, ValueError, RuntimeError, KeyError) as error:
            logger.warning("the vector index in %s cannot be read (%s); it is built again from the store", folder, error)
            return False
        if len(ids) != len(codes) or index.ntotal != len(ids) or index.d != self.dims:
            logger.warning("the vector index in %s is inconsistent; it is built again from the store", folder)
            return False
        self.index, self._ids, self._codes = index, ids.astype(np.int64), codes.astype(np.int32)
        self._centroids = None
        self._code_of = {article: code for code, article in enumerate(state["articles"])}
        self.generation = int(state["generation"])
        self.unsaved = 0
        self._scopes = {}
        return True
