"""The real Bolt app over HTTP on loopback, talking to a local stand-in of the Slack Web API."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.core import Answerer
from index.corpus import Corpus, CorpusConfig
from tests.slack.conftest import Bot, serve, slack_settings
from tests.slackkit import (
    BOT_TOKEN,
    SIGNING_SECRET,
    StandIn,
    action_body,
    command_body,
    dm,
    event_body,
    mention,
    send,
    sign,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def slash(bot: Bot, text: str, **sign_args) -> tuple[int, str, float]:
    body = command_body(text, f"{bot.standin.url}/response/1")
    return send(bot.url, body, FORM, sign(body, **sign_args))


def event(bot: Bot, payload: dict, event_id: str, headers: dict[str, str] | None = None) -> tuple[int, str, float]:
    body = event_body(payload, event_id)
    return send(bot.url, body, JSON, {**sign(body), **(headers or {})})


def all_text(post) -> str:
    return json.dumps(post.body.get("blocks")) + post.body.get("text", "")


def blocks_of(post) -> list[dict]:
    blocks = post.body.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def settle(seconds: float = 0.5) -> None:
    time.sleep(seconds)  # give a reply that should not come the time to arrive


def test_slash_command_is_acked_at_once_and_answered_privately(bot: Bot) -> None:
    status, body, seconds = slash(bot, "what did Russia give North Korea")
    assert status == 200 and seconds < 3
    [post] = bot.standin.wait_for(1)
    assert post.method == "response_url"
    assert post.body["response_type"] == "ephemeral"
    blocks = blocks_of(post)
    assert blocks[0]["elements"][0]["text"] == "*Question:* what did Russia give North Korea"
    assert blocks[1]["text"]["text"].startswith("> ")
    assert "Associated Press" in all_text(post)
    share = blocks[-1]["elements"][0]
    assert share["action_id"] == "share_answer" and share["value"] == "what did Russia give North Korea"
    assert post.body["text"].startswith("Question: what did Russia give North Korea")


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
def test_slash_command_without_question_gets_usage(bot: Bot, text: str) -> None:
    assert slash(bot, text)[0] == 200
    [post] = bot.standin.wait_for(1)
    assert "/ask what did Russia give North Korea?" in post.body["text"]


def test_share_button_posts_publicly(bot: Bot) -> None:
    body = action_body("what did Russia give North Korea", f"{bot.standin.url}/response/2")
    assert send(bot.url, body, FORM, sign(body))[0] == 200
    [post] = bot.standin.wait_for(1)
    assert post.body["response_type"] == "in_channel"
    assert "Shared by <@U1>" in all_text(post) and "> " in all_text(post)


def test_mention_is_answered_in_a_new_thread(bot: Bot) -> None:
    status, _, seconds = event(bot, mention("did Russia give North Korea economic assistance", "111.0001"), "Ev1")
    assert status == 200 and seconds < 3
    [post] = bot.standin.wait_for(1)
    assert post.method == "chat.postMessage"
    assert post.body["channel"] == "C1" and post.body["thread_ts"] == "111.0001"
    assert "Also reported by" in all_text(post)  # the answer is a sentence two outlets carry


def test_mention_inside_a_thread_is_answered_in_that_thread(bot: Bot) -> None:
    event(bot, mention("Oreshnik", "222.0002", thread_ts="200.0000"), "Ev2")
    [post] = bot.standin.wait_for(1)
    assert post.body["thread_ts"] == "200.0000"


def test_direct_message_is_answered_in_the_dm(bot: Bot) -> None:
    event(bot, dm("who is Shin Won-sik", "333.0003"), "Ev3")
    [post] = bot.standin.wait_for(1)
    assert post.body["channel"] == "D1" and "thread_ts" not in post.body


@pytest.mark.parametrize(
    "payload",
    [
        dm("hello from a bot", "1.1", bot_id="B2", subtype="bot_message"),
        dm("edited", "1.2", subtype="message_changed"),
        dm("joined", "1.3", subtype="channel_join"),
        {**dm("channel chatter", "1.4"), "channel_type": "channel", "channel": "C1"},
        dm("the bot itself", "1.5", user="UBOT", bot_id="BBOT"),
    ],
)
def test_ignored_messages_get_no_reply(bot: Bot, payload: dict) -> None:
    assert event(bot, payload, f"Ev-ignored-{payload['ts']}")[0] == 200
    settle()
    assert bot.standin.posts == []


def test_no_answer_is_a_visible_reply(bot: Bot) -> None:
    event(bot, mention("What is the population of Brazil?", "444.0004"), "Ev4")
    [post] = bot.standin.wait_for(1)
    assert "I found nothing about that in 5 articles." in post.body["text"]


def test_retries_and_repeated_events_get_one_reply(bot: Bot) -> None:
    payload = mention("Oreshnik", "555.0005")
    event(bot, payload, "Ev5")
    event(bot, payload, "Ev5", {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    event(bot, payload, "Ev5")
    im_copy = {**dm("<@UBOT> Oreshnik", "555.0005"), "channel": "C1"}
    event(bot, im_copy, "Ev5-message")  # the message event of the same message
    settle()
    assert len(bot.standin.posts) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        {},
        "old",
        "wrong-secret",
    ],
)
def test_bad_signatures_are_refused_without_reply(bot: Bot, headers) -> None:
    body = command_body("Oreshnik", f"{bot.standin.url}/response/1")
    if headers == "old":
        headers = sign(body, timestamp=int(time.time()) - 6 * 60)
    elif headers == "wrong-secret":
        headers = sign(body, secret="not-the-secret-at-all")
    assert send(bot.url, body, FORM, headers)[0] == 401
    settle()
    assert bot.standin.posts == []


@pytest.mark.parametrize("question", ["Oreshnik " * 5000, "\x00\x07 Oreshnik \u202e\u200b", "🙂" * 300, "<!channel> &amp; <@U2>"])
def test_odd_questions_get_a_polite_reply_and_the_bot_keeps_serving(bot: Bot, question: str) -> None:
    assert event(bot, mention(question, "666.0006"), "Ev6")[0] == 200
    [post] = bot.standin.wait_for(1)
    assert post.body["thread_ts"] == "666.0006"
    assert "<!channel>" not in all_text(post) and "<@U2>" not in all_text(post)
    with urllib.request.urlopen(bot.base + "/healthz", timeout=5) as health:
        assert health.status == 200


def test_fifty_questions_at_once_are_acked_within_3s_and_all_answered(bot: Bot) -> None:
    def ask(i: int) -> float:
        status, _, seconds = event(bot, mention("what did Russia give North Korea", f"7{i:03}.0"), f"Ev7-{i}")
        assert status == 200
        return seconds

    with ThreadPoolExecutor(max_workers=50) as pool:
        acks = list(pool.map(ask, range(50)))
    assert max(acks) < 3
    posts = bot.standin.wait_for(50, timeout=30)
    assert len(posts) == 50
    assert {p.body["thread_ts"] for p in posts} == {f"7{i:03}.0" for i in range(50)}


def test_health_endpoint(bot: Bot) -> None:
    with urllib.request.urlopen(bot.base + "/healthz", timeout=5) as response:
        assert response.status == 200 and response.read() == b"ok\n"


def test_logs_one_line_per_question_without_text_or_tokens(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    event(bot, mention("what did they call Oreshnik", "888.0008"), "Ev8")
    bot.standin.wait_for(1)
    settle(0.2)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("question ")]
    assert len(lines) == 1
    assert "kind=mention" in lines[0] and "quotes=" in lines[0] and "outcome=ok" in lines[0] and "latency_ms=" in lines[0]
    everything = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "Oreshnik" not in everything
    assert BOT_TOKEN not in "\n".join(r.getMessage() for r in caplog.records)
    assert SIGNING_SECRET not in "\n".join(r.getMessage() for r in caplog.records)


class Exploding(Answerer):
    def __init__(self) -> None:
        super().__init__(lambda q, k, c, s: (), lambda: 0)

    def answer(self, question: str, k: int | None = None, context: int = 0, scope: tuple[str, ...] = ()):  # type: ignore[override]
        raise RuntimeError("index file vanished")


def test_an_exception_gets_an_apology_in_the_thread_and_a_stack_trace(
    standin: StandIn, seeds_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for bot in serve(slack_settings(standin, seeds_dir), Exploding(), standin):
        event(bot, mention("Oreshnik", "999.0009"), "Ev9")
        [post] = standin.wait_for(1)
        assert post.body["thread_ts"] == "999.0009" and "Sorry" in post.body["text"]
    traced = [r for r in caplog.records if r.exc_info and "index file vanished" in str(r.exc_info[1])]
    assert traced


def test_corpus_text_is_escaped(standin: StandIn, tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "x.txt").write_text(
        "The internal memo seen by reporters told <!channel> that <@U123> would review <http://evil.example|the budget> "
        "& the zebra plan at the regional office tomorrow morning.\n",
        encoding="utf-8",
    )
    corpus = Corpus.open(CorpusConfig(folder=folder, db_path=tmp_path / "x.db"))
    corpus.index()
    settings = slack_settings(standin, folder)
    for bot in serve(settings, Answerer(corpus.find, corpus.article_count), standin):
        event(bot, mention("zebra plan memo", "1.0"), "EvX")
        [post] = standin.wait_for(1)
    text = all_text(post)
    # (the segmenter may cut "<!channel>" at its "!", so look at the escaped pieces)
    assert ("&lt;!channel&gt;" in text or "channel&gt;" in text) and "&lt;@U123&gt;" in text and "&lt;http://evil.example|the budget&gt;" in text
    assert "<!" not in text and "channel>" not in text and "<@U123>" not in text and "<http://evil" not in text
    assert "&amp; the zebra" in text


def test_channels_search_their_desk_and_in_prefix_overrides_it(standin: StandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from bot.scopes import ChannelScopes
    from tests.archives import desk_archive

    archive = desk_archive(tmp_path)
    (archive / "scopes.toml").write_text('[channels]\nCSPORT = "sport"\n', encoding="utf-8")
    corpus = Corpus.open(CorpusConfig(folder=archive, db_path=tmp_path / "i.db", semantic=False))
    corpus.index()
    settings = slack_settings(standin, archive)
    scopes = ChannelScopes(archive).load()
    for bot in serve(settings, Answerer(corpus.find, corpus.article_count), standin, scopes.for_channel):
        event(bot, mention("who won the final", "1.1", channel="CSPORT"), "EvS1")
        [sport] = standin.wait_for(1)
        paths = [e["text"] for b in blocks_of(sport) if b["type"] == "context" for e in b["elements"] if e["text"].startswith("`")]
        assert paths and all(p.startswith("`sport/") for p in paths)
        event(bot, mention("in:business who won the final", "1.2", channel="CSPORT"), "EvS2")
        business = standin.wait_for(2)[1]
        assert "`business/" in all_text(business) and "`sport/" not in all_text(business)
        event(bot, mention("in:weather will it rain", "1.3", channel="CSPORT"), "EvS3")
        unknown = standin.wait_for(3)[2]
        assert "There is no folder weather/ in the articles. The folders are: business/, sport/, world/" in unknown.body["text"]
        (archive / "scopes.toml").write_text('[channels]\nCSPORT = ["sport"\n', encoding="utf-8")  # broken by an edit
        event(bot, mention("who won the final", "1.4", channel="CSPORT"), "EvS4")
        kept = standin.wait_for(4)[3]
        assert "`sport/" in all_text(kept) and "`business/" not in all_text(kept)  # the last good mapping still serves
        assert [r for r in caplog.records if "scopes.toml: not valid TOML" in r.getMessage()]
        event(bot, mention("who won the final", "1.5", channel="COTHER"), "EvS5")
        assert "`business/" in all_text(standin.wait_for(5)[4])  # other channels search every folder
    corpus.close()
