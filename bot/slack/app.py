"""The Bolt app: slash command, @mentions answered in the thread, DMs. Listeners only translate.

Slack delivers events at least once, so every event is claimed once by its `event_id` and once by
its message (channel + ts): a retried delivery, or the `app_mention` and `message` events of one
message, get a single reply between them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond, Say
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk import WebClient

from index.feedback import ANSWER_ID, FeedbackLog

from ..config import Settings
from ..core import Answer, Answerer
from .blocks import RATE_CLOSEST, RATE_DOWN, RATE_UP, SHARE_ACTION, apology, not_recorded, recorded, render_slack, usage
from .parse import is_from_a_person, message_key, reply_thread_ts, strip_mentions

logger = logging.getLogger(__name__)

Reply = Callable[..., Any]


class SeenOnce:
    """Remembers keys for a while; `claim` is True only the first time a key is seen."""

    def __init__(self, ttl_seconds: float = 3600, max_keys: int = 50_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self.ttl = ttl_seconds
        self.max_keys = max_keys

    def claim(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen and (len(self._seen) > self.max_keys or next(iter(self._seen.values())) < now - self.ttl):
                self._seen.popitem(last=False)
            if any(key in self._seen for key in keys if key):
                return False
            for key in keys:
                if key:
                    self._seen[key] = now
            return True


ScopeFor = Callable[[str | None], tuple[str, ...]]  # channel ID -> the folders its questions search by default


def build_app(
    settings: Settings, answerer: Answerer, scope_for: ScopeFor = lambda channel: (), feedback: FeedbackLog | None = None
) -> App:
    """The Bolt app for these settings, answering with `answerer`; questions asked in a channel search the
    folders `scope_for` gives it, unless they name their own (`in:sport ...`). With `feedback`, every answer
    with quotes carries 👍 and 👎 buttons, and their clicks are stored there.

    The token is not checked here: `SlackLink` (server.py) checks it in the background, so that a
    Slack outage at start-up is waited out. Nothing a request carries is logged above DEBUG: not its
    body, not the question, not the response URL.
    """
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,
        request_verification_enabled=True,
        raise_error_for_unhandled_request=True,  # to handle_error below, instead of a warning quoting the body
    )
    seen = SeenOnce()

    def answer_and_reply(kind: str, question: str, reply: Reply, channel: str | None = None, **render: bool) -> None:
        started = time.perf_counter()
        outcome, quotes = "error", 0
        try:
            if not question.strip() or question.strip().lower() in {"help", "?"}:
                outcome = "help"
                message = usage(settings.slash_command)
            else:
                try:
                    answer: Answer = answerer.answer(question, scope=scope_for(channel))
                    quotes, outcome = len(answer.hits), answer.status
                    message = render_slack(answer, rating_id=remember(answer, kind), **render)
                except Exception:
                    logger.exception("failed to answer a question (%s)", kind)
                    message = apology()
            try:
                reply(**message)
            except Exception as error:  # Slack unreachable, or the response URL expired
                outcome = "undelivered"
                logger.warning("could not deliver a reply (%s): %s", kind, _describe(error))
        finally:
            latency = (time.perf_counter() - started) * 1000
            logger.info("question kind=%s latency_ms=%.1f quotes=%d outcome=%s", kind, latency, quotes, outcome)

    def remember(answer: Answer, kind: str) -> str | None:
        """The answer's id for its rating buttons; None (no buttons) when ratings are off or cannot be stored."""
        if feedback is None or not answer.hits:
            return None
        try:
            return feedback.remember(answer.question, answer.scope, answer.hits, kind)
        except Exception as error:  # a read-only or busy index: answer anyway, without buttons
            logger.warning("answer shown without rating buttons: %s", type(error).__name__)
            return None

    def rate(body: dict[str, Any], respond: Respond, answer_id: str, vote: str, chosen: int | None = None) -> None:
        """Store one user's rating and tell them alone; a rating that cannot be read or stored is said so politely."""
        user = _field(body, "user", "id")
        channel_id = _field(body, "channel", "id") or _field(body, "container", "channel_id")
        if feedback is None:
            message = not_recorded("ratings are turned off here")
        elif not ANSWER_ID.match(answer_id) or not user:
            message = not_recorded("it did not come from an answer of mine")
        else:
            try:
                rating = feedback.rate(answer_id, "up" if vote == "up" else "down", user, channel_id, chosen)
            except ValueError:
                message = not_recorded("there is no such quote in that answer")
            except Exception as error:
                logger.warning("could not store a rating: %s", type(error).__name__)
                message = not_recorded("the index could not be written; please try again later")
            else:
                if rating is None:
                    message = not_recorded("that answer is too old to rate")
                else:
                    logger.info("rating answer=%s vote=%s", answer_id, rating.vote)
                    message = recorded(rating.vote, tuple(q.text for q in rating.quotes), answer_id, chosen)
        try:
            _delivered(respond(response_type="ephemeral", replace_original=chosen is not None, **message))
        except Exception as error:
            logger.warning("could not confirm a rating: %s", _describe(error))

    @app.action(RATE_UP)
    def handle_rate_up(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        rate(body, respond, str(action.get("value", "")), "up")

    @app.action(RATE_DOWN)
    def handle_rate_down(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        rate(body, respond, str(action.get("value", "")), "down")

    @app.action(RATE_CLOSEST)
    def handle_closest(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        value = str((action.get("selected_option") or {}).get("value", ""))
        answer_id, _, number = value.partition(":")
        rate(body, respond, answer_id if number.isdigit() else "", "down", int(number) if number.isdigit() else None)

    @app.command(settings.slash_command)
    def handle_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        question = command.get("text") or ""

        def reply(**message: Any) -> None:
            _delivered(respond(response_type="ephemeral", **message))

        answer_and_reply("slash_command", question, reply, command.get("channel_id"), restate=True, shareable=True)

    @app.action(SHARE_ACTION)
    def handle_share(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        question = body["actions"][0].get("value", "")
        user = body.get("user", {}).get("id")

        def reply(**message: Any) -> None:
            if user:
                shared_by = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Shared by <@{user}>"}]}
                message["blocks"] = [*message["blocks"], shared_by][:50]
            _delivered(respond(response_type="in_channel", replace_original=False, **message))

        channel = body.get("channel", {}).get("id") if isinstance(body.get("channel"), dict) else None
        answer_and_reply("share", question, reply, channel, restate=True)

    @app.event("app_mention")
    def handle_mention(event: dict[str, Any], body: dict[str, Any], say: Say) -> None:
        if not is_from_a_person(event) or not seen.claim(body.get("event_id", ""), message_key(event)):
            return
        thread_ts = reply_thread_ts(event)
        answer_and_reply("mention", strip_mentions(event.get("text", "")), lambda **m: say(thread_ts=thread_ts, **m), event.get("channel"))

    @app.event("message")
    def handle_message(event: dict[str, Any], body: dict[str, Any], say: Say) -> None:
        if event.get("channel_type") != "im" or not is_from_a_person(event):
            return  # channel messages reach the bot as app_mention when it is mentioned
        if not seen.claim(body.get("event_id", ""), message_key(event)):
            return
        thread_ts = event.get("thread_ts")
        answer_and_reply("dm", strip_mentions(event.get("text", "")), lambda **m: say(thread_ts=thread_ts, **m), event.get("channel"))

    @app.error
    def handle_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type", "?")
        if isinstance(error, BoltUnhandledRequestError):
            event = body.get("event", {}).get("type", "") if isinstance(body.get("event"), dict) else ""
            logger.debug("no listener for a %s request %s", kind, event)
            return
        logger.error("unhandled error for a %s request: %s", kind, type(error).__name__)

    return app


def _field(body: dict[str, Any], part: str, name: str) -> str:
    """body[part][name] when both are there and it is text; "" otherwise (a payload of another shape)."""
    value = body.get(part)
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, str) else ""


class Undelivered(Exception):
    """Slack answered a post to a response URL with an error status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")


def _delivered(result: Any) -> None:
    """Posts to a response URL do not raise on an error status; this does."""
    status = getattr(result, "status_code", 200)
    if not 200 <= status < 300:
        raise Undelivered(status)


def _describe(error: Exception) -> str:
    """An error in one line, without what was being sent."""
    response = getattr(error, "response", None)
    if response is not None and hasattr(response, "get"):
        return f"{type(error).__name__} ({response.get('error', 'error')})"
    return type(error).__name__ if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
