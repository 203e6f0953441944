"""Recall and time of the approximate vector search against an exact scan, on an index's stored vectors.

    python bench/ann_recall.py bench/corpora/work-1000000-tantivy+semantic/quotebot.db [--probes 32 64 128]

Builds the index as `index/ann.py` does (`AnnIndex.build`) from the static vectors in the store, then
for 100 of `bench/scale.py`'s generated questions compares each number of clusters scanned with an exact
numpy scan: the share of the exact top 60 found, and the median time of one search. Needs the vectors in
memory as float32 (about 1 GB a million sentences).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from index.ann import TRAIN_SAMPLE, AnnIndex, probes  # noqa: E402
from index.semantic import LOAD_CHUNK, StaticEmbedder, from_blobs, to_blob  # noqa: E402
from index.store import Store  # noqa: E402

from scale import questions  # noqa: E402  (beside this script)

TOP = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--probes", type=int, nargs="+", default=[16, 32, 64, 128])
    args = parser.parse_args()
    embedder = StaticEmbedder()
    store = Store(args.db)
    blobs = [blob for _, _, blob in store.iter_vectors() if blob is not None]
    vectors = np.vstack([from_blobs(blobs[i : i + LOAD_CHUNK], embedder.dims) for i in range(0, len(blobs), LOAD_CHUNK)])
    del blobs
    asked = np.vstack([embedder.embed([q]) for q in questions(100)])
    exact = np.argsort(-(vectors @ asked.T), axis=0)[:TOP].T
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), min(TRAIN_SAMPLE, len(vectors)), replace=False)]
    ann = AnnIndex(embedder.dims, embedder.version, store.vectors)
    started = time.perf_counter()
    ann.build(sample, ((i, "a", to_blob(v)) for i, v in enumerate(vectors)), generation=0)
    print(f"built in {time.perf_counter() - started:.1f} s (from vectors in memory)")
    index, lists = ann.index, ann.index.nlist
    print(f"{len(vectors):,} vectors, {lists} clusters; quotebot scans {probes(lists, len(vectors))}\n")
    print(f"| clusters scanned | recall of the exact top {TOP} | median search (ms) |\n|---|---|---|")
    for nprobe in args.probes:
        params = faiss.SearchParametersIVF(nprobe=nprobe)
        found, times = [], []
        for row, vector in enumerate(asked):
            started = time.perf_counter()
            _, ids = index.search(vector[None, :], TOP, params=params)
            times.append((time.perf_counter() - started) * 1000)
            found.append(len(set(ids[0]) & set(exact[row])) / TOP)
        print(f"| {nprobe} | {statistics.mean(found):.3f} | {statistics.median(times):.2f} |")


if __name__ == "__main__":
    main()
