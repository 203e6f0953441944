"""A local stand-in for the Slack Web API, and signed requests shaped like Slack's.

The stand-in records chat.postMessage, chat.postEphemeral and posts to response URLs
(`/response/<id>`). Run it by hand to try `quotebot serve` without Slack:

    python -m tests.slackkit standin --port 8999        # prints what the bot posts
    SLACK_API_URL=http://127.0.0.1:8999/api/ quotebot serve
    python -m tests.slackkit command "what did Russia give North Korea" --to http://127.0.0.1:3000/slack/events
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-0000-token"


@dataclass
class Post:
    method: str  # chat.postMessage, chat.postEphemeral, or response_url
    body: dict[str, Any]
    path: str = ""
    at: float = field(default_factory=time.perf_counter)


class StandIn:
    """The Slack Web API on loopback: answers every method with ok and records the posts."""

    def __init__(self, port: int = 0, echo: bool = False) -> None:
        self.posts: list[Post] = []
        self.calls: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._changed = threading.Condition()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1] if self.path.startswith("/api/") else "response_url"
                standin._record(method, body, self.path, dict(self.headers))
                if echo:
                    print(json.dumps({"method": method, **body}, indent=2), flush=True)
                reply: dict[str, Any] = {"ok": True}
                if method == "apps.connections.open":  # Socket Mode: where to open the WebSocket
                    reply = {"ok": True, "url": standin.socket_url} if standin.socket_url else {"ok": False, "error": "invalid_auth"}
                elif method == "auth.test":
                    reply.update(user_id="UBOT", bot_id="BBOT", team_id="T1", user="quotebot", url="https://example.slack.com/")
                elif method.startswith("chat."):
                    reply.update(channel=body.get("channel"), ts=f"{time.time():.6f}")
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.socket_url = ""  # what apps.connections.open hands out: a SocketStandIn's address
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.api_url = f"{self.url}/api/"

    def _record(self, method: str, body: dict[str, Any], path: str, headers: dict[str, str]) -> None:
        with self._changed:
            self.calls.append(method)
            self.headers.append(headers)
            if method not in {"auth.test", "apps.connections.open"}:
                self.posts.append(Post(method, body, path))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[Post]:
        """The first `count` posts, waiting up to `timeout` seconds for them."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.posts) >= count, timeout)
            return list(self.posts)

    def start(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SocketStandIn:
    """Slack's Socket Mode on loopback: a WebSocket server that says hello to each connection, hands the bot
    envelopes, and records the acks it sends back. Test-only: it needs the `websockets` package."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self._current: Any = None
        self._changed = threading.Condition()
        self._sent = 0
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/"

    def _handle(self, connection: Any) -> None:
        with self._changed:
            self.connections += 1
            self._current = connection
            self._changed.notify_all()
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        try:
            for message in connection:
                with self._changed:
                    self.acks.append(json.loads(message))
                    self._changed.notify_all()
        except Exception:  # the bot went away: the test that closed it knows
            pass

    def wait_for_connections(self, count: int, timeout: float = 30) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.connections >= count and self._current is not None, timeout)

    def wait_for_acks(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.acks) >= count, timeout)
            return list(self.acks)

    def send(self, kind: str, payload: dict[str, Any], envelope_id: str | None = None, retry_attempt: int = 0) -> str:
        """Hand the bot one envelope (events_api, slash_commands or interactive); its id."""
        with self._changed:
            self._sent += 1
            envelope_id = envelope_id or f"env-{self._sent}"
            connection = self._current
        connection.send(json.dumps({
            "envelope_id": envelope_id, "type": kind, "payload": payload, "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "", "accepts_response_payload": kind != "events_api",
        }))
        return envelope_id

    def ask_to_reconnect(self) -> None:
        """What Slack sends before it refreshes a connection."""
        self._current.send(json.dumps({"type": "disconnect", "reason": "refresh_requested"}))

    def drop(self) -> None:
        """Close the connection from this side, as a network failure would."""
        with self._changed:
            connection, self._current = self._current, None
        connection.close()

    def start(self) -> SocketStandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()


def command_payload(text: str, response_url: str, command: str = "/ask") -> dict[str, str]:
    """A slash command as Socket Mode delivers it: the form's fields as a JSON object."""
    return {k: v[0] for k, v in urllib.parse.parse_qs(command_body(text, response_url, command)).items()}


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def send(url: str, body: str, content_type: str, headers: dict[str, str]) -> tuple[int, str, float]:
    """POST to the bot; returns (status, body, seconds until the response)."""
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={"Content-Type": content_type, **headers})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.perf_counter() - started


def command_body(text: str, response_url: str, command: str = "/ask") -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy", "team_id": "T1", "team_domain": "newsroom", "channel_id": "C1", "channel_name": "desk",
            "user_id": "U1", "user_name": "ana", "command": command, "text": text, "api_app_id": "A1",
            "response_url": response_url, "trigger_id": "1.2.3",
        }
    )


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
            "event_time": int(time.time()), "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
    )


def mention(text: str, ts: str, channel: str = "C1", thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "ts": ts, "channel": channel, "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(text: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "user": "U1", "text": text, "ts": ts, "channel": "D1", "event_ts": ts, **extra}


def action_payload(value: str, response_url: str, action_id: str = "share_answer", user: str = "U1") -> dict[str, Any]:
    """A click on a button (or, for `rate_closest`, a choice in a menu) of one of the bot's messages."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1"}
    if action_id == "rate_closest":
        action = {"action_id": action_id, "block_id": "b", "type": "static_select", "action_ts": "1",
                  "selected_option": {"text": {"type": "plain_text", "text": "quote"}, "value": value}}
    return {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": user}, "api_app_id": "A1", "token": "legacy",
        "container": {"type": "message", "channel_id": "C1"}, "trigger_id": "1.2.3", "channel": {"id": "C1"},
        "response_url": response_url, "actions": [action],
    }


def action_body(value: str, response_url: str, action_id: str = "share_answer", user: str = "U1") -> str:
    return urllib.parse.urlencode({"payload": json.dumps(action_payload(value, response_url, action_id, user))})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    run = sub.add_parser("standin", help="run the Slack Web API stand-in")
    run.add_argument("--port", type=int, default=8999)
    ask = sub.add_parser("command", help="send a signed slash command to the bot")
    ask.add_argument("text")
    ask.add_argument("--to", default="http://127.0.0.1:3000/slack/events")
    ask.add_argument("--standin", default="http://127.0.0.1:8999")
    at = sub.add_parser("mention", help="send a signed app_mention event to the bot")
    at.add_argument("text")
    at.add_argument("--to", default="http://127.0.0.1:3000/slack/events")
    args = parser.parse_args()
    if args.what == "standin":
        standin = StandIn(args.port, echo=True)
        print(f"Slack Web API stand-in at {standin.api_url}", flush=True)
        standin.server.serve_forever()
    elif args.what == "command":
        body = command_body(args.text, f"{args.standin}/response/1")
        print(send(args.to, body, "application/x-www-form-urlencoded", sign(body))[:2])
    else:
        ts = f"{time.time():.6f}"
        body = event_body(mention(args.text, ts), f"Ev{ts}")
        print(send(args.to, body, "application/json", sign(body))[:2])


if __name__ == "__main__":
    main()
