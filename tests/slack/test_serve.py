"""`quotebot serve` as a real process: configuration errors, and answers over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.server import start_refresher
from tests.slackkit import BOT_TOKEN, SIGNING_SECRET, StandIn, command_body, event_body, mention, send, sign


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "SLACK_", "PORT"))}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN is malformed"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN is malformed"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "PORT": "http"}, "PORT must be a whole number"),
    ],
)
def test_bad_configuration_fails_at_start_naming_the_variable(seeds_dir: Path, env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--data", str(seeds_dir), "serve"],
        capture_output=True, text=True, env=environment(**env), timeout=60,
    )
    assert result.returncode == 1
    assert message in result.stderr
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in result.stderr


@pytest.fixture
def served(seeds_dir: Path, standin: StandIn) -> Iterator[str]:
    port = free_port()
    env = environment(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=standin.api_url,
        PORT=str(port), QUOTEBOT_HOST="127.0.0.1", QUOTEBOT_REFRESH_SECONDS="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--data", str(seeds_dir), "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.2)
    yield base
    process.terminate()
    output, _ = process.communicate(timeout=10)
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output


def test_serve_answers_slash_command_and_mention(served: str, standin: StandIn, seeds_dir: Path) -> None:
    url = served + "/slack/events"
    body = command_body("what did Russia give North Korea", f"{standin.url}/response/9")
    assert send(url, body, "application/x-www-form-urlencoded", sign(body))[0] == 200
    body = event_body(mention("what did Russia give North Korea", "123.456", thread_ts="100.000"), "EvServe")
    assert send(url, body, "application/json", sign(body))[0] == 200
    posts = standin.wait_for(2)
    by_method = {p.method: p for p in posts}
    assert "Associated Press" in str(by_method["response_url"].body["blocks"])
    assert by_method["chat.postMessage"].body["thread_ts"] == "100.000"
    assert "auth.test" in standin.calls  # the token was checked against SLACK_API_URL at start


def test_running_bot_sees_new_articles(served: str, standin: StandIn, seeds_dir: Path) -> None:
    (seeds_dir / "zoo.txt").write_text("The zoo in Pyongyang welcomed two giraffes from Moscow on Monday.\n", encoding="utf-8")
    url = served + "/slack/events"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        count = len(standin.posts)
        body = event_body(mention("giraffes zoo", f"{time.time():.6f}"), f"Ev{time.time()}")
        send(url, body, "application/json", sign(body))
        posts = standin.wait_for(count + 1)
        if "two giraffes" in str(posts[-1].body):
            return
        time.sleep(0.5)
    pytest.fail("the running bot did not pick up the new article")


class Looks:
    """A refresh whose every look takes `takes` seconds of a clock of its own and finds changes or not."""

    def __init__(self, takes: float, finds_changes: bool) -> None:
        self.now, self.takes, self.finds_changes, self.count = 0.0, takes, finds_changes, 0

    def clock(self) -> float:
        return self.now

    def __call__(self) -> object | None:
        self.now += self.takes
        self.count += 1
        return object() if self.finds_changes else None


class Waits:
    """Stands in for the stop event: records how long the refresher waits each time, and stops it after `rounds`."""

    def __init__(self, rounds: int) -> None:
        self.rounds, self.asked = rounds, []

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout)
        return len(self.asked) > self.rounds


def refresher_waits(look: Looks, rounds: int = 4) -> list[float | None]:
    waits = Waits(rounds)
    start_refresher(look, 0.01, waits, clock=look.clock).join(timeout=10)
    assert look.count == rounds
    return waits.asked


def test_refresher_looks_less_often_when_a_look_that_finds_nothing_is_slow() -> None:
    # A 0.05 s look may take 5 % of the time: after it, the refresher waits 1 s, not 0.01 s.
    assert refresher_waits(Looks(0.05, finds_changes=False)) == [0.01, *[pytest.approx(1.0)] * 4]


def test_refresher_keeps_its_pace_while_articles_keep_changing() -> None:
    assert refresher_waits(Looks(0.05, finds_changes=True)) == [0.01] * 5


def test_refresher_keeps_going_after_a_failed_look(caplog: pytest.LogCaptureFixture) -> None:
    look = Looks(0.0, finds_changes=True)
    failing = iter([RuntimeError("disk gone")])

    def refresh() -> object | None:
        look()
        error = next(failing, None)
        if error:
            raise error
        return object()

    waits = Waits(3)
    start_refresher(refresh, 0.01, waits, clock=look.clock).join(timeout=10)
    assert look.count == 3 and "previous index keeps serving" in caplog.text
