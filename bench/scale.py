"""Speed and scale of quotebot against the rank-bm25 baseline, on generated corpora.

    python bench/scale.py                  # 10k, 100k and 1M sentences
    python bench/scale.py --sizes 10000    # a quick run

Corpora: articles of 12-30 sentences whose words are drawn, Zipf-distributed, from the vocabulary of
the bundled news articles (about 1,500 distinct words, rank-ordered by their frequency there), with
capitalised starts, numbers, and "U.S."/"Mr."/"Jan. 5" abbreviations sprinkled in. 3 % of sentences are
syndicated copies of a recent one, with one word changed or "according to officials," in front, so the
grouping of copies does real work. Generated once per size under bench/corpora/ (gitignored).

Each engine is measured in its own process, so peak memory (RSS) is that engine's:
- ingest: files -> cleaned -> split -> stored -> engine index, end to end (sentences/s)
- engine build: the engine part of that (Tantivy: sync from the store; rank-bm25: in-memory build)
- open: a new process opening the existing index and answering its first question
- latency: question -> Answer through the whole `Answerer.answer` path, 200 questions of 3-6 words
- add one article: `Corpus.add` of one new file until it is searchable
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "bench" / "corpora"
SENTENCES_PER_FILE = (12, 30)


def vocabulary() -> list[str]:
    words = Counter()
    for path in sorted((ROOT / "data").glob("*.txt")):
        words.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]+", path.read_text(encoding="utf-8")))
    return [w for w, _ in words.most_common()]


GENERATOR = "2"  # bump when the generated text changes, so stored corpora are made again
COPY_SHARE = 0.03  # sentences that are syndicated copies of an earlier one, a word changed or credited


def generate(folder: Path, sentences: int, seed: int = 11) -> None:
    marker = folder / ".complete"
    if marker.exists() and marker.read_text() == f"{sentences} v{GENERATOR}":
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    vocab = vocabulary()
    weights = [1 / (i + 1) ** 1.05 for i in range(len(vocab))]
    earlier: list[list[str]] = []  # recent sentences, to copy from
    written, n = 0, 0
    while written < sentences:
        count = min(rng.randint(*SENTENCES_PER_FILE), sentences - written)
        lines = []
        for _ in range(count):
            if earlier and rng.random() < COPY_SHARE:
                words = list(rng.choice(earlier))
                if rng.random() < 0.5:
                    words[rng.randrange(len(words))] = rng.choice(vocab[:200])  # "began" for "begun"
                else:
                    words = ["according", "to", "officials,", *words]  # a credited copy
            else:
                words = rng.choices(vocab, weights, k=rng.randint(8, 24))
                if rng.random() < 0.15:
                    words.insert(rng.randrange(len(words)), rng.choice(["U.S.", "Mr. Kim", "10,000", "Dr. Lee", "Jan. 5"]))
                earlier = [*earlier[-4999:], words]
            lines.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        paragraphs = [" ".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]
        (folder / f"a{n:07}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
        written += count
        n += 1
    marker.write_text(f"{sentences} v{GENERATOR}")


def questions(count: int = 200, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    vocab = [w for w in vocabulary() if len(w) > 3][10:400]  # content words of middling frequency
    return [" ".join(rng.sample(vocab, rng.randint(3, 6))) + "?" for _ in range(count)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(paths: list[Path]) -> float:
    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        elif path.exists():
            total += path.stat().st_size
    return total / 1024 / 1024


# -- workers (each in its own process) --------------------------------------------------------


def worker_ingest(data: Path, db: Path, engine: str) -> dict[str, float]:
    from index.corpus import Corpus, CorpusConfig

    corpus = Corpus.open(CorpusConfig(folder=data, db_path=db, engine=engine))
    started = time.perf_counter()
    report = corpus.index()
    stored = time.perf_counter()
    corpus.searcher  # noqa: B018 - build or sync the engine
    built = time.perf_counter()
    return {
        "sentences": report.sentences,
        "copies": report.copies,
        "ingest_s": built - started,
        "store_s": stored - started,
        "engine_s": built - stored,
        "peak_mb": peak_rss_mb(),
    }


def worker_serve(data: Path, db: Path, engine: str) -> dict[str, float]:
    from bot.core import Answerer
    from index.corpus import Corpus, CorpusConfig

    started = time.perf_counter()
    corpus = Corpus.open(CorpusConfig(folder=data, db_path=db, engine=engine))
    answerer = Answerer(corpus.find, corpus.article_count)
    qs = questions()
    answerer.answer(qs[0])
    opened = time.perf_counter() - started
    latencies = []
    for question in qs:
        t = time.perf_counter()
        answerer.answer(question)
        latencies.append((time.perf_counter() - t) * 1000)
    serving_mb = peak_rss_mb()
    extra = data / "zz-one-more.txt"
    extra.write_text("The delegation from Ulaanbaatar arrived with forty reindeer herders on Tuesday. " * 3, encoding="utf-8")
    t = time.perf_counter()
    corpus.add([extra])
    found = corpus.search("Ulaanbaatar reindeer herders", 1)
    add_s = time.perf_counter() - t
    extra.unlink()
    corpus.refresh()
    corpus.searcher  # noqa: B018
    latencies.sort()
    return {
        "open_s": opened,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "serving_mb": serving_mb,
        "add_s": add_s,
        "add_found": float(bool(found)),
    }


def run_worker(kind: str, data: Path, db: Path, engine: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "worker", kind, str(data), str(db), engine],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} worker for {engine} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size: int, engines: list[str], corpora: Path = CORPORA) -> list[dict[str, object]]:
    data = corpora / f"s{size}"
    generate(data, size)
    rows = []
    for engine in engines:
        work = corpora / f"work-{size}-{engine}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        db = work / "quotebot.db"
        ingest = run_worker("ingest", data, db, engine)
        serve = run_worker("serve", data, db, engine)
        on_disk = disk_mb([db, db.with_name(db.name + "-wal"), db.with_name(db.name + ".tantivy")])
        rows.append({"size": size, "engine": engine, **ingest, **serve, "disk_mb": on_disk})
        shutil.rmtree(work, ignore_errors=True)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| sentences | engine | ingest (sent/s) | copies grouped | engine build (s) | disk (MB) | open + 1st answer (s) "
        "| p50 (ms) | p95 (ms) | peak RSS ingest (MB) | serving RSS (MB) | add one article (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['engine']} | {r['sentences'] / r['ingest_s']:,.0f} | {r['copies']:,} | {r['engine_s']:.2f} | "
            f"{r['disk_mb']:.0f} | {r['open_s']:.2f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['peak_mb']:.0f} | "
            f"{r['serving_mb']:.0f} | {r['add_s']:.2f} |"
        )
    return "\n".join(lines)


def ratios(rows: list[dict[str, object]]) -> str:
    lines = ["| sentences | p50 speed-up | p95 speed-up | open speed-up | add speed-up | serving RSS ratio |", "|---|---|---|---|---|---|"]
    by = {(r["size"], r["engine"]): r for r in rows}
    for size in sorted({r["size"] for r in rows}):
        q, b = by.get((size, "tantivy")), by.get((size, "rank-bm25"))
        if not (q and b):
            continue
        lines.append(
            f"| {size:,} | {b['p50_ms'] / q['p50_ms']:.0f}× | {b['p95_ms'] / q['p95_ms']:.0f}× | {b['open_s'] / q['open_s']:.1f}× "
            f"| {b['add_s'] / q['add_s']:.1f}× | {q['serving_mb'] / b['serving_mb']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        kind, data, db, engine = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5]
        result = worker_ingest(data, db, engine) if kind == "ingest" else worker_serve(data, db, engine)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["tantivy", "rank-bm25"])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="where generated corpora are kept")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        rows.extend(measure(size, args.engines, args.corpora))
        print(f"measured {size:,} sentences", file=sys.stderr, flush=True)
    print(table(rows))
    print()
    print("quotebot (tantivy) against rank-bm25, same run:")
    print(ratios(rows))


if __name__ == "__main__":
    main()
