"""Reading Slack events and escaping text for Slack. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_IGNORED_SUBTYPES = frozenset(
    {"bot_message", "message_changed", "message_deleted", "channel_join", "channel_leave", "group_join",
     "group_leave", "channel_topic", "channel_purpose", "channel_name", "thread_broadcast", "message_replied"}
)


def strip_mentions(text: str) -> str:
    """The question in a message, without the '<@U123>' mentions of the bot."""
    return " ".join(_MENTION.sub(" ", text or "").split())


def escape(text: str) -> str:
    """Slack's control characters as entities, so corpus text can never ping anyone or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def reply_thread_ts(event: Mapping[str, Any]) -> str:
    """Reply in the mention's thread, or start one under the mention."""
    return str(event.get("thread_ts") or event.get("ts"))


def is_from_a_person(event: Mapping[str, Any]) -> bool:
    """False for other bots' messages, edits, deletions, joins and other non-questions."""
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    return event.get("subtype") not in _IGNORED_SUBTYPES and not event.get("subtype")


def message_key(event: Mapping[str, Any]) -> str:
    """One key per user message, shared by its app_mention and message events."""
    return f"{event.get('channel')}:{event.get('ts')}"
