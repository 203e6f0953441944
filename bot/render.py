"""Answers as text for people and JSON for programs. Pure functions."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from index.models import Hit, Source

from .core import Answer

NOT_SURE = "I'm not sure these answer it; they are the closest sentences I found:"
HELP = (
    "Ask a question about the articles, in plain words. I answer with sentences quoted word for word "
    "from them, each with its source."
)


def describe_source(source: Source) -> str:
    """'Outlet, "Title", 2024-11-22, https://…' with what is known of a source; "" when nothing is (its file says the rest)."""
    parts = []
    if source.outlet:
        parts.append(source.outlet)
    if source.title:
        parts.append(f"“{source.title}”")
    if source.published:
        parts.append(source.published.isoformat())
    if source.url:
        parts.append(source.url)
    return ", ".join(parts)


PATH_SEPARATOR = " · "


def source_line(source: Source) -> str:
    """What is known of a source, then always its file, relative to the articles folder."""
    known = describe_source(source)
    return f"{known}{PATH_SEPARATOR}{source.article_id}" if known else source.article_id


def scope_name(scope: tuple[str, ...]) -> str:
    return ", ".join(f"{folder}/" for folder in scope)


def no_answer_text(answer: Answer) -> str:
    if answer.status == "empty_question":
        return HELP
    if answer.status == "unknown_scope":
        known = scope_name(answer.known_scopes) or "none (every article is at the top of the articles folder)"
        return f"There is no folder {scope_name(answer.scope)} in the articles. The folders are: {known}"
    if answer.scope:
        return f"I found nothing about that in {scope_name(answer.scope)}."
    articles = f"{answer.articles} article{'' if answer.articles == 1 else 's'}"
    return f"I found nothing about that in {articles}."


def render_text(answer: Answer, width: int = 100, dim: bool = False) -> str:
    """A plain-text answer: numbered quotes, each followed by its source, its file (dimmed, with `dim`, by ANSI
    codes that click strips when the output is not a terminal) and the other files carrying it."""
    if not answer.hits:
        return no_answer_text(answer)
    blocks = [_render_hit(i, hit, width, dim) for i, hit in enumerate(answer.hits, 1)]
    if not answer.confident:
        blocks.insert(0, NOT_SURE)
    return "\n\n".join(blocks)


def also_lines(
    hit: Hit, file: Callable[[Source], str] = lambda s: s.article_id, source: Callable[[Source], str] = source_line
) -> list[str]:
    """'Also filed as' (the same story under other file names, each shown by `file`) and 'Also reported by' (other
    articles carrying the sentence, each shown by `source`), each once, never repeating the quote's own source."""
    lines = []
    filed = list(dict.fromkeys(file(s) for s in hit.filed_as if s.article_id != hit.source.article_id))
    if filed:
        lines.append(f"Also filed as: {', '.join(filed)}")
    others = list(dict.fromkeys(source(s) for s in hit.also_in if s.article_id != hit.source.article_id))
    if others:
        lines.append(f"Also reported by: {'; '.join(others)}")
    return lines


def _render_hit(number: int, hit: Hit, width: int, dim: bool) -> str:
    indent = " " * (len(str(number)) + 2)
    lines = []
    quote = f"“{hit.passage.text}”"
    if hit.context_before or hit.context_after:
        before = " ".join(p.text for p in hit.context_before)
        after = " ".join(p.text for p in hit.context_after)
        quote = " ".join(part for part in (before, quote, after) if part)
    lines.extend(_wrap(quote, width - len(indent), initial_indent=f"{number}. ", subsequent_indent=indent))
    source = _wrap(f"— {source_line(hit.source)}", width - len(indent), initial_indent=indent, subsequent_indent=indent + "  ")
    path = hit.source.article_id
    if dim and source[-1].endswith(path):  # the file, quietly (ANSI faint)
        source[-1] = f"{source[-1][: len(source[-1]) - len(path)]}\x1b[2m{path}\x1b[22m"
    lines.extend(source)
    for line in also_lines(hit):
        lines.extend(_wrap(line, width - len(indent), initial_indent=indent, subsequent_indent=indent + "  "))
    return "\n".join(lines)


MIN_WIDTH = 20


def _wrap(text: str, width: int, **indents: str) -> list[str]:
    """Lines of at most `width` columns, never splitting a word or a link (a longer word gets a line of its own)."""
    return textwrap.wrap(text, max(width, MIN_WIDTH), break_long_words=False, break_on_hyphens=False, **indents)


def source_dict(source: Source) -> dict[str, Any]:
    return {
        "id": source.article_id,
        "title": source.title,
        "outlet": source.outlet,
        "published": source.published.isoformat() if source.published else None,
        "url": source.url,
        "path": source.article_id,  # the file, relative to the articles folder
    }


def answer_dict(answer: Answer) -> dict[str, Any]:
    """The JSON shape other tools read: question, status ('ok', 'no_answer' or 'unknown_scope'), scope,
    confidence and quotes."""
    status = answer.status if answer.status in {"ok", "unknown_scope"} else "no_answer"
    data: dict[str, Any] = {
        "question": answer.question,
        "status": status,
        "scope": list(answer.scope),
        "confident": answer.confident,
        "quotes": [
            {
                "text": hit.passage.text,
                "score": hit.score,
                "source": source_dict(hit.source),
                "also_in": [source_dict(s) for s in hit.also_in],
                "filed_as": [source_dict(s) for s in hit.filed_as],
                "context": [p.text for p in hit.context_before] + [p.text for p in hit.context_after],
            }
            for hit in answer.hits
        ],
    }
    if answer.status == "unknown_scope":
        data["known_scopes"] = list(answer.known_scopes)
        data["message"] = no_answer_text(answer)
    return data
