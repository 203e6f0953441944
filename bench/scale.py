"""Speed and scale of quotebot against the rank-bm25 baseline, on generated corpora.

    python bench/scale.py                  # 10k, 100k and 1M sentences
    python bench/scale.py --sizes 10000    # a quick run

Corpora: articles of 20-60 sentences of 5-45 words (log-normal, median 20), whose words are drawn from a
50,000-word vocabulary with Zipf's law (exponent 1.07): common English words at the head, made-up words of
one to four syllables in the tail, so the term dictionary, the stemmer's cache and the copy lookup meet a
real-sized lexicon. Capitalised starts, numbers, and "U.S."/"Mr."/"Jan. 5" abbreviations are sprinkled in.
3 % of sentences are syndicated copies of a recent one, with one word changed or "according to officials,"
in front, so the grouping of copies does real work. Generated once per size under bench/corpora/
(gitignored). `--bbc PATH` also measures a real archive (the BBC news set) as it is.

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
import threading
import time
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.corpus import Corpus, CorpusConfig

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "bench" / "corpora"
SENTENCES_PER_FILE = (20, 60)  # 40 on average: a million sentences are 25,000 articles


# The commonest words of English news, in rank order: the head of the Zipf curve is function words, as in real text.
COMMON = """the of to and a in that is for on said was with he it as at by his from be has have are an but not
were this had they who been will which their after its also more one about new would year people there up
over than when into last two first government she out all or could we can years if time told other us some
say no so like them what our back only any just before three most made against million police since mr while
where her week being many under world country percent because both during make then state officials between
later while next those home still government minister day well city company told because percent""".split()
VOCABULARY = 50_000
ZIPF = 1.07  # the exponent of word frequency against rank in English text
SENTENCE_WORDS = (5, 45)  # news sentences: mostly 12-30 words, a few very short or long
_ONSETS = "b bl br c ch cl cr d dr f fl fr g gl gr h j k l m n p pl pr qu r s sc sh sl sm sn sp st str t th tr v w wh z".split()
_VOWELS = "a e i o u ai ea ee io ou oa ie".split()
_CODAS = "b ck d ff g l ll m n nd ng nk nt p r rd rk rn rt s ss st t th x".split() + [""] * 6


def vocabulary(size: int = VOCABULARY, seed: int = 17) -> list[str]:
    """`size` distinct words in frequency-rank order: common English words first, then made-up words of one to
    four syllables, some with an inflection, so stemming and the term dictionary meet a real-sized lexicon."""
    rng = random.Random(seed)
    words = list(dict.fromkeys(COMMON))
    seen = set(words)
    while len(words) < size:
        syllables = rng.choices([1, 2, 3, 4], [0.3, 0.4, 0.22, 0.08])[0]
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)) + rng.choice(_CODAS)
        word += rng.choice(["", "", "", "", "s", "ed", "ing", "ly", "er"])
        if word not in seen and len(word) > 2:
            seen.add(word)
            words.append(word)
    return words


GENERATOR = "4"  # bump when the generated text changes, so stored corpora are made again
COPY_SHARE = 0.03  # sentences that are syndicated copies of an earlier one, a word changed or credited


def generate(folder: Path, sentences: int, seed: int = 11) -> None:
    marker = folder / ".complete"
    if marker.exists() and marker.read_text() == f"{sentences} v{GENERATOR}":
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    vocab = vocabulary()
    cumulative = list(accumulate(1 / (i + 1) ** ZIPF for i in range(len(vocab))))
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
                length = min(max(round(rng.lognormvariate(3.0, 0.4)), SENTENCE_WORDS[0]), SENTENCE_WORDS[1])
                words = rng.choices(vocab, cum_weights=cumulative, k=length)
                if rng.random() < 0.15:
                    words.insert(rng.randrange(len(words)), rng.choice(["U.S.", "Mr. Kim", "10,000", "Dr. Lee", "Jan. 5"]))
                earlier = [*earlier[-4999:], words]
            lines.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
        paragraphs = [" ".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]
        (folder / f"a{n:07}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
        written += count
        n += 1
    marker.write_text(f"{sentences} v{GENERATOR}")


def questions(count: int = 200, seed: int = 5, archive: Path | None = None) -> list[str]:
    """Questions of 3-6 content words: of middling frequency in the generated vocabulary, or, for a real archive,
    taken from one of its sentences each (so that they have answers there)."""
    rng = random.Random(seed)
    if archive is None:
        vocab = [w for w in vocabulary() if len(w) > 3][200:5000]
        return [" ".join(rng.sample(vocab, rng.randint(3, 6))) + "?" for _ in range(count)]
    files = sorted(archive.rglob("*.txt"))
    asked = []
    while len(asked) < count:
        text = rng.choice(files).read_text(encoding="utf-8", errors="replace")
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", rng.choice(text.split(". "))) if w.lower() not in COMMON]
        if len(words) >= 3:
            asked.append(" ".join(rng.sample(words, min(len(words), rng.randint(3, 6)))) + "?")
    return asked


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeMemory:
    """The peak of the summed RSS of this process and all its descendants (the indexing workers), sampled every
    50 ms from /proc: what the machine must have free, not the largest process alone."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, tree_rss_mb(os.getpid()))


