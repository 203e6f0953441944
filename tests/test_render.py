from __future__ import annotations

import json

from bot.core import Answer
from bot.render import answer_dict, describe_source, render_text
from tests.fakes import AP, TITLED, hit


def test_text_quotes_verbatim_with_source_and_other_sources() -> None:
    answer = Answer("q", "ok", (hit("Russia has supplied air defense missiles.", TITLED, also_in=(AP,)),), 5)
    text = render_text(answer)
    assert "1. “Russia has supplied air defense missiles.”" in text
    assert "— “Russia Traded Air-Defense Gear”, https://news.example/2" in text
    assert "Also reported by: Associated Press, 001.txt, 2024-11-22" in text


def test_source_without_title_shows_file_name() -> None:
    assert describe_source(AP) == "Associated Press, 001.txt, 2024-11-22"


def test_no_answer_is_said_plainly() -> None:
    assert render_text(Answer("population of Brazil", "no_answer", (), 5)) == "I found nothing about that in 5 articles."
    assert "Ask a question" in render_text(Answer("", "empty_question", (), 5))


def test_json_shape() -> None:
    answer = Answer("q", "ok", (hit("A sentence.", TITLED, also_in=(AP,), score=2.5),), 5)
    data = json.loads(json.dumps(answer_dict(answer)))
    assert data["question"] == "q" and data["status"] == "ok"
    quote = data["quotes"][0]
    assert set(quote) == {"text", "score", "source", "also_in", "context"}
    assert quote["source"] == {"id": "002.txt", "title": "Russia Traded Air-Defense Gear", "outlet": None, "published": None, "url": "https://news.example/2"}
    assert quote["also_in"][0]["published"] == "2024-11-22"
    assert answer_dict(Answer("q", "empty_question"))["status"] == "no_answer"


def test_low_confidence_answers_say_so_everywhere() -> None:
    from bot.render import NOT_SURE, answer_dict
    from bot.slack.blocks import render_slack

    unsure = Answer("what is the capital?", "ok", (hit("Pyongyang, the capital, was the target."),), 5, confident=False)
    sure = Answer("what is the capital?", "ok", (hit("Pyongyang, the capital, was the target."),), 5)
    assert render_text(unsure).startswith(NOT_SURE) and NOT_SURE not in render_text(sure)
    assert answer_dict(unsure)["confident"] is False and answer_dict(sure)["confident"] is True
    note = [b for b in render_slack(unsure)["blocks"] if b["type"] == "context" and "not sure" in b["elements"][0]["text"]]
    assert len(note) == 1
    assert not [b for b in render_slack(sure)["blocks"] if b["type"] == "context" and "not sure" in b["elements"][0]["text"]]
