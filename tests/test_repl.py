from __future__ import annotations

from bot.core import Answerer
from bot.repl import run_repl
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
