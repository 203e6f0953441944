"""A small archive with desk folders, duplicate files and a crowd of off-desk sentences, written by the tests."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "data"

SPORT = {
    "sport/cup.txt": ("Rovers lift the cup", "Rovers won the cup final against United at Wembley on Saturday."),
    "sport/tennis.txt": ("Moya retires hurt", "Moya won the first set of the final before retiring with an ankle injury."),
    "sport/rugby.txt": ("Wales win the Six Nations", "Wales won the championship final in Cardiff with a late try."),
    "sport/chess.txt": ("A draw in Madrid", "The grandmaster won the final game of the match in Madrid."),
}
STORY = (
    "Ad sales boost Time Warner profit\n\n"
    "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn for the three months to December.\n\n"
    "The firm, which is now one of the biggest investors in Google, benefited from sales of high-speed internet connections.\n"
)
_WORDS = "board bank shares market oil price pound dollar euro bond trade deficit growth budget tax loan".split()


def desk_archive(root: Path, crowd: int = 80, seed: int = 3) -> Path:
    """world/ (the bundled articles), sport/ (four finals), business/ (one story filed three times, once under
    another headline, and `crowd` articles whose sentences about a 'final' result outrank every sport one)."""
    folder = root / "archive"
    (folder / "world").mkdir(parents=True)
    for path in SEEDS.glob("*.txt"):
        shutil.copy(path, folder / "world" / path.name)
    for name, (title, sentence) in SPORT.items():
        write(folder / name, f"{title}\n\n{sentence}\n")
    write(folder / "business/001.txt", STORY)
    write(folder / "business/049.txt", STORY)  # the same file under another name
    write(folder / "business/120.txt", STORY.replace("Ad sales boost Time Warner profit", "TimeWarner profits jump 76%"))
    rng = random.Random(seed)
    for n in range(crowd):
        words = " ".join(rng.sample(_WORDS, 6))
        write(folder / f"business/r{n:03}.txt", f"Results day {n}\n\nThe firm won the final final final round of {words} talks, {n} said.\n")
    return folder


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
