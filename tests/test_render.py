from __future__ import annotations

import json
from dataclasses import replace

from bot.core import Answer
from bot.render import answer_dict, describe_source, render_text, source_line
from bot.slack.blocks import render_slack
from index.models import Source
from tests.fakes import AP, TITLED, hit

BARE = Source("business/001.txt")  # nothing known but the file
FILED = Source("business/049.txt", title="Ad sales boost Time Warner profit")


def test_text_quotes_verbatim_with_source_file_and_other_sources() -> None:
    answer = Answer("q", "ok", (hit("Russia has supplied air defense missiles.", TITLED, also_in=(AP,)),), 5)
    text = render_text(answer)
    assert "1. “Russia has supplied air defense missiles.”" in text
    assert "— “Russia Traded Air-Defense Gear”, https://news.example/2 · 002.txt" in text
    assert "Also reported by: Associated Press, 2024-11-22 · 001.txt" in text


def test_the_file_is_always_shown_once_and_what_is_known_before_it() -> None:
    assert describe_source(AP) == "Associated Press, 2024-11-22"
    assert source_line(AP) == "Associated Press, 2024-11-22 · 001.txt"
    assert source_line(BARE) == "business/001.txt"
    text = render_text(Answer("q", "ok", (hit("Profits rose.", BARE),), 5))
    assert text.splitlines()[1].strip() == "— business/001.txt"


def test_the_file_is_dim_on_a_terminal_and_wrapping_never_splits_it() -> None:
    text = render_text(Answer("q", "ok", (hit("Profits rose.", TITLED),), 5), dim=True)
    assert "· \x1b[2m002.txt\x1b[22m" in text
    long = replace(TITLED, article_id="desk/" + "x" * 60 + ".txt")
    narrow = render_text(Answer("q", "ok", (hit("Profits rose.", long),), 5), width=40)
    assert any(line.strip() == long.article_id for line in narrow.splitlines())


def test_the_same_story_under_another_name_is_filed_as_never_reported_by() -> None:
    original = replace(FILED, article_id="business/001.txt")
    quote = replace(hit("Quarterly profits jumped 76%.", original), filed_as=(FILED, FILED, original), also_in=(AP, AP))
    text = render_text(Answer("q", "ok", (quote,), 5))
    assert "Also filed as: business/049.txt" in text
    assert text.count("Also reported by: Associated Press, 2024-11-22 · 001.txt") == 1
    assert text.count("“Ad sales boost Time Warner profit”") == 1  # the headline is never repeated as an "also"
    lines = text.splitlines()
    assert len(lines) == len(set(lines))  # no line twice
    slack = json.dumps(render_slack(Answer("q", "ok", (quote,), 5))["blocks"])
    assert "Also filed as: `business/049.txt`" in slack and "Also reported by" in slack
    assert slack.count("Ad sales boost Time Warner profit") == 1


def test_slack_shows_the_file_as_its_own_quiet_context_element() -> None:
    blocks = render_slack(Answer("q", "ok", (hit("Profits rose.", TITLED),), 5))["blocks"]
    context = [b for b in blocks if b["type"] == "context"][0]["elements"]
    assert context[0]["text"].startswith("— ") and "Russia Traded Air-Defense Gear" in context[0]["text"]
    assert context[1]["text"] == "`002.txt`"
    bare = [b for b in render_slack(Answer("q", "ok", (hit("Profits rose.", BARE),), 5))["blocks"] if b["type"] == "context"]
    assert [e["text"] for e in bare[0]["elements"]] == ["— `business/001.txt`"]  # shown once


def test_no_answer_is_said_plainly() -> None:
    assert render_text(Answer("population of Brazil", "no_answer", (), 5)) == "I found nothing about that in 5 articles."
    assert render_text(Answer("who won", "no_answer", (), 5, scope=("sport",))) == "I found nothing about that in sport/."
    assert "Ask a question" in render_text(Answer("", "empty_question", (), 5))


def test_an_unknown_scope_names_the_folders_there_are() -> None:
    answer = Answer("who won", "unknown_scope", (), 5, scope=("spor",), known_scopes=("business", "sport"))
    assert render_text(answer) == "There is no folder spor/ in the articles. The folders are: business/, sport/"
    data = answer_dict(answer)
    assert data["status"] == "unknown_scope" and data["known_scopes"] == ["business", "sport"]


def test_json_shape() -> None:
    answer = Answer("q", "ok", (replace(hit("A sentence.", TITLED, also_in=(AP,), score=2.5), filed_as=(FILED,)),), 5)
    data = json.loads(json.dumps(answer_dict(answer)))
    assert data["question"] == "q" and data["status"] == "ok" and data["scope"] == []
    quote = data["quotes"][0]
    assert set(quote) == {"text", "score", "source", "also_in", "filed_as", "context"}
    assert quote["source"] == {
        "id": "002.txt", "title": "Russia Traded Air-Defense Gear", "outlet": None, "published": None,
        "url": "https://news.example/2", "path": "002.txt",
    }
    assert quote["also_in"][0]["published"] == "2024-11-22"
    assert quote["filed_as"][0]["path"] == "business/049.txt"
    assert answer_dict(Answer("q", "empty_question"))["status"] == "no_answer"


def test_low_confidence_answers_say_so_everywhere() -> None:
    from bot.render import NOT_SURE

    unsure = Answer("what is the capital?", "ok", (hit("Pyongyang, the capital, was the target."),), 5, confident=False)
    sure = Answer("what is the capital?", "ok", (hit("Pyongyang, the capital, was the target."),), 5)
    assert render_text(unsure).startswith(NOT_SURE) and NOT_SURE not in render_text(sure)
    assert answer_dict(unsure)["confident"] is False and answer_dict(sure)["confident"] is True
    note = [b for b in render_slack(unsure)["blocks"] if b["type"] == "context" and "not sure" in b["elements"][0]["text"]]
    assert len(note) == 1
    assert not [b for b in render_slack(sure)["blocks"] if b["type"] == "context" and "not sure" in b["elements"][0]["text"]]
