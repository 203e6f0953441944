"""The `quotebot` command, run as a real subprocess on a copy of the bundled corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def quotebot(*args: str, data: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "SLACK_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data", str(data), *args],
        capture_output=True,
        text=True,
        env=environ,
        input=stdin,
        timeout=120,
    )


def test_ask_builds_the_index_on_first_use_and_quotes_with_sources(seeds_dir: Path) -> None:
    result = quotebot("ask", "did Russia give North Korea economic assistance", data=seeds_dir)
    assert result.returncode == 0, result.stderr
    first = result.stdout.split("\n\n")[0].splitlines()
    quote = " ".join(line.strip() for line in first[: next(i for i, line in enumerate(first) if line.endswith("”")) + 1])
    assert quote.startswith("1. “Shin says Russia has also give economic assistance to North Korea")  # verbatim, typo and all
    assert quote[4:-1] in (seeds_dir / "000_03080617be983ea0.txt").read_text(encoding="utf-8")
    # the sentence two outlets carry: quoted once, from its first source, with the other beneath it
    assert first[-2].strip() == "— Sahara Reporters · 000_03080617be983ea0.txt"
    assert first[-1].strip() == "Also reported by: Associated Press, 2024-11-22 · 001_d115848965a0cdd8.txt"
    assert (seeds_dir / "quotebot.db").exists()


def test_ask_json_shape_and_k(seeds_dir: Path) -> None:
    result = quotebot("ask", "--json", "-k", "2", "--context", "North Korea spy satellite", data=seeds_dir)
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and len(data["quotes"]) == 2
    quote = data["quotes"][0]
    assert quote["source"]["id"].endswith(".txt") and quote["context"]
    text = (seeds_dir / quote["source"]["id"]).read_text(encoding="utf-8")
    assert quote["text"] in text


def test_no_answer_is_plain(seeds_dir: Path) -> None:
    result = quotebot("ask", "What is the population of Brazil?", data=seeds_dir)
    assert result.returncode == 0
    assert result.stdout.strip() == "I found nothing about that in 5 articles."
    data = json.loads(quotebot("ask", "--json", "What is the population of Brazil?", data=seeds_dir).stdout)
    assert data == {"question": "What is the population of Brazil?", "status": "no_answer", "scope": [], "confident": True, "quotes": []}


def test_index_summary_with_skipped_file_and_incremental_rerun(seeds_dir: Path) -> None:
    (seeds_dir / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    first = quotebot("index", data=seeds_dir)
    assert first.returncode == 0, first.stderr
    assert "Indexed 5 articles" in first.stdout and "5 added" in first.stdout
    assert "broken.txt: binary file" in first.stdout
    assert "Repeated sentences stored once: 1" in first.stdout
    second = quotebot("index", data=seeds_dir)
    assert "0 added, 0 updated, 0 removed, 5 unchanged" in second.stdout
    assert "broken.txt: binary file" in second.stdout and "Repeated sentences stored once: 1" in second.stdout


def test_ask_notices_new_articles(seeds_dir: Path) -> None:
    quotebot("index", data=seeds_dir)
    (seeds_dir / "zoo.txt").write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    result = quotebot("ask", "giraffes zoo", data=seeds_dir)
    assert "two giraffes" in result.stdout and "zoo.txt" in result.stdout


def test_sources_lists_articles(seeds_dir: Path) -> None:
    result = quotebot("sources", data=seeds_dir)
    assert "5 articles:" in result.stdout
    assert "  001_d115848965a0cdd8.txt: Associated Press, 2024-11-22 (" in result.stdout


def test_repl_over_stdin(seeds_dir: Path) -> None:
    result = quotebot("repl", data=seeds_dir, stdin="help\nwhat is Oreshnik\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "Oreshnik" in result.stdout and "sources" in result.stdout


def test_db_location_from_environment(seeds_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "q.db"
    result = quotebot("ask", "Oreshnik", data=seeds_dir, env={"QUOTEBOT_DB": str(db)})
    assert result.returncode == 0 and db.exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("ask", "x"), {"QUOTEBOT_TOP_K": "many"}, "QUOTEBOT_TOP_K must be a whole number"),
        (("ask", "x"), {"QUOTEBOT_ENGINE": "lucene"}, "unknown engine 'lucene'"),
    ],
)
def test_bad_configuration_is_a_clear_error(seeds_dir: Path, args: tuple[str, ...], env: dict[str, str], message: str) -> None:
    result = quotebot(*args, data=seeds_dir, env=env)
    assert result.returncode == 1 and message in result.stderr


def test_missing_articles_folder(tmp_path: Path) -> None:
    result = quotebot("ask", "x", data=tmp_path / "nowhere")
    assert result.returncode == 1 and "no articles folder" in result.stderr


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("index", ["Usage: python -m bot index [OPTIONS] [PATH]", "Safe to interrupt"]),
        ("ask", ["Usage: python -m bot ask [OPTIONS] QUESTION...", "-k INTEGER", "--context", "--in FOLDER", "--json"]),
        ("repl", ["Usage: python -m bot repl [OPTIONS]"]),
        ("sources", ["Usage: python -m bot sources [OPTIONS]"]),
        ("add", ["Usage: python -m bot add [OPTIONS] FILES...", "--replace"]),
        ("eval", ["Usage: python -m bot eval [OPTIONS] GOLD_FILE", "-k INTEGER", "--json", "--as-is"]),
        ("serve", ["Usage: python -m bot serve [OPTIONS]"]),
    ],
)
def test_every_command_has_help_naming_its_arguments_and_options(seeds_dir: Path, command: str, says: list[str]) -> None:
    result = quotebot(command, "--help", data=seeds_dir)
    assert result.returncode == 0, result.stderr
    for words in says:
        assert words in result.stdout, (command, words)
    assert not (seeds_dir / "quotebot.db").exists()  # asking for help indexes nothing


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"\x00\x01\x02binary", "binary file"), (b"x" * (10 * 1024 * 1024 + 1), "larger than 10 MB")],
)
def test_add_of_an_unusable_file_copies_nothing_and_fails(seeds_dir: Path, tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "upload.txt"
    path.write_bytes(content)
    good = tmp_path / "good.txt"
    good.write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    result = quotebot("add", str(good), str(path), data=seeds_dir)
    assert result.returncode == 1
    assert reason in result.stderr and result.stderr.strip().endswith("Nothing was added.")
    assert "Traceback" not in result.stderr
    assert not (seeds_dir / "upload.txt").exists() and not (seeds_dir / "good.txt").exists()
    added = quotebot("add", str(good), data=seeds_dir)
    assert added.returncode == 0, added.stderr
    assert (seeds_dir / "good.txt").exists()


def test_repl_refuses_a_sticky_unknown_folder_as_ask_does(seeds_dir: Path) -> None:
    asked = quotebot("ask", "--in", "spor", "who won", data=seeds_dir)
    assert asked.returncode == 1
    message = asked.stderr.strip().removeprefix("Error: ")
    assert message.startswith("There is no folder spor/ in the articles.")
    repl = quotebot("repl", data=seeds_dir, stdin="--in spor\nquit\n")
    assert repl.returncode == 0, repl.stderr
    assert message in repl.stdout and "Questions now search" not in repl.stdout
