"""The interactive prompt: the same answers as `quotebot ask`, one question after another."""

from __future__ import annotations

from collections.abc import Callable

from .core import Answerer
from .render import render_text

PROMPT = "quotebot> "
REPL_HELP = """Type a question and press Enter. Commands:
  help       this text
  sources    the indexed articles
  quit       leave (or Ctrl-D)"""


def run_repl(
    answerer: Answerer,
    read_line: Callable[[str], str],
    write: Callable[[str], None],
    list_sources: Callable[[], str],
) -> None:
    """Read questions until quit or end of input. `read_line` raises EOFError at the end."""
    write(f"Ask about {answerer.article_count()} articles. Type 'help' for commands, 'quit' to leave.")
    while True:
        try:
            line = read_line(PROMPT).strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        command = line.lower()
        if not line:
            continue
        if command in {"quit", "exit", "q", ":q"}:
            return
        if command in {"help", "?"}:
            write(REPL_HELP)
        elif command == "sources":
            write(list_sources())
        else:
            write(render_text(answerer.answer(line)))
