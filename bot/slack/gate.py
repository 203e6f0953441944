"""What a request to /slack/events must be before Bolt sees it: signed first, then well formed. Pure.

Bolt parses a body before it checks the signature, so an unsigned request could make it parse
anything. Here the signature is checked on the raw bytes first; only a signed body is parsed, and a
body that is not what Slack sends is refused with a 4xx that names the problem (never the body).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

MAX_AGE_SECONDS = 60 * 5  # Slack's own rule: older signed requests may be replays
# Fields a slash command needs to be answered: where to send the answer, and what was asked.
COMMAND_FIELDS = ("command", "response_url", "user_id", "channel_id")


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str  # short, safe to log and to send back: it never quotes the request


def check_signature(
    body: bytes, headers: Mapping[str, str], secret: str, now: float | None = None
) -> Refusal | None:
    """None if `body` was signed with `secret` in the last five minutes. `headers` keys are lower-case."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp or not signature:
        return Refusal(401, "unsigned request")
    if not timestamp.isdigit():
        return Refusal(401, "malformed request timestamp")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return Refusal(401, "stale request timestamp")
    if not SignatureVerifier(secret).is_valid(body, timestamp, signature):
        return Refusal(401, "invalid signature")
    return None


def check_body(body: bytes, content_type: str) -> Refusal | None:
    """None if a signed body has the shape of a Slack request: a JSON object, or a form as Slack posts them."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "body is not UTF-8")
    if content_type.split(";")[0].strip().lower() == "application/json":
        return _json_object(text, "body")
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:  # interactivity: buttons
        return _json_object(form["payload"][0], "payload")
    if "command" in form or "response_url" in form:  # a slash command
        missing = [name for name in COMMAND_FIELDS if not (form.get(name) or [""])[0]]
        if missing:
            return Refusal(400, f"slash command without {', '.join(missing)}")
        return None
    if "ssl_check" in form:
        return None
    return Refusal(400, "not a Slack request")


def _json_object(text: str, what: str) -> Refusal | None:
    try:
        value = json.loads(text)
    except ValueError:
        return Refusal(400, f"{what} is not valid JSON")
    if not isinstance(value, dict):
        return Refusal(400, f"{what} is not a JSON object")
    return None
