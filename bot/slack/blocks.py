"""Answers as Slack messages: Block Kit with a plain-text fallback, within Slack's limits. Pure."""

from __future__ import annotations

from typing import Any

from index.models import Hit, Source

from ..core import Answer
from ..render import NOT_SURE, also_lines, no_answer_text, render_text, scope_name
from .parse import escape

SECTION_CHARS = 3000
MAX_BLOCKS = 50
FALLBACK_CHARS = 4000  # Slack truncates messages at 40,000 characters; a notification needs far less
SHARE_ACTION = "share_answer"
RATE_UP, RATE_DOWN, RATE_CLOSEST = "rate_up", "rate_down", "rate_closest"  # values: the answer's id (and quote)

USAGE = (
    "Ask me about the articles I have read, in plain words, and I answer with sentences quoted from them, "
    "each with its source.\n"
    "• Slash command: `{command} what did Russia give North Korea?` (only you see the answer; "
    "*Share in channel* posts it)\n"
    "• Mention me in a channel: `@quotebot who is Shin Won-sik?` (I answer in the thread)\n"
    "• Or send me a direct message.\n"
    "• Start with `in:sport` (a folder of the articles) to answer from that folder only."
)


def source_mrkdwn(source: Source) -> str:
    """The source line: outlet, title (linked when a URL is known), date; the file when no title is known."""
    name = escape(source.title or source.article_id)
    if source.url:
        url = source.url.replace(">", "%3E").replace("|", "%7C")
        name = f"<{url}|{name}>"
    elif source.title:
        name = f"_{name}_"
    else:
        name = path_mrkdwn(source)
    parts = [escape(source.outlet)] if source.outlet else []
    parts.append(name)
    if source.published:
        parts.append(source.published.isoformat())
    return ", ".join(parts)


def path_mrkdwn(source: Source) -> str:
    """The file, relative to the articles folder, as code (quiet, and never turned into a link)."""
    path = escape(source.article_id).replace("`", "'")
    return f"`{path}`"


def _with_path(source: Source) -> str:
    line = source_mrkdwn(source)
    return line if not source.title and not source.url else f"{line} {path_mrkdwn(source)}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote_blocks(hit: Hit) -> list[dict[str, Any]]:
    """The quote, then a context block: its source, its file, and the other files carrying it (each once)."""
    quote = "\n".join(f"> {line}" for line in escape(hit.passage.text).splitlines() or [""])
    elements = [{"type": "mrkdwn", "text": _clip(f"— {source_mrkdwn(hit.source)}", SECTION_CHARS)}]
    if hit.source.title or hit.source.url:  # otherwise the source line is the file already
        elements.append({"type": "mrkdwn", "text": path_mrkdwn(hit.source)})
    for line in also_lines(hit, path_mrkdwn, _with_path):
        elements.append({"type": "mrkdwn", "text": _clip(line, SECTION_CHARS)})
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(quote, SECTION_CHARS)}},
        {"type": "context", "elements": elements},
    ]


def render_slack(
    answer: Answer, *, restate: bool = False, shareable: bool = False, rating_id: str | None = None
) -> dict[str, Any]:
    """`text` (the notification and fallback) and `blocks` for chat.postMessage or a response URL; with
    `rating_id` (the answer as `FeedbackLog.remember` kept it), 👍 and 👎 buttons under the quotes."""
    blocks: list[dict[str, Any]] = []
    if restate:
        question = _clip(escape(answer.question), SECTION_CHARS - 60)
        where = f" _(in {escape(scope_name(answer.scope))})_" if answer.scope and answer.status != "unknown_scope" else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"*Question:* {question}{where}"}]})
    if answer.hits:
        if not answer.confident:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(NOT_SURE)}]})
        for hit in answer.hits:
            blocks.extend(_quote_blocks(hit))
    else:
        message = no_answer_text(answer)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(message)}})
    buttons = []
    if shareable and answer.hits:
        buttons.append(
            {
                "type": "button",
                "action_id": SHARE_ACTION,
                "text": {"type": "plain_text", "text": "Share in channel"},
                "value": (f"in:{','.join(answer.scope)} " if answer.scope else "") + answer.question[:1900],
            }
        )
    if rating_id and answer.hits:
        buttons += [
            {"type": "button", "action_id": RATE_UP, "text": {"type": "plain_text", "text": "👍 Answered it"}, "value": rating_id},
            {"type": "button", "action_id": RATE_DOWN, "text": {"type": "plain_text", "text": "👎 Didn't"}, "value": rating_id},
        ]
    if buttons:
        blocks = blocks[: MAX_BLOCKS - 1] + [{"type": "actions", "elements": buttons}]
    fallback = render_text(answer) if answer.hits else no_answer_text(answer)
    if restate:
        fallback = f"Question: {answer.question}\n\n{fallback}"
    return {"text": _clip(escape(fallback), FALLBACK_CHARS), "blocks": blocks[:MAX_BLOCKS]}


def usage(command: str) -> dict[str, Any]:
    text = USAGE.format(command=command)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def apology() -> dict[str, Any]:
    text = "Sorry, something went wrong while answering. The error has been logged; please try again."
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def recorded(vote: str, quotes: tuple[str, ...], answer_id: str, chosen: int | None = None) -> dict[str, Any]:
    """Said to the voter alone: the vote is recorded; after a 👎, which quote came closest (a menu)."""
    if vote == "up":
        text = "Thanks: recorded 👍 for this answer."
        return {"text": text, "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]}
    if chosen is not None:
        which = "none of the quotes came close" if chosen == 0 else f"quote {chosen} came closest"
        text = f"Thanks: recorded 👎, and that {which}."
        return {"text": text, "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]}
    text = "Thanks: recorded 👎. Which quote came closest to answering it? (optional)"
    options = [
        {"text": {"type": "plain_text", "text": _clip(f"{n}. {quote}", 75)}, "value": f"{answer_id}:{n}"}
        for n, quote in enumerate(quotes, 1)
    ]
    options.append({"text": {"type": "plain_text", "text": "None of these"}, "value": f"{answer_id}:0"})
    menu = {
        "type": "static_select",
        "action_id": RATE_CLOSEST,
        "placeholder": {"type": "plain_text", "text": "Closest quote"},
        "options": options,
    }
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}, {"type": "actions", "elements": [menu]}],
    }


def not_recorded(reason: str) -> dict[str, Any]:
    text = f"Sorry, your rating was not recorded: {reason}."
    return {"text": text, "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": escape(text)}]}]}
