"""Ack and reply latency of the Slack app over HTTP on loopback, on the bundled corpus.

    python -m bench.slack_latency [--single 50] [--burst 50]    # from the repository root

Runs the real Bolt app (HTTP, threaded WSGI server) against the local Web API stand-in from
tests/slackkit.py. "ack" is the time until the bot's HTTP response; "reply" the time until the
stand-in receives chat.postMessage, both from the moment the request is sent.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.cli import make_answerer, open_feedback
from bot.config import Settings
from bot.slack.app import build_app
from bot.slack.server import EVENTS_PATH, SlackLink, make_http_server
from index.corpus import Corpus, CorpusConfig
from tests.slackkit import BOT_TOKEN, SIGNING_SECRET, StandIn, event_body, mention, send, sign

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["what did Russia give North Korea", "How many troops did North Korea send?", "what is Oreshnik", "who is Shin Won-sik"]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def ask(url: str, standin: StandIn, i: int, tag: str) -> tuple[float, float]:
    ts = f"{tag}{i}.000"
    body = event_body(mention(QUESTIONS[i % len(QUESTIONS)], ts), f"Ev{tag}{i}")
    started = time.perf_counter()
    _, _, ack = send(url, body, "application/json", sign(body))
    while True:
        done = [p for p in list(standin.posts) if p.body.get("thread_ts") == ts]
        if done:
            return ack * 1000, (done[0].at - started) * 1000
        time.sleep(0.001)


def report(name: str, results: list[tuple[float, float]]) -> None:
    acks = [a for a, _ in results]
    replies = [r for _, r in results]
    print(
        f"| {name} | {len(results)} | {percentile(acks, 50):.1f} | {percentile(acks, 95):.1f} | "
        f"{percentile(replies, 50):.1f} | {percentile(replies, 95):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=50)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        shutil.copytree(ROOT / "data", folder, ignore=shutil.ignore_patterns("quotebot.db*"))
        corpus = Corpus.open(CorpusConfig(folder=folder, db_path=Path(tmp) / "q.db"))
        corpus.index()
        standin = StandIn().start()
        settings = Settings(data_dir=folder, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=standin.api_url)
        app = build_app(settings, make_answerer(corpus, settings), feedback=open_feedback(settings, corpus))  # as `serve`
        link = SlackLink(app.client.auth_test)
        link.check()
        server = make_http_server(app, SIGNING_SECRET, link, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.port}{EVENTS_PATH}"
        ask(url, standin, 0, "warm")
        print("| run | questions | ack p50 ms | ack p95 ms | reply p50 ms | reply p95 ms |")
        print("|---|---|---|---|---|---|")
        report("one at a time", [ask(url, standin, i, "s") for i in range(args.single)])
        with ThreadPoolExecutor(max_workers=args.burst) as pool:
            report(f"{args.burst} at once", list(pool.map(lambda i: ask(url, standin, i, "b"), range(args.burst))))
        server.shutdown()
        standin.stop()


if __name__ == "__main__":
    main()