def tree_rss_mb(root: int) -> float:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * resource.getpagesize()
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(child for child, parent in parents.items() if parent == pid)
    return total / 1024 / 1024


def disk_mb(paths: list[Path]) -> float:
    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        elif path.exists():
            total += path.stat().st_size
    return total / 1024 / 1024


# -- workers (each in its own process) --------------------------------------------------------


READ_SECONDS = 60.0  # how long the transformer reads in the +rerank setup before the rest gets placeholders (--read-seconds)


def config(data: Path, db: Path, name: str) -> CorpusConfig:
    """'tantivy' (BM25 alone), 'tantivy+semantic' (static model), 'tantivy+rerank' (and the transformer), 'rank-bm25'."""
    from index.corpus import CorpusConfig

    engine, _, extra = name.partition("+")
    return CorpusConfig(folder=data, db_path=db, engine=engine, semantic=bool(extra), deep=extra == "rerank")


def worker_ingest(data: Path, db: Path, name: str, read_seconds: float = READ_SECONDS) -> dict[str, float]:
    """Indexing, end to end; with +rerank, then the transformer's reading for `read_seconds`, whose rate is reported.
    Sentences it has not read by then get random unit vectors, so that every question is re-ranked while serving:
    the time that takes does not depend on the vectors' values (they are placeholders, not answers)."""
    from index.corpus import Corpus

    corpus = Corpus.open(config(data, db, name))
    with TreeMemory() as memory:
        started = time.perf_counter()
        report = corpus.index(deep=False)
        stored = time.perf_counter()
        corpus.sync_engine()
        built = time.perf_counter()
    result = {
        "sentences": report.sentences,
        "copies": report.copies,
        "ingest_s": built - started,
        "store_s": stored - started,
        "engine_s": built - stored,
        "peak_mb": peak_rss_mb(),
        "tree_mb": memory.peak_mb,
    }
    if corpus.deep is not None:
        started = time.perf_counter()
        corpus.index(deep_seconds=read_seconds)
        done, total = corpus.deep_missing() or (report.sentences, report.sentences)
        result["read_rate"] = done / (time.perf_counter() - started)
        result["read_share"] = done / max(total, 1)
        placeholders(corpus)
    return result


