"""`quotebot serve` on loopback under hostile traffic: every probe gets a fast 4xx, the server stays up and
small, its log holds no traceback and nothing a request carried, and it still answers a signed question.

Bounded: 127.0.0.1 only, a fixed number of requests and connections, each with a timeout.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.slack.test_serve import environment, free_port
from tests.slackkit import BOT_TOKEN, SIGNING_SECRET, StandIn, command_body, event_body, mention, send, sign

MARKER = "zanzibarquokka"  # in every question and body sent: it must never reach the log
REQUEST_SECONDS = 2  # each connection's time to send a whole request


@dataclass
class Served:
    base: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def threads(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise AssertionError("no Threads")


def start_serve(
    data: Path, log: Path, api_url: str, request_seconds: int = REQUEST_SECONDS
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = environment(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api_url, PORT=str(port),
        QUOTEBOT_HOST="127.0.0.1", QUOTEBOT_REQUEST_SECONDS=str(request_seconds),
    )
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "--data", str(data), "serve"], env=env, stdout=out, stderr=out)
    return process, f"http://127.0.0.1:{port}"


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    pytest.fail("the server did not become healthy")


@contextmanager
def serving(data: Path, standin: StandIn, tmp_path: Path, request_seconds: int = REQUEST_SECONDS) -> Iterator[Served]:
    log = tmp_path / "serve.log"
    process, base = start_serve(data, log, standin.api_url, request_seconds)
    try:
        wait_healthy(base, process, log)
        yield Served(base, base + "/slack/events", process, log)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def served(seeds_dir: Path, standin: StandIn, tmp_path: Path) -> Iterator[Served]:
    with serving(seeds_dir, standin, tmp_path) as server:
        yield server


def raw(base: str, data: bytes, read_timeout: float = 5) -> tuple[bytes, float]:
    """Send bytes on a fresh connection; (what came back before the server closed or answered, seconds)."""
    host, port = base.removeprefix("http://").split(":")
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=read_timeout) as conn:
        conn.sendall(data)
        reply = conn.recv(65536)
    return reply, time.perf_counter() - started


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def signed(body: str, content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type, **sign(body)}


def malformed_requests() -> list[tuple[str, bytes, dict[str, str], int]]:
    """(what, body, headers, expected status)."""
    form = "application/x-www-form-urlencoded"
    question = json.dumps({"type": "event_callback", "event": {"type": "app_mention", "text": MARKER}})
    no_url = command_body(f"what about {MARKER}", "").replace("response_url=&", "")
    array = json.dumps([MARKER])
    return [
        ("unsigned JSON", question.encode(), {"Content-Type": "application/json"}, 401),
        ("unsigned malformed JSON", b"{" + MARKER.encode(), {"Content-Type": "application/json"}, 401),
        ("bad signature", question.encode(), signed(question + " "), 401),
        ("non-numeric timestamp", question.encode(), {**signed(question), "X-Slack-Request-Timestamp": "soon"}, 401),
        ("stale timestamp", question.encode(), {"Content-Type": "application/json", **sign(question, int(time.time()) - 3600)}, 401),
        ("signed invalid JSON", b"{" + MARKER.encode(), signed("{" + MARKER), 400),
        ("signed JSON array", array.encode(), signed(array), 400),
        ("signed command without response_url", no_url.encode(), signed(no_url, form), 400),
        ("signed form that is not Slack's", f"q={MARKER}".encode(), signed(f"q={MARKER}", form), 400),
    ]


def test_malformed_requests_get_a_fast_4xx_naming_the_problem(served: Served) -> None:
    timings = []
    for what, body, headers, expected in malformed_requests() * 3:
        status, seconds = post(served.url, body, headers)
        assert status == expected, what
        timings.append(seconds)
    assert statistics.median(timings) < 0.05, timings


def test_hostile_traffic_leaves_the_server_up_small_and_quiet(served: Served, standin: StandIn) -> None:
    ask_signed(served, standin, "what did Russia give North Korea", 1)  # warm: the first answer loads everything
    rss_before = served.rss_mb()

    # 200 concurrent unsigned requests
    body = event_body(mention(f"what about {MARKER}", "1.1"), "EvX").encode()
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: post(served.url, body, {"Content-Type": "application/json"})[0], range(200)))
    assert statuses == [401] * 200

    # Oversize bodies: refused from the headers, before the body is sent (let alone read)
    for _ in range(5):
        head = (
            "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
        ).encode()
        reply, seconds = raw(served.base, head + b"{" + MARKER.encode() * 100)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:80]
        assert seconds < 1
    # a 5 MB body sent whole: 413, or the connection is reset once the server has said so and stopped reading
    big = b'{"text": "' + MARKER.encode() * (5 * 1024 * 1024 // len(MARKER)) + b'"}'
    for _ in range(3):
        try:
            assert post(served.url, big, {"Content-Type": "application/json"})[0] == 413
        except urllib.error.URLError as error:
            assert isinstance(error.reason, ConnectionError), error

    # Idle and slow connections are closed once they have had their time to send a request, and hold no thread
    port = int(served.base.rsplit(":", 1)[1])
    started = time.monotonic()
    idle = [socket.create_connection(("127.0.0.1", port), timeout=REQUEST_SECONDS * 6) for _ in range(60)]
    slow = idle[:10]
    for conn in slow:
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Le")  # and nothing more
    time.sleep(0.5)
    assert served.threads() < 40  # 8 request threads, Bolt's pool and a few of its own: not one per connection
    closed_in = [seconds_until_closed(conn, started) for conn in idle]
    assert max(closed_in) < REQUEST_SECONDS + 2, closed_in

    # A header sent a byte at a time is cut off at the deadline too: trickling does not count as sending it
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=1) as trickle:
        for byte in b"POST /slack/events HTTP/1.1\r\nHost: x\r\n" * 4:
            try:
                trickle.sendall(bytes([byte]))
                if trickle.recv(1024) == b"":
                    break
            except TimeoutError:
                continue  # nothing came back within the second: still open
            except OSError:
                break
        closed_after = time.monotonic() - started
    assert REQUEST_SECONDS - 0.5 < closed_after < REQUEST_SECONDS + 2, closed_after

    # Clients that hang up halfway
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", int(served.base.rsplit(":", 1)[1])), timeout=5) as conn:
            conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{\"a\":")

    # Malformed requests of every kind
    for what, body_bytes, headers, expected in malformed_requests():
        assert post(served.url, body_bytes, headers)[0] == expected, what

    # Still answers, and a reply nobody can receive is logged as undelivered
    ask_signed(served, standin, f"what did Russia give North Korea {MARKER}", 2)
    gone = command_body(f"what did Russia give North Korea {MARKER}", "http://127.0.0.1:9/response/closed")
    assert send(served.url, gone, "application/x-www-form-urlencoded", sign(gone))[0] == 200
    deadline = time.monotonic() + 15
    while "outcome=undelivered" not in served.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)

    time.sleep(0.5)
    assert served.rss_mb() - rss_before < 50, (rss_before, served.rss_mb())
    assert served.process.poll() is None
    log = served.log.read_text()
    assert "outcome=undelivered" in log
    assert "Traceback" not in log and "BrokenPipe" not in log
    for secret in (MARKER, BOT_TOKEN, SIGNING_SECRET, "/response/", "127.0.0.1:9"):
        assert secret not in log, secret
    assert log.count("\n") < 400  # one short line per refused request at most


def seconds_until_closed(conn: socket.socket, since: float) -> float:
    """Wait for the server to close `conn` (or answer it with a 4xx), then close it; seconds since `since`."""
    try:
        data = conn.recv(1024)
    except OSError:
        data = b""
    conn.close()
    assert not data or data.startswith(b"HTTP/1.1 4"), data[:60]
    return time.monotonic() - since


def test_500_idle_connections_do_not_keep_out_a_signed_command_or_the_health_check(
    seeds_dir: Path, standin: StandIn, tmp_path: Path
) -> None:
    """Even with a deadline far longer than the test, so that only capacity, not closing them, can explain it."""
    with serving(seeds_dir, standin, tmp_path, request_seconds=60) as served:
        ask_signed(served, standin, "what did Russia give North Korea", 1)  # warm: the first answer loads everything
        rss_idle = served.rss_mb()
        port = int(served.base.rsplit(":", 1)[1])
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(500)]
        try:
            deadline = time.monotonic() + 10  # until the server holds them all, not the listen backlog
            while open_sockets(served.process.pid) < 500 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert open_sockets(served.process.pid) >= 500
            started = time.perf_counter()
            with urllib.request.urlopen(served.base + "/healthz", timeout=5) as response:
                assert response.status == 200
            assert time.perf_counter() - started < 1
            before = len(standin.posts)
            body = command_body("what did Russia give North Korea", f"{standin.url}/response/held")
            status, _, ack_seconds = send(served.url, body, "application/x-www-form-urlencoded", sign(body))
            assert status == 200 and ack_seconds < 1, (status, ack_seconds)
            posts = standin.wait_for(before + 1)
            assert len(posts) > before and "Associated Press" in str(posts[-1].body)
            assert served.rss_mb() - rss_idle < 50, (rss_idle, served.rss_mb())
        finally:
            for conn in held:
                conn.close()


def open_sockets(pid: int) -> int:
    return sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir() if os.readlink(fd).startswith("socket:"))


def ask_signed(served: Served, standin: StandIn, question: str, n: int) -> None:
    before = len(standin.posts)
    body = command_body(question, f"{standin.url}/response/{n}")
    status, _, _ = send(served.url, body, "application/x-www-form-urlencoded", sign(body))
    assert status == 200
    posts = standin.wait_for(before + 1)
    assert len(posts) > before and "Associated Press" in str(posts[-1].body)


def test_serve_waits_out_a_slack_outage_at_start(seeds_dir: Path, tmp_path: Path) -> None:
    """auth.test fails while Slack is unreachable: the server stays up, /healthz says not ready, events get
    503 (Slack retries them); once Slack answers, it is ready, with no restart."""
    slack_port = free_port()
    log = tmp_path / "serve.log"
    process, base = start_serve(seeds_dir, log, f"http://127.0.0.1:{slack_port}/api/")
    try:
        deadline = time.monotonic() + 60
        status, reason = None, ""
        while time.monotonic() < deadline and "unreachable" not in reason:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
            except urllib.error.HTTPError as error:
                status, reason = error.code, error.read().decode()
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        assert status == 503 and "not ready" in reason and "unreachable" in reason
        body = event_body(mention("what did Russia give North Korea", "5.5"), "EvOutage")
        assert send(base + "/slack/events", body, "application/json", sign(body))[0] == 503
        time.sleep(2)
        assert process.poll() is None  # no crash loop
        standin = StandIn(port=slack_port).start()
        try:
            wait_healthy(base, process, log, timeout=30)
            body = event_body(mention("what did Russia give North Korea", "5.6"), "EvBack")
            assert send(base + "/slack/events", body, "application/json", sign(body))[0] == 200
            assert "Associated Press" in str(standin.wait_for(1)[0].body)
        finally:
            standin.stop()
    finally:
        process.terminate()
        process.wait(timeout=15)
    text = log.read_text()
    assert "Traceback" not in text and "not ready: Slack API unreachable" in text


def test_sigterm_stops_serve_with_143_and_one_line(served: Served) -> None:
    served.process.terminate()
    assert served.process.wait(timeout=15) == 143
    assert "Stopped (SIGTERM). The index keeps its last commit: 5 articles." in served.log.read_text()


def test_form_fields_are_checked_only_after_the_signature(served: Served) -> None:
    """A forged command with a missing field is refused for its signature, saying nothing about its fields."""
    body = urllib.parse.urlencode({"command": "/ask", "text": MARKER})
    request = urllib.request.Request(served.url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401 and "response_url" not in refused.value.read().decode()
    assert os.path.exists(served.log)
