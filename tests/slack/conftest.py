from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import make_answerer
from bot.config import Settings
from bot.core import Answerer
from bot.slack.app import ScopeFor, build_app
from bot.slack.server import EVENTS_PATH, SlackLink, make_http_server
from index.corpus import Corpus
from index.feedback import FeedbackLog
from index.store import Store
from tests.slackkit import BOT_TOKEN, SIGNING_SECRET, StandIn


@dataclass
class Bot:
    url: str  # the events URL
    base: str
    standin: StandIn


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


def slack_settings(standin: StandIn, data: Path) -> Settings:
    return Settings(
        data_dir=data, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=standin.api_url
    )


def serve(
    settings: Settings,
    answerer: Answerer,
    standin: StandIn,
    scope_for: ScopeFor = lambda channel: (),
    feedback: FeedbackLog | None = None,
) -> Iterator[Bot]:
    app = build_app(settings, answerer, scope_for, feedback)
    link = SlackLink(app.client.auth_test)
    assert link.check(), link.problem
    server = make_http_server(app, settings.slack_signing_secret or "", link, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}"
    yield Bot(url=base + EVENTS_PATH, base=base, standin=standin)
    server.shutdown()


@pytest.fixture
def feedback(corpus: Corpus) -> Iterator[FeedbackLog]:
    """Ratings kept in the corpus's own index file, as `quotebot serve` keeps them."""
    log = FeedbackLog(Store(corpus.config.db_path))
    yield log
    log.close()


@pytest.fixture
def bot(corpus: Corpus, standin: StandIn, seeds_dir: Path, feedback: FeedbackLog) -> Iterator[Bot]:
    settings = slack_settings(standin, seeds_dir)
    yield from serve(settings, make_answerer(corpus, settings), standin, feedback=feedback)
