"""Turn WikiQA's development split into an articles folder and a gold file that `quotebot eval` reads.

    python bench/wikiqa.py [../shared/benchmarks/wikiqa-dev/WikiQA-dev.tsv] OUT_DIR
    quotebot --data OUT_DIR/articles --db OUT_DIR/wikiqa.db eval -k 10 OUT_DIR/gold.jsonl

Pooled, as quotebot is used: one article per WikiQA document (its title, then one candidate sentence
per paragraph), every question asked against all of them, and the sentences labelled 1 as the gold
answers. WikiQA is licensed for non-commercial research: it is measured from its shared copy and
never copied into the repository. `--half tune|check` keeps the questions of even or odd position
(for tuning on one half and checking on the other).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TSV = ROOT.parent / "shared" / "benchmarks" / "wikiqa-dev" / "WikiQA-dev.tsv"


def convert(tsv: Path, out: Path, half: str | None = None) -> tuple[int, int]:
    """Write OUT/articles/*.txt and OUT/gold.jsonl; returns (documents, questions)."""
    with tsv.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    documents: dict[str, tuple[str, dict[int, str]]] = {}
    questions: dict[str, tuple[str, str, list[str]]] = {}
    for row in rows:
        title, sentences = documents.setdefault(row["DocumentID"], (row["DocumentTitle"], {}))
        sentences[int(row["SentenceID"].rsplit("-", 1)[1])] = row["Sentence"]
        _, _, answers = questions.setdefault(row["QuestionID"], (row["Question"], row["DocumentID"], []))
        if row["Label"] == "1":
            answers.append(row["Sentence"])
    folder = out / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, (title, sentences) in documents.items():
        body = "\n\n".join(sentences[i] for i in sorted(sentences))
        (folder / f"{doc_id}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    chosen = defaultdict(list)
    for n, (qid, (question, doc_id, answers)) in enumerate(questions.items()):
        if half is None or (n % 2 == 0) == (half == "tune"):
            gold = [{"source": f"{doc_id}.txt", "text": text} for text in answers]
            chosen["rows"].append({"id": qid, "question": question, "answers": gold, "kind": "wikiqa"})
    with (out / "gold.jsonl").open("w", encoding="utf-8") as f:
        for item in chosen["rows"]:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    return len(documents), len(chosen["rows"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="[TSV] OUT_DIR")
    parser.add_argument("--half", choices=("tune", "check"), help="only the even (tune) or odd (check) questions")
    args = parser.parse_args()
    tsv, out = (args.paths[0], args.paths[1]) if len(args.paths) > 1 else (DEFAULT_TSV, args.paths[0])
    documents, questions = convert(tsv, out, args.half)
    print(f"{documents} articles in {out / 'articles'}, {questions} questions in {out / 'gold.jsonl'}")


if __name__ == "__main__":
    main()
