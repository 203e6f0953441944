"""The interactive prompt: the same answers as `quotebot ask`, one question after another."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from .core import Answerer, split_scope
from .render import no_answer_text, render_text, scope_name

PROMPT = "quotebot> "
COMMANDS = (
    ("help", "this text"),
    ("sources", "the indexed articles"),
    ("--in sport", "answer the questions that follow from sport/ only (--in all: from every folder again)"),
    ("--in sport QUESTION", "this question only (in:sport QUESTION does the same)"),
    ("quit", "leave (or Ctrl-D)"),
)


def help_text(width: int) -> str:
    """The REPL's commands, wrapped to `width` columns with each description in a column of its own."""
    column = max(len(name) for name, _ in COMMANDS) + 4
    lines = textwrap.wrap("Type a question and press Enter. Commands:", width)
    for name, what in COMMANDS:
        lines += textwrap.wrap(
            what, max(width, column + 20), initial_indent=f"  {name}".ljust(column), subsequent_indent=" " * column,
            break_long_words=False, break_on_hyphens=False,
        )
    return "\n".join([*lines, *textwrap.wrap("Ctrl-C clears the line you are typing.", width)])


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
            write(help_text(width()))
        elif command == "sources":
            write(list_sources())
        elif (named := split_scope(line)) and named[0] and not named[1].strip():
            if named[0] == ("all",):
                scope = ()
            elif unknown := answerer.check_scope(named[0]):
                write(no_answer_text(unknown))  # as `quotebot ask --in` says it; the scope stays as it was
                continue
            else:
                scope = named[0]
            write(f"Questions now search {scope_name(scope) if scope else 'every folder'}.")
        else:
            try:
                answer = answerer.answer(line, scope=scope)
                if answer.status == "unknown_scope" and answer.scope == scope:
                    scope = ()  # the folder set with --in is not there: back to every folder
                write(render_text(answer, width=width(), dim=dim))
            except KeyboardInterrupt:
                write("(stopped)")
