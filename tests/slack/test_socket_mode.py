"""`quotebot serve` in Socket Mode, as a real process, against local stand-ins of Slack's Web API and of its
Socket Mode WebSocket: answers, acks every envelope, reconnects, and stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.slack.test_serve import environment
from tests.slackkit import BOT_TOKEN, SocketStandIn, StandIn, action_payload, command_payload, event_body, mention

APP_TOKEN = "xapp-1-A1-0000-test"


@dataclass
class SocketBot:
    process: subprocess.Popen[bytes]
    socket: SocketStandIn
    web: StandIn
    log: Path

    def acks_for(self, envelope_id: str) -> list[dict]:
        return [ack for ack in self.socket.acks if ack.get("envelope_id") == envelope_id]

    def wait_for_ack(self, envelope_id: str, count: int = 1, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.acks_for(envelope_id)) < count and time.monotonic() < deadline:
            self.socket.wait_for_acks(len(self.socket.acks) + 1, timeout=max(0.0, deadline - time.monotonic()))
        return self.acks_for(envelope_id)


@pytest.fixture
def socket_bot(seeds_dir: Path, standin: StandIn, tmp_path: Path) -> Iterator[SocketBot]:
    link = SocketStandIn().start()
    standin.socket_url = link.url
    log = tmp_path / "serve.log"
    env = environment(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=standin.api_url)
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "--data", str(seeds_dir), "serve"], env=env, stdout=out, stderr=out)
    try:
        assert link.wait_for_connections(1, timeout=60), log.read_text()
        yield SocketBot(process, link, standin, log)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)
        link.stop()


def answer_id_of(post) -> str:  # type: ignore[no-untyped-def]
    blocks = post.body["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return next(e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "rate_up")


def test_answers_a_slash_command_a_mention_and_a_button_click(socket_bot: SocketBot) -> None:
    web = socket_bot.web
    started = time.monotonic()
    command = socket_bot.socket.send("slash_commands", command_payload("what did Russia give North Korea", f"{web.url}/response/1"))
    assert len(socket_bot.wait_for_ack(command)) == 1 and time.monotonic() - started < 3
    [answer] = web.wait_for(1)
    assert answer.method == "response_url" and answer.body["response_type"] == "ephemeral"
    assert "Associated Press" in answer.body["text"]

    event = socket_bot.socket.send("events_api", json.loads(event_body(mention("Oreshnik", "7.1"), "EvS1")))
    assert len(socket_bot.wait_for_ack(event)) == 1
    reply = web.wait_for(2)[1]
    assert reply.method == "chat.postMessage" and reply.body["thread_ts"] == "7.1" and "Oreshnik" in reply.body["text"]

    click = socket_bot.socket.send("interactive", action_payload(answer_id_of(answer), f"{web.url}/response/2", "rate_up"))
    assert len(socket_bot.wait_for_ack(click)) == 1
    confirmation = web.wait_for(3)[2]
    assert confirmation.body["text"] == "Thanks: recorded 👍 for this answer." and confirmation.body["response_type"] == "ephemeral"


def test_a_retried_envelope_is_acked_each_time_and_answered_once(socket_bot: SocketBot) -> None:
    payload = json.loads(event_body(mention("who is Shin Won-sik", "8.1"), "EvRetry"))
    first = socket_bot.socket.send("events_api", payload)
    assert len(socket_bot.wait_for_ack(first)) == 1
    socket_bot.web.wait_for(1)
    again = socket_bot.socket.send("events_api", payload, envelope_id=first, retry_attempt=1)
    assert len(socket_bot.wait_for_ack(again, count=2)) == 2  # one ack per delivery: Slack stops retrying
    time.sleep(1)  # room for a second reply that must not come
    assert [p.method for p in socket_bot.web.posts] == ["chat.postMessage"]


@pytest.mark.parametrize("how", ["asked", "dropped"])
def test_reconnects_when_slack_asks_or_the_connection_drops(socket_bot: SocketBot, how: str) -> None:
    if how == "asked":
        socket_bot.socket.ask_to_reconnect()
    else:
        socket_bot.socket.drop()
    assert socket_bot.socket.wait_for_connections(2, timeout=60), socket_bot.log.read_text()
    assert socket_bot.web.calls.count("apps.connections.open") >= 2  # a fresh URL for each connection
    event = socket_bot.socket.send("events_api", json.loads(event_body(mention("Oreshnik", "9.1"), f"EvRe-{how}")))
    assert len(socket_bot.wait_for_ack(event)) == 1
    assert "Oreshnik" in socket_bot.web.wait_for(1)[0].body["text"]


def test_sigterm_stops_it_cleanly(socket_bot: SocketBot) -> None:
    socket_bot.process.send_signal(signal.SIGTERM)
    assert socket_bot.process.wait(timeout=15) == 143
    log = socket_bot.log.read_text()
    assert "Stopped (SIGTERM). The index keeps its last commit: 5 articles." in log
    assert "Traceback" not in log and APP_TOKEN not in log and BOT_TOKEN not in log


def test_waits_for_slack_when_the_app_token_is_refused(seeds_dir: Path, standin: StandIn, tmp_path: Path) -> None:
    """apps.connections.open fails (no Socket Mode URL yet): the bot keeps trying, and connects once it can."""
    log = tmp_path / "serve.log"
    env = environment(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=standin.api_url)
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "--data", str(seeds_dir), "serve"], env=env, stdout=out, stderr=out)
    link = SocketStandIn().start()
    try:
        deadline = time.monotonic() + 60
        while "not connected to Slack" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        assert "Slack refused the app token (invalid_auth)" in log.read_text()
        standin.socket_url = link.url
        assert link.wait_for_connections(1, timeout=60), log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=15)
        link.stop()
