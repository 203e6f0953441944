"""Serving the Bolt app: HTTP (waitress, behind a signature gate, with /healthz) or Socket Mode."""

from __future__ import annotations

import io
import logging
import resource
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from ..config import ConfigError, Settings
from ..interrupt import raise_if_signalled
from .gate import Refusal, check_body, check_signature

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


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
    if any(c.isspace() for c in secret):
        raise ConfigError("SLACK_SIGNING_SECRET is malformed: it contains spaces or line breaks; copy it again")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"SLACK_SIGNING_SECRET is malformed: it has {len(secret)} characters, and Slack's signing secrets have 32; "
            "copy it from Basic Information > App Credentials"
        )
    return "http"


MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class HttpLimits:
    """What one client can take from the server. Slack's own requests are a few kilobytes, sent at once."""

    max_body: int = 1024 * 1024  # bytes; larger requests get 413 before their body is read
    max_header: int = 32 * 1024
    request_seconds: float = 5  # to send each whole request, from opening (or the last answer); then closed
    connections: int = 1000  # open at once, fewer if the process may not open that many files
    threads: int = 8  # requests handled at once (answers run on Bolt's own bounded pool)


def backoff(delays: tuple[float, ...]) -> Iterator[float]:
    """The seconds to wait after each failed attempt: `delays` in turn, then the last one for ever."""
    yield from delays
    while True:
        yield delays[-1]


def slack_problem(error: Exception, token: str, variable: str) -> str:
    """Why a call to Slack failed, in one line that names the setting to check; never what was sent."""
    if isinstance(error, SlackApiError):
        return f"Slack refused the {token} ({error.response.get('error', 'error')}); check {variable}"
    return f"Slack API unreachable ({type(error).__name__}: {error})"


class SlackLink:
    """Whether Slack has accepted the bot token yet: `auth.test`, retried with backoff until it succeeds.

    Until then the server reports not-ready on /healthz and asks Slack to retry events (503), so a Slack
    or network outage at start-up is waited out instead of crash-looping the process.
    """

    DELAYS = (1, 2, 4, 8, 15, 30, 60)  # seconds between attempts; the last repeats

    def __init__(self, auth_test: Callable[[], object], delays: tuple[float, ...] = DELAYS) -> None:
        self._auth_test = auth_test
        self._delays = delays
        self._ready = threading.Event()
        self.problem = "not checked yet"

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def check(self) -> bool:
        """One attempt; True if Slack accepted the token."""
        try:
            self._auth_test()
        except Exception as error:  # refused, or network down, DNS, TLS, Slack outage
            self.problem = slack_problem(error, "token", "SLACK_BOT_TOKEN")
            return False
        self.problem = ""
        self._ready.set()
        return True

    def start(self, stop: threading.Event | None = None) -> threading.Thread:
        """Keep trying in the background until Slack answers (or `stop` is set)."""
        stop = stop or threading.Event()

        def loop() -> None:
            for attempt, delay in enumerate(backoff(self._delays)):
                if self.check():
                    if attempt:
                        logger.info("Slack accepted the bot token; ready")
                    return
                logger.warning("not ready: %s; trying again in %g s", self.problem, delay)
                if stop.wait(delay):
                    return

        thread = threading.Thread(target=loop, name="quotebot-slack-link", daemon=True)
        thread.start()
        return thread


