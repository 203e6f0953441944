"""Answers as text for people and JSON for programs. Pure functions."""

from __future__ import annotations

import textwrap
from typing import Any

from index.models import Hit, Source

from .core import Answer

NOT_SURE = "I'm not sure these answer it; they are the closest sentences I found:"
HELP = (
    "Ask a question about the articles, in plain words. I answer with sentences quoted word for word "
    "from them, each with its source."
)


def describe_source(source: Source) -> str:
    """'Outlet, "Title", 2024-11-22, https://…' with what is known; the file name when there is no title."""
    parts = []
    if source.outlet:
        parts.append(source.outlet)
    if source.title:
        parts.append(f"“{source.title}”")
    else:
        parts.append(source.article_id)
    if source.published:
        parts.append(source.published.isoformat())
    if source.url:
        parts.append(source.url)
    return ", ".join(parts)


def no_answer_text(answer: Answer) -> str:
    if answer.status == "empty_question":
        return HELP
    articles = f"{answer.articles} article{'' if answer.articles == 1 else 's'}"
    return f"I found nothing about that in {articles}."


def render_text(answer: Answer, width: int = 100) -> str:
    """A plain-text answer: numbered quotes, each followed by its source and other sources."""
    if not answer.hits:
        return no_answer_text(answer)
    blocks = [_render_hit(i, hit, width) for i, hit in enumerate(answer.hits, 1)]
    if not answer.confident:
        blocks.insert(0, NOT_SURE)
    return "\n\n".join(blocks)


def _render_hit(number: int, hit: Hit, width: int) -> str:
    indent = " " * (len(str(number)) + 2)
    lines = []
    quote = f"“{hit.passage.text}”"
    if hit.context_before or hit.context_after:
        before = " ".join(p.text for p in hit.context_before)
        after = " ".join(p.text for p in hit.context_after)
        quote = " ".join(part for part in (before, quote, after) if part)
    lines.extend(_wrap(quote, width - len(indent), initial_indent=f"{number}. ", subsequent_indent=indent))
    lines.extend(_wrap(f"— {describe_source(hit.source)}", width - len(indent), initial_indent=indent, subsequent_indent=indent + "  "))
    if hit.also_in:
        others = "; ".join(describe_source(s) for s in hit.also_in)
        lines.extend(_wrap(f"Also reported by: {others}", width - len(indent), initial_indent=indent, subsequent_indent=indent))
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
    }


def answer_dict(answer: Answer) -> dict[str, Any]:
    """The JSON shape other tools read: question, status ('ok' or 'no_answer'), confidence and quotes."""
    return {
        "question": answer.question,
        "status": "ok" if answer.status == "ok" else "no_answer",
        "confident": answer.confident,
        "quotes": [
            {
                "text": hit.passage.text,
                "score": hit.score,
                "source": source_dict(hit.source),
                "also_in": [source_dict(s) for s in hit.also_in],
                "context": [p.text for p in hit.context_before] + [p.text for p in hit.context_after],
            }
            for hit in answer.hits
        ],
    }
