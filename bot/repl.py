"""The interactive prompt: the same answers as `quotebot ask`, one question after another."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

from index.feedback import NONE_OF_THESE, FeedbackLog, Vote

from .core import Answerer, split_scope
from .render import no_answer_text, render_text, scope_name

PROMPT = "quotebot> "
COMMANDS = (
    ("help", "this text"),
    ("sources", "the indexed articles"),
    ("--in sport", "answer the questions that follow from sport/ only (--in all: from every folder again)"),
    ("--in sport QUESTION", "this question only (in:sport QUESTION does the same)"),
    ("+  or  -", "rate the last answer: it answered the question, or it did not"),
    ("- 2  or  - 0", "it did not, but quote 2 came closest (0: none of them did)"),
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


_RATING = re.compile(r"^([+-])\s*(\d+|none)?$", re.I)


def rate_last(feedback: FeedbackLog | None, last: tuple[str, int] | None, command: str, user: str) -> str:
    """`+`, `-`, `- 2` (quote 2 came closest), `- 0` or `- none` (none did) about the last answer: what to say."""
    if feedback is None:
        return "Ratings are turned off (QUOTEBOT_FEEDBACK=off, or the index is read-only)."
    if last is None:
        return "Nothing to rate yet: ask a question, then type + if it was answered or - if not."
    match = _RATING.match(command)
    assert match
    vote: Vote = "up" if match[1] == "+" else "down"
    chosen = None if match[2] is None else (NONE_OF_THESE if match[2].lower() == "none" else int(match[2]))
    answer_id, quotes = last
    if chosen is not None and chosen > quotes:
        return f"The last answer had {quotes} quote{'s' if quotes != 1 else ''}; choose 1 to {quotes}, or 0 for none."
    rating = feedback.rate(answer_id, vote, user, "repl", chosen)
    if rating is None:
        return "That answer can no longer be rated."
    said = "👍" if vote == "up" else "👎"
    if rating.chosen == NONE_OF_THESE:
        said += ", none of the quotes came close"
    elif rating.chosen:
        said += f", quote {rating.chosen} {'answered it' if vote == 'up' else 'came closest'}"
    return f"Recorded {said}."


def run_repl(
    answerer: Answerer,
    read_line: Callable[[str], str],
    write: Callable[[str], None],
    list_sources: Callable[[], str],
    width: Callable[[], int] = lambda: 100,
    dim: bool = False,
    feedback: FeedbackLog | None = None,
    user: str = "local",
) -> None:
    """Read questions until quit or end of input (Ctrl-D: `read_line` raises EOFError). Ctrl-C (KeyboardInterrupt)
    drops the line being typed, or the answer being looked up, and asks again. Answers wrap at `width()` columns,
    asked at each answer so that they follow a resized terminal. `--in FOLDER` alone on a line scopes the questions
    that follow."""
    scope: tuple[str, ...] = ()
    last: tuple[str, int] | None = None  # the last answer with quotes, as remembered for rating: (id, quotes)
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
        elif _RATING.match(command):
            write(rate_last(feedback, last, command, user))
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
                last = None  # `+` and `-` are about this answer, or about nothing if it quoted nothing
                if feedback is not None and answer.hits:
                    last = (feedback.remember(answer.question, answer.scope, answer.hits, "repl"), len(answer.hits))
            except KeyboardInterrupt:
                write("(stopped)")
