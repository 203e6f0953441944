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
