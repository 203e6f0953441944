"""Serving the Bolt app: HTTP (threaded WSGI, with /healthz) or Socket Mode."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from ..config import ConfigError, Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def check_settings(settings: Settings) -> str:
    """'socket' or 'http', or ConfigError naming the variable that is missing or malformed."""
    token = settings.slack_bot_token
    if not token:
        raise ConfigError("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…) from your Slack app's OAuth page")
    if not token.startswith("xoxb-") or any(c.isspace() for c in token):
        raise ConfigError("SLACK_BOT_TOKEN is malformed: a bot token starts with 'xoxb-'")
    if not settings.slack_api_url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_URL must be an http(s) URL, such as https://slack.com/api/")
    if settings.slack_app_token:
        if not settings.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN is malformed: an app-level token starts with 'xapp-'")
        return "socket"
    secret = settings.slack_signing_secret
    if not secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it (or set SLACK_APP_TOKEN for Socket Mode)")
    if any(c.isspace() for c in secret) or len(secret) < 8:
        raise ConfigError("SLACK_SIGNING_SECRET is malformed")
    return "http"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        logger.debug("http %s", format % args)


def wsgi_app(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """Slack requests at /slack/events, and GET /healthz for load balancers and compose."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if environ.get("PATH_INFO") != EVENTS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        return slack(environ, start_response)  # type: ignore[no-any-return]

    return application


def make_http_server(app: App, host: str, port: int) -> WSGIServer:
    return make_server(host, port, wsgi_app(app), server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)


def serve_http(app: App, host: str, port: int, ready: Callable[[str], None] | None = None) -> None:
    server = make_http_server(app, host, port)
    address = f"http://{host}:{server.server_port}{EVENTS_PATH}"
    logger.info("serving Slack requests at %s", address)
    if ready:
        ready(address)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def serve_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()


REFRESH_DUTY = 0.05  # at most this share of the time is spent looking for changed articles


def start_refresher(
    refresh: Callable[[], object | None], every_seconds: float, stop: threading.Event | None = None
) -> threading.Thread:
    """Index new and changed articles in the background, so a running bot sees them.

    `refresh` returns None when nothing changed. Looking costs a file-system scan (about 0.4 s for
    50,000 files); on a folder that large the wait after a look that found nothing grows so that the
    scans take at most `REFRESH_DUTY` of the time. Setting `stop` ends the loop.
    """
    stop = stop or threading.Event()

    def loop() -> None:
        wait = every_seconds
        while not stop.wait(wait):
            started = time.monotonic()
            try:
                changed = refresh() is not None
            except Exception:
                logger.exception("background re-index failed; the previous index keeps serving")
                changed = False
            looked = time.monotonic() - started
            wait = every_seconds if changed else max(every_seconds, looked / REFRESH_DUTY)

    thread = threading.Thread(target=loop, name="quotebot-refresh", daemon=True)
    thread.start()
    return thread