def placeholders(corpus: Corpus) -> None:
    import numpy as np

    from index.semantic import to_blob

    writer = corpus._writing_store()
    rng = np.random.default_rng(3)
    while batch := writer.without_deep_vectors(50_000):
        vectors = rng.standard_normal((len(batch), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        writer.set_deep_vectors([(pid, to_blob(v)) for (pid, _, _), v in zip(batch, vectors, strict=True)])


def worker_serve(data: Path, db: Path, name: str) -> dict[str, float]:
    from bot.core import Answerer
    from index.corpus import Corpus

    started = time.perf_counter()
    corpus = Corpus.open(config(data, db, name))
    answerer = Answerer(corpus.find, corpus.article_count)
    qs = questions(archive=None if (data / ".complete").exists() else data)
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


def run_worker(kind: str, data: Path, db: Path, engine: str, read_seconds: float = READ_SECONDS) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "worker", kind, str(data), str(db), engine, str(read_seconds)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} worker for {engine} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(
    size: int, engines: list[str], corpora: Path = CORPORA, data: Path | None = None, read_seconds: float = READ_SECONDS
) -> list[dict[str, object]]:
    """Each setup on the generated corpus of `size` sentences, or on the archive `data` as it is."""
    label: int | str = size
    if data is None:
        data = corpora / f"s{size}"
        generate(data, size)
    else:
        label = data.name
    rows = []
    for engine in engines:
        work = corpora / f"work-{label}-{engine}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        db = work / "quotebot.db"
        ingest = run_worker("ingest", data, db, engine, read_seconds)
        serve = run_worker("serve", data, db, engine)
        on_disk = disk_mb([db, db.with_name(db.name + "-wal"), db.with_name(db.name + ".tantivy")])
        rows.append({"size": label, "engine": engine, **ingest, **serve, "disk_mb": on_disk})
        shutil.rmtree(work, ignore_errors=True)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| sentences | engine | ingest (sent/s) | copies grouped | engine build (s) | disk (MB) | open + 1st answer (s) "
        "| p50 (ms) | p95 (ms) | peak RSS ingest, with workers (MB) | serving RSS (MB) | add one article (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = f"{r['size']:,}" if isinstance(r["size"], int) else f"{r['size']} ({r['sentences']:,})"
        lines.append(
            f"| {size} | {r['engine']} | {r['sentences'] / r['ingest_s']:,.0f} | {r['copies']:,} | {r['engine_s']:.2f} | "
            f"{r['disk_mb']:.0f} | {r['open_s']:.2f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['tree_mb']:.0f} | "
            f"{r['serving_mb']:.0f} | {r['add_s']:.2f} |"
        )
    return "\n".join(lines)


def ratios(rows: list[dict[str, object]]) -> str:
    lines = ["| sentences | p50 speed-up | p95 speed-up | open speed-up | add speed-up | serving RSS ratio |", "|---|---|---|---|---|---|"]
    by = {(r["size"], r["engine"]): r for r in rows}
    for size in dict.fromkeys(r["size"] for r in rows):
        q, b = by.get((size, "tantivy")), by.get((size, "rank-bm25"))
        if not (q and b):
            continue
        lines.append(
            f"| {label(size)} | {b['p50_ms'] / q['p50_ms']:.0f}× | {b['p95_ms'] / q['p95_ms']:.0f}× | {b['open_s'] / q['open_s']:.1f}× "
            f"| {b['add_s'] / q['add_s']:.1f}× | {q['serving_mb'] / b['serving_mb']:.2f} |"
        )
    return "\n".join(lines)


def label(size: object) -> str:
    return f"{size:,}" if isinstance(size, int) else str(size)


def semantic_cost(rows: list[dict[str, object]]) -> str:
    """What semantic search adds, as a ratio to BM25 alone (Tantivy) in the same run; and the transformer's reading."""
    lines = [
        "| sentences | setup | ingest time | peak RSS ingest | p50 | p95 | serving RSS | transformer reads (sent/s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["size"], r["engine"]): r for r in rows}
    for size in dict.fromkeys(r["size"] for r in rows):
        for name in ("tantivy+semantic", "tantivy+rerank"):
            off, on = by.get((size, "tantivy")), by.get((size, name))
            if not (off and on):
                continue
            ingest = (on["ingest_s"] / on["sentences"]) / (off["ingest_s"] / off["sentences"])
            read = f"{on['read_rate']:,.0f} ({on['read_share']:.0%} read)" if "read_rate" in on else "–"
            lines.append(
                f"| {label(size)} | {name} | {ingest:.1f}× | {on['tree_mb'] / off['tree_mb']:.1f}× | {on['p50_ms'] / off['p50_ms']:.1f}× "
                f"| {on['p95_ms'] / off['p95_ms']:.1f}× | {on['serving_mb'] / off['serving_mb']:.1f}× | {read} |"
            )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        kind, data, db, engine, read = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5], float(sys.argv[6])
        result = worker_ingest(data, db, engine, read) if kind == "ingest" else worker_serve(data, db, engine)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000], help="generated corpora; none with --bbc alone")
    parser.add_argument("--engines", nargs="+", default=["tantivy", "tantivy+semantic", "tantivy+rerank", "rank-bm25"],
                        help="setups: tantivy (BM25 alone, semantic search off), tantivy+semantic (static model), "
                        "tantivy+rerank (and the transformer, the default), rank-bm25")
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="where generated corpora are kept")
    parser.add_argument("--read-seconds", type=float, default=READ_SECONDS, help="how long the transformer reads (+rerank)")
    parser.add_argument("--bbc", type=Path, help="also measure this real archive as it is (../shared/benchmarks/bbc-news)")
    args = parser.parse_args()
    rows = []
    if args.bbc:
        bbc = CORPORA / "bbc-copy"  # a copy: the serve worker adds and removes a file
        shutil.rmtree(bbc, ignore_errors=True)
        shutil.copytree(args.bbc, bbc)
        rows.extend(measure(0, args.engines, args.corpora, data=bbc, read_seconds=args.read_seconds))
        print("measured the real archive", file=sys.stderr, flush=True)
    for size in args.sizes:
        rows.extend(measure(size, args.engines, args.corpora, read_seconds=args.read_seconds))
        print(f"measured {size:,} sentences", file=sys.stderr, flush=True)
    print(table(rows))
    print()
    print("quotebot (tantivy) against rank-bm25, same run:")
    print(ratios(rows))
    print()
    print("what semantic search costs (tantivy+semantic against tantivy, same run):")
    print(semantic_cost(rows))


if __name__ == "__main__":
    main()
