"""The interactive prompt: the same answers as `quotebot ask`, one question after another."""

from __future__ import annotations

from collections.abc import Callable

from .core import Answerer, split_scope
from .render import render_text, scope_name

PROMPT = "quotebot> "
REPL_HELP = """Type a question and press Enter. Commands:
  help       this text
  sources    the indexed articles
  --in sport         answer the questions that follow from sport/ only (--in all: every folder again)
  --in sport QUESTION  (or in:sport QUESTION) this question only
  quit       leave (or Ctrl-D)
Ctrl-C clears the line you are typing."""


def run_repl(
    answerer: Answerer,
    read_line: Callable[[str], str],
    write: Callable[[str], None],
    list_sources: Callable[[], str],
    width: Callable[[], int] = lambda: 100,
    dim: bool = False,
) -> None:
    """Read questions until quit or end of input (Ctrl-D: `read_line` raises EOFError). Ctrl-C (KeyboardInterrupt)
    drops the line being typed, or the answer being looked up, and asks again. Answers wrap at `width()` columns,
    asked at each answer so that they follow a resized terminal. `--in FOLDER` alone on a line scopes the questions
    that follow."""
    scope: tuple[str, ...] = ()
    write(f"Ask about {answerer.article_count()} articles. Type 'help' for commands, 'quit' to leave (or Ctrl-D).")
    while True:
        try:
            line = read_line(PROMPT).strip()
        except EOFError:
            write("")
            return
        except KeyboardInterrupt:
            write("")  # the line typed so far is dropped
            continue
        command = line.lower()
        if not line:
            continue
        if command in {"quit", "exit", "q", ":q"}:
            return
        if command in {"help", "?"}:
            write(REPL_HELP)
        elif command == "sources":
            write(list_sources())
        elif (named := split_scope(line)) and named[0] and not named[1].strip():
            scope = () if named[0] == ("all",) else named[0]
            write(f"Questions now search {scope_name(scope) if scope else 'every folder'}.")
        else:
            try:
                answer = answerer.answer(line, scope=scope)
                if answer.status == "unknown_scope" and answer.scope == scope:
                    scope = ()  # the folder set with --in is not there: back to every folder
                write(render_text(answer, width=width(), dim=dim))
            except KeyboardInterrupt:
                write("(stopped)")
