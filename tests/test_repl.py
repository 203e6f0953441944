from __future__ import annotations

import pytest

from bot.core import Answerer
from bot.repl import run_repl
from index.models import UnknownScope
from tests.fakes import FakeSearch, hit


def lines(*items: str):
    queue = list(items)

    def read(prompt: str) -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    return read


def test_repl_answers_and_commands() -> None:
    out: list[str] = []
    search = FakeSearch((hit("Russia has supplied missiles."),))
    run_repl(Answerer(search, lambda: 5), lines("help", "", "what did Russia give", "sources", "quit", "never read"), out.append, lambda: "5 articles")
    joined = "\n".join(out)
    assert "sources" in out[1] and "quit" in out[1]
    assert "“Russia has supplied missiles.”" in joined
    assert "5 articles" in out
    assert [c[0] for c in search.calls] == ["what did Russia give"]


def test_repl_ends_at_end_of_input() -> None:
    out: list[str] = []
    run_repl(Answerer(FakeSearch(), lambda: 0), lines("anything"), out.append, lambda: "")
    assert "I found nothing about that in 0 articles." in out


def test_ctrl_c_clears_the_line_and_ctrl_d_quits() -> None:
    out: list[str] = []
    search = FakeSearch((hit("Russia has supplied missiles."),))
    typed: list[object] = [KeyboardInterrupt(), "what did Russia give"]

    def read(prompt: str) -> str:
        if not typed:
            raise EOFError  # Ctrl-D
        item = typed.pop(0)
        if isinstance(item, BaseException):
            raise item
        return str(item)

    run_repl(Answerer(search, lambda: 5), read, out.append, lambda: "")
    assert [c[0] for c in search.calls] == ["what did Russia give"]  # still asking after Ctrl-C
    assert any("Russia has supplied missiles" in line for line in out)


def test_answers_wrap_to_the_width_asked_for_without_breaking_words() -> None:
    out: list[str] = []
    long = "Russia has supplied air defense missiles to North Korea, https://news.example/a-very-long-link-to-the-story said."
    run_repl(Answerer(FakeSearch((hit(long),)), lambda: 5), lines("missiles"), out.append, lambda: "", width=lambda: 30)
    answer = out[1]
    words = long.split()
    for line in answer.splitlines():
        assert len(line) <= 30 or line.strip().strip("“”") in words  # only a word longer than the width runs over
    assert "https://news.example/a-very-long-link-to-the-story" in answer


def test_a_sticky_scope_naming_an_unknown_folder_is_refused_with_the_folders_there_are() -> None:
    def resolve(scope: tuple[str, ...]) -> tuple[str, ...]:
        if unknown := tuple(folder for folder in scope if folder not in {"sport", "tech"}):
            raise UnknownScope(unknown, ("sport", "tech"))
        return scope

    out: list[str] = []
    search = FakeSearch((hit("Wales won the final."),))
    answerer = Answerer(search, lambda: 5, resolve_scope=resolve)
    run_repl(answerer, lines("--in sport", "--in spor", "who won"), out.append, lambda: "")
    assert out[1] == "Questions now search sport/."
    assert out[2] == "There is no folder spor/ in the articles. The folders are: sport/, tech/"
    assert [c[3] for c in search.calls] == [("sport",)]  # the scope set before the typo still holds


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_help_fits_the_terminal_without_a_line_of_punctuation_alone(columns: int) -> None:
    out: list[str] = []
    width = columns - 1  # as the CLI asks: one column spare, so the terminal never wraps a full line itself
    run_repl(Answerer(FakeSearch(), lambda: 5), lines("help"), out.append, lambda: "", width=lambda: width)
    text = out[1]
    for line in text.splitlines():
        assert len(line) <= width, line
        assert any(c.isalnum() for c in line), repr(line)  # no ")" or "." left alone on a line
    assert " ".join(text.split()).count("(--in all: from every folder again)") == 1
    for command in ("help", "sources", "--in sport", "--in sport QUESTION", "quit"):
        assert any(line.startswith(f"  {command} ") for line in text.splitlines()), command
