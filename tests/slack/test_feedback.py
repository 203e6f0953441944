"""👍 and 👎 on answers in Slack, over HTTP on loopback: stored once per user and answer, confirmed to the voter
alone, and turned into a gold set that `quotebot eval` measures."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import make_answerer
from index.corpus import Corpus
from index.evaluate import evaluate, load_gold
from index.feedback import FeedbackLog
from index.models import Found
from tests.slack.conftest import Bot, serve, slack_settings
from tests.slackkit import StandIn, action_body, command_body, dm, event_body, mention, send, sign

FORM = "application/x-www-form-urlencoded"


def slash(bot: Bot, text: str, n: int = 1) -> None:
    body = command_body(text, f"{bot.standin.url}/response/{n}")
    assert send(bot.url, body, FORM, sign(body))[0] == 200


def click(bot: Bot, value: str, action_id: str, user: str = "U1", n: int = 9) -> None:
    body = action_body(value, f"{bot.standin.url}/response/click{n}", action_id, user)
    assert send(bot.url, body, FORM, sign(body))[0] == 200


def blocks_of(post) -> list[dict]:  # type: ignore[no-untyped-def]
    blocks = post.body.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def rating_buttons(post) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """action_id -> value of the buttons under an answer."""
    actions = [b for b in blocks_of(post) if b["type"] == "actions"]
    return {e["action_id"]: e.get("value", "") for b in actions for e in b["elements"]}


def test_every_kind_of_answer_carries_rating_buttons(bot: Bot) -> None:
    slash(bot, "what did Russia give North Korea")
    send(bot.url, body := event_body(mention("Oreshnik", "1.1"), "EvA"), "application/json", sign(body))
    send(bot.url, body := event_body(dm("who is Shin Won-sik", "1.2"), "EvB"), "application/json", sign(body))
    share = action_body("what did Russia give North Korea", f"{bot.standin.url}/response/share")
    send(bot.url, share, FORM, sign(share))
    posts = bot.standin.wait_for(4)
    assert len(posts) == 4
    ids = set()
    for post in posts:
        buttons = rating_buttons(post)
        assert re.fullmatch(r"[0-9a-f]{16}", buttons["rate_up"]) and buttons["rate_down"] == buttons["rate_up"], post.body
        ids.add(buttons["rate_up"])
    assert len(ids) == 4  # each answer is rated on its own


def test_no_buttons_on_a_reply_without_quotes(bot: Bot) -> None:
    slash(bot, "What is the population of Brazil?")
    [post] = bot.standin.wait_for(1)
    assert "rate_up" not in rating_buttons(post)


def test_thumbs_up_is_stored_and_confirmed_to_the_voter_alone(bot: Bot, feedback: FeedbackLog) -> None:
    slash(bot, "what did Russia give North Korea")
    [answer] = bot.standin.wait_for(1)
    answer_id = rating_buttons(answer)["rate_up"]
    click(bot, answer_id, "rate_up", user="U7")
    posts = bot.standin.wait_for(2)
    confirmation = posts[1]
    assert confirmation.method == "response_url"
    assert confirmation.body["response_type"] == "ephemeral" and confirmation.body["replace_original"] is False
    assert confirmation.body["text"] == "Thanks: recorded 👍 for this answer."
    assert not [p for p in posts if p.method == "chat.postMessage"]  # never a new message in the channel
    [rating] = feedback.ratings()
    assert (rating.answer_id, rating.user_id, rating.channel_id, rating.vote) == (answer_id, "U7", "C1", "up")
    assert rating.question == "what did Russia give North Korea"
    shown = " ".join(answer.body["text"].split())  # the fallback text, as wrapped for a terminal
    assert len(rating.quotes) == 3 and all(" ".join(q.text.split()) in shown for q in rating.quotes)


def test_thumbs_down_asks_for_the_closest_quote_and_a_revote_replaces(bot: Bot, feedback: FeedbackLog) -> None:
    send(bot.url, body := event_body(mention("what did Russia give North Korea", "2.1"), "EvC"), "application/json", sign(body))
    [answer] = bot.standin.wait_for(1)
    answer_id = rating_buttons(answer)["rate_down"]
    click(bot, answer_id, "rate_down", n=1)
    prompt = bot.standin.wait_for(2)[1]
    assert prompt.body["response_type"] == "ephemeral" and "Which quote came closest" in prompt.body["text"]
    [menu] = [e for b in blocks_of(prompt) if b["type"] == "actions" for e in b["elements"]]
    assert menu["type"] == "static_select" and menu["action_id"] == "rate_closest"
    values = [option["value"] for option in menu["options"]]
    assert values == [f"{answer_id}:1", f"{answer_id}:2", f"{answer_id}:3", f"{answer_id}:0"]
    assert menu["options"][-1]["text"]["text"] == "None of these"
    click(bot, f"{answer_id}:2", "rate_closest", n=2)
    done = bot.standin.wait_for(3)[2]
    assert done.body["text"] == "Thanks: recorded 👎, and that quote 2 came closest."
    assert done.body["replace_original"] is True  # the menu becomes the confirmation
    [rating] = feedback.ratings()
    assert (rating.vote, rating.chosen, rating.channel_id) == ("down", 2, "C1")
    click(bot, answer_id, "rate_up", n=3)  # the same user changes their mind
    bot.standin.wait_for(4)
    [rating] = feedback.ratings()
    assert (rating.vote, rating.chosen) == ("up", 2)


@pytest.mark.parametrize(
    ("value", "action_id", "says"),
    [
        ("not-an-answer-id", "rate_up", "it did not come from an answer of mine"),
        ("0123456789abcdef", "rate_down", "that answer is too old to rate"),
        ("0123456789abcdef:x", "rate_closest", "it did not come from an answer of mine"),
    ],
)
def test_an_odd_rating_gets_a_polite_reply_and_nothing_is_stored(
    bot: Bot, feedback: FeedbackLog, value: str, action_id: str, says: str
) -> None:
    click(bot, value, action_id)
    [post] = bot.standin.wait_for(1)
    assert post.body["response_type"] == "ephemeral"
    assert post.body["text"] == f"Sorry, your rating was not recorded: {says}."
    assert feedback.ratings() == []


def test_a_choice_of_a_quote_the_answer_did_not_have_is_refused(bot: Bot, feedback: FeedbackLog) -> None:
    slash(bot, "what did Russia give North Korea")
    answer_id = rating_buttons(bot.standin.wait_for(1)[0])["rate_down"]
    click(bot, f"{answer_id}:9", "rate_closest")
    assert bot.standin.wait_for(2)[1].body["text"] == "Sorry, your rating was not recorded: there is no such quote in that answer."
    assert feedback.ratings() == []


def test_an_unsigned_rating_is_refused(bot: Bot, feedback: FeedbackLog) -> None:
    body = action_body("0123456789abcdef", f"{bot.standin.url}/response/x", "rate_up")
    assert send(bot.url, body, FORM, {})[0] == 401
    assert send(bot.url, body, FORM, sign(body, secret="another-secret-of-32-characters!"))[0] == 401
    assert feedback.ratings() == [] and bot.standin.posts == []


def test_the_log_holds_the_answer_id_and_the_vote_and_nothing_else(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    slash(bot, "what did Russia give North Korea")
    answer_id = rating_buttons(bot.standin.wait_for(1)[0])["rate_down"]
    click(bot, answer_id, "rate_down", user="USECRET7")
    bot.standin.wait_for(2)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert f"rating answer={answer_id} vote=down" in ours
    for text in ours:
        assert "USECRET7" not in text and "Russia" not in text and "missile" not in text


def test_ratings_off_means_no_buttons(corpus: Corpus, standin: StandIn, seeds_dir: Path) -> None:
    settings = slack_settings(standin, seeds_dir)
    for bot in serve(settings, make_answerer(corpus, settings), standin, feedback=None):
        slash(bot, "what did Russia give North Korea")
        [post] = standin.wait_for(1)
        assert set(rating_buttons(post)) == {"share_answer"}
        click(bot, "0123456789abcdef", "rate_up")
        assert standin.wait_for(2)[1].body["text"] == "Sorry, your rating was not recorded: ratings are turned off here."


def test_the_whole_loop_slash_command_thumbs_down_export_and_eval(bot: Bot, corpus: Corpus, seeds_dir: Path, tmp_path: Path) -> None:
    """A desk's own question becomes a gold question whose answer is the quote the user chose, and measuring it
    tells a working ranking from a broken one."""
    slash(bot, "what did Russia give North Korea")
    [answer] = bot.standin.wait_for(1)
    answer_id = rating_buttons(answer)["rate_down"]
    click(bot, answer_id, "rate_down", n=1)
    bot.standin.wait_for(2)
    click(bot, f"{answer_id}:2", "rate_closest", n=2)
    bot.standin.wait_for(3)
    shown = corpus.find("what did Russia give North Korea", 3).hits

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "SLACK_"))}
    run = [sys.executable, "-m", "bot", "--data", str(seeds_dir), "--db", str(corpus.config.db_path)]
    gold_file = tmp_path / "desk.jsonl"
    exported = subprocess.run([*run, "feedback", "export", str(gold_file)], capture_output=True, text=True, env=environ, timeout=120)
    assert exported.returncode == 0, exported.stderr
    [question] = load_gold(gold_file)
    assert question.question == "what did Russia give North Korea"
    assert [(a.source, a.text) for a in question.answers] == [(shown[1].passage.article_id, shown[1].passage.text)]

    measured = subprocess.run([*run, "eval", "--json", "-k", "3", str(gold_file)], capture_output=True, text=True, env=environ, timeout=120)
    assert measured.returncode == 0, measured.stderr
    as_ranked = json.loads(measured.stdout)["overall"]
    assert (as_ranked["p_at_1"], as_ranked["mrr"]) == (0.0, 0.5)  # the chosen quote came second

    def broken(text: str, k: int) -> Found:  # broken on purpose: the sentences that ranked after the first three
        found = corpus.find(text, k + 3)
        return Found(found.hits[3:], found.confident)

    def promoted(text: str, k: int) -> Found:  # the chosen quote moved to the top, as a better ranking would
        hits = corpus.find(text, k).hits
        return Found((hits[1], hits[0], *hits[2:]), True)

    assert evaluate([question], broken, k=3).overall.mrr == 0.0
    assert evaluate([question], promoted, k=3).overall.p_at_1 == 1.0