def wsgi_app(app: App, signing_secret: str, link: SlackLink, limits: HttpLimits = HttpLimits()) -> WSGIApp:
    """Slack requests at /slack/events, checked before Bolt sees them; GET /healthz for load balancers."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/healthz":
            if method not in {"GET", "HEAD"}:
                return _plain(start_response, 405, "use GET")
            if not link.ready:
                return _plain(start_response, 503, f"not ready: {link.problem}")
            return _plain(start_response, 200, "ok")
        if path != EVENTS_PATH:
            return _plain(start_response, 404, "not found")
        if method != "POST":
            return _plain(start_response, 405, "use POST")
        refusal, body = _read_checked(environ, signing_secret, limits)
        if refusal:
            logger.info("refused a request: %d %s", refusal.status, refusal.reason)
            return _plain(start_response, refusal.status, refusal.reason)
        if not link.ready:
            return _plain(start_response, 503, "not ready: waiting for Slack to accept the bot token")
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        try:
            return slack(environ, start_response)  # type: ignore[no-any-return]
        except Exception as error:  # Bolt should not raise; if it does, one line and a 500, never the body
            logger.error("failed to handle a Slack request: %s", type(error).__name__)
            return _plain(start_response, 500, "internal error")

    return application


def _read_checked(environ: dict[str, Any], secret: str, limits: HttpLimits) -> tuple[Refusal | None, bytes]:
    """The body, read only when its declared size is allowed, and checked: signature first, then shape."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return Refusal(411, "Content-Length required"), b""
    if length < 0:
        return Refusal(400, "bad Content-Length"), b""
    if length > limits.max_body:
        return Refusal(413, f"request larger than {limits.max_body} bytes"), b""
    try:
        body = environ["wsgi.input"].read(length)
    except OSError:
        return Refusal(400, "request body cut short"), b""
    if len(body) != length:
        return Refusal(400, "request body cut short"), b""
    headers = {
        "x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
        "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE", ""),
    }
    refusal = check_signature(body, headers, secret) or check_body(body, environ.get("CONTENT_TYPE", ""))
    return refusal, body


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


def _plain(start_response: Callable[..., Any], status: int, text: str) -> list[bytes]:
    data = (text + "\n").encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    if status == 503:
        headers.append(("Retry-After", "5"))
    start_response(f"{status} {_REASONS[status]}", headers)
    return [data]


class _DeadlineChannel(HTTPChannel):
    """A connection that must deliver each whole request within the server's deadline.

    `waiting_since` is when it opened, or when its last answer was handed over; bytes trickling in do not
    move it, so a client cannot hold the connection by sending a header a byte at a time.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since = self.creation_time

    def service(self) -> None:
        super().service()
        self.waiting_since = time.time()


class _DeadlineServer(TcpWSGIServer):  # type: ignore[misc]
    """waitress's server, with `channel_timeout` read as a deadline for each request rather than for silence."""

    channel_class = _DeadlineChannel

    def maintenance(self, now: float) -> None:
        """Close the connections that are not being answered and have had their time to send a request."""
        cutoff = now - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            if not channel.requests and channel.waiting_since < cutoff:
                channel.will_close = True


