"""Score the sentence splitter on the English Golden Rules and time it.

    python bench/segmentation.py [GOLDEN_RULES_JSON]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from index.articles import clean_article
from index.sentences import segment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "data" / "golden_rules_en.json"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    cases = json.loads(path.read_text(encoding="utf-8"))
    failed = [case for case in cases if segment(case["text"]) != case["expected"]]
    print(f"Golden Rules (English): {len(cases) - len(failed)}/{len(cases)}")
    for case in failed:
        print(f"  failed #{case['id']} {case['name']}: {segment(case['text'])}")
    paragraphs = [
        p.text for f in sorted((ROOT / "data").glob("*.txt")) for p in clean_article(f.read_text(encoding="utf-8"), f.name).paragraphs
    ]
    rounds, sentences = 20, 0
    start = time.perf_counter()
    for _ in range(rounds):
        sentences += sum(len(segment(p)) for p in paragraphs)
    elapsed = time.perf_counter() - start
    print(f"Speed on the bundled corpus: {sentences / elapsed:,.0f} sentences/s ({elapsed / rounds * 1000:.1f} ms per pass)")


if __name__ == "__main__":
    main()
