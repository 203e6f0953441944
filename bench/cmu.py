"""The CMU/Pitt Question-Answer archive as a user's own: Wikipedia articles and students' questions about them.

    python bench/cmu.py OUT                 # write OUT/articles/ and OUT/questions.jsonl from ../shared
    python bench/cmu.py OUT --measure       # index OUT/articles (the full ranking) and measure answer@1

Each of S08 and S09 becomes a folder of articles (title on the first line), and its questions are asked of
that folder only. Yes/no questions are left out, and so are those whose answer string appears nowhere in
the article. answer@1 counts a question right when one of its answers (students wrote several), normalised
(case, punctuation, spaces), stands inside the first quote; answer@3 inside any of the first three. The
archive is GFDL (../shared/training/answer-selection/cmu-qa/LICENSE-S08,S09); it is read from ../shared,
never copied into the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CMU = ROOT.parent / "shared" / "training" / "answer-selection" / "cmu-qa"
SETS = ("S08", "S09")
_PUNCTUATION = re.compile(r"[^\w\s]")


def normalise(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


def convert(source: Path, out: Path) -> dict[str, int]:
    """Write the articles and the usable questions; how many questions were kept and left out, by reason."""
    counts = {"kept": 0, "yes/no": 0, "answer not in the article": 0, "no article": 0}
    questions = []
    for name in SETS:
        answers: dict[tuple[str, str], set[str]] = defaultdict(set)
        with (source / name / "question_answer_pairs.txt").open(encoding="utf-8", errors="replace", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if row.get("ArticleFile") and row.get("Question") and row.get("Answer") not in (None, "", "NULL"):
                    answers[(row["ArticleFile"], row["Question"].strip())].add(row["Answer"].strip())
        for (article_file, question), given in sorted(answers.items()):
            path = source / name / f"{article_file}.txt.clean"
            if not path.exists():
                counts["no article"] += 1
                continue
            target = out / "articles" / name / f"{article_file.removeprefix('data/')}.txt"
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(path.read_text(encoding="utf-8", errors="replace"), encoding="utf-8")
            forms = {normalise(a) for a in given} - {""}
            if forms <= {"yes", "no"}:
                counts["yes/no"] += 1
                continue
            article = normalise(path.read_text(encoding="utf-8", errors="replace"))
            found = sorted(f for f in forms - {"yes", "no"} if f" {f} " in f" {article} ")
            if not found:
                counts["answer not in the article"] += 1
                continue
            questions.append({"question": question, "scope": name, "answers": found, "article": f"{name}/{article_file}"})
            counts["kept"] += 1
    (out / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return counts


def measure(out: Path, deep: bool = True) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from index.corpus import Corpus, CorpusConfig

    corpus = Corpus.open(CorpusConfig(folder=out / "articles", db_path=out / ("cmu.db" if deep else "cmu-static.db"), deep=deep))
    corpus.index()
    scores = score(load(out), lambda question, folder: [h.passage.text for h in corpus.search(question, 3, scope=(folder,))])
    corpus.close()
    return {name: round(value, 3) if name != "questions" else value for name, value in scores.items()}


def load(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "questions.jsonl").read_text(encoding="utf-8").splitlines()]


def score(questions: list[dict[str, Any]], quotes: Callable[[str, str], list[str]]) -> dict[str, float]:
    """answer@1, answer@3 and the share declined, given what is quoted (up to 3) for a question in its folder."""
    at_1 = at_3 = declined = 0
    for q in questions:
        quoted = [f" {normalise(text)} " for text in quotes(q["question"], q["scope"])[:3]]
        inside = [any(f" {a} " in quote for a in q["answers"]) for quote in quoted]
        at_1 += bool(inside and inside[0])
        at_3 += any(inside)
        declined += not quoted
    n = len(questions)
    return {"questions": n, "answer@1": at_1 / n, "answer@3": at_3 / n, "declined": declined / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--measure", action="store_true", help="index OUT/articles and measure (convert first if needed)")
    parser.add_argument("--static", action="store_true", help="with --measure: the static model orders the candidates")
    args = parser.parse_args()
    if not (args.out / "questions.jsonl").exists() or not args.measure:
        print(json.dumps(convert(CMU, args.out)))
    if args.measure:
        print(json.dumps(measure(args.out, deep=not args.static)))


if __name__ == "__main__":
    main()