def connection_limit(wanted: int, spare: int = 64) -> int:
    """`wanted`, or what the open-files limit allows once it is raised as far as it may be (`spare` kept)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + spare
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(1, min(wanted, soft - spare))


class HttpServer:
    """A waitress server for a WSGI app: bounded threads and connections, each given a few seconds per request.

    Idle and slow connections cost a socket each and no thread; they are closed once they have had
    `request_seconds` to send a request, so opening many cannot keep signed Slack requests out for long.
    """

    def __init__(self, application: WSGIApp, host: str, port: int, limits: HttpLimits = HttpLimits()) -> None:
        adjustments = Adjustments(
            host=host,
            port=port,
            threads=limits.threads,
            connection_limit=connection_limit(limits.connections),
            channel_timeout=limits.request_seconds,
            cleanup_interval=max(min(limits.request_seconds / 4, 1.0), 0.1),
            asyncore_loop_timeout=max(min(limits.request_seconds / 4, 1.0), 0.1),  # so maintenance runs on time
            asyncore_use_poll=True,  # select() cannot watch sockets numbered past 1,024
            max_request_body_size=limits.max_body + 1,  # waitress refuses sizes >= its limit
            max_request_header_size=limits.max_header,
            expose_tracebacks=False,
            ident="quotebot",
        )
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adjustments.threads)
        self._server = _DeadlineServer(
            application, {}, True, None, dispatcher=dispatcher, adj=adjustments, sockinfo=adjustments.listen[0]
        )
        self.port = int(self._server.effective_port)
        self.connection_limit = adjustments.connection_limit
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        try:
            self._server.run()
        finally:
            self._stopped.set()

    def shutdown(self, timeout: float = 5) -> None:
        """Stop accepting, close every connection, and wait for `serve_forever` to return."""
        self._server.task_dispatcher.shutdown(timeout=timeout)
        self._server.trigger.pull_trigger(lambda: _close_all(self._server))
        self._stopped.wait(timeout)

    def close(self, timeout: float = 5) -> None:
        """After `serve_forever` has returned: finish requests in progress, then close every connection."""
        self._server.task_dispatcher.shutdown(timeout=timeout)
        _close_all(self._server)


def _close_all(server: Any) -> None:
    from waitress import wasyncore

    wasyncore.close_all(server._map)  # the loop ends when it has nothing left to watch


def make_http_server(
    app: App, signing_secret: str, link: SlackLink, host: str, port: int, limits: HttpLimits = HttpLimits()
) -> HttpServer:
    return HttpServer(wsgi_app(app, signing_secret, link, limits), host, port, limits)


def serve_http(app: App, settings: Settings, link: SlackLink, ready: Callable[[str], None] | None = None) -> None:
    """Serve until the process is stopped."""
    limits = HttpLimits(request_seconds=settings.request_seconds)
    server = make_http_server(app, settings.slack_signing_secret or "", link, settings.host, settings.port, limits)
    address = f"http://{settings.host}:{server.port}{EVENTS_PATH}"
    logger.info("serving Slack requests at %s", address)
    if ready:
        ready(address)
    try:
        server.serve_forever()
    finally:  # stopped by a signal: no new connections, and requests in progress get a few seconds
        server.close()
    raise_if_signalled()  # waitress ends its loop quietly on the signal's SystemExit


def serve_socket_mode(app: App, app_token: str, delays: tuple[float, ...] = SlackLink.DELAYS) -> None:
    """Serve over Slack's Socket Mode until the process is stopped: connect (retrying with backoff while Slack
    cannot be reached), then let the client keep the connection, reconnecting when Slack asks or it drops."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    try:
        for delay in backoff(delays):
            try:
                handler.connect()
                break
            except Exception as error:  # Slack unreachable, or the app token refused
                problem = slack_problem(error, "app token", "SLACK_APP_TOKEN")
                logger.warning("not connected to Slack: %s; trying again in %g s", problem, delay)
                time.sleep(delay)
        logger.info("connected to Slack in Socket Mode")
        threading.Event().wait()  # until a signal ends the process
    finally:
        handler.close()


REFRESH_DUTY = 0.05  # at most this share of the time is spent looking for changed articles


class Stop(Protocol):
    """What the refresher waits on between looks: a `threading.Event`, or a test's stand-in."""

    def wait(self, timeout: float | None = None) -> bool: ...


def start_refresher(
    refresh: Callable[[], object | None],
    every_seconds: float,
    stop: Stop | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> threading.Thread:
    """Index new and changed articles in the background, so a running bot sees them.

    `refresh` returns None when nothing changed. Looking costs a file-system scan (about 0.4 s for
    50,000 files); on a folder that large the wait after a look that found nothing grows so that the
    scans take at most `REFRESH_DUTY` of the time. The loop ends when `stop.wait` returns True.
    """
    waiter: Stop = stop or threading.Event()

    def loop() -> None:
        wait = every_seconds
        while not waiter.wait(wait):
            started = clock()
            try:
                changed = refresh() is not None
            except Exception:
                logger.exception("background re-index failed; the previous index keeps serving")
                changed = False
            looked = clock() - started
            wait = every_seconds if changed else max(every_seconds, looked / REFRESH_DUTY)

    thread = threading.Thread(target=loop, name="quotebot-refresh", daemon=True)
    thread.start()
    return thread
