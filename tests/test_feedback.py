"""Ratings: stored once per user and answer, kept through re-indexing, and turned into gold questions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core import Answerer
from bot.repl import run_repl
from index.corpus import Corpus, CorpusConfig
from index.evaluate import evaluate, load_gold
from index.feedback import NONE_OF_THESE, FeedbackLog, Rating, ShownQuote, gold_questions
from index.store import Store
from tests.fakes import AP, TITLED, FakeSearch, hit
from tests.test_repl import lines

QUOTES = (
    hit("Russia has supplied air defense missiles to North Korea.", AP),
    hit("It was unclear what Russia would give North Korea in return.", TITLED),
    hit("Seoul and Washington have voiced worries.", AP),
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def log(tmp_path: Path) -> FeedbackLog:
    feedback = FeedbackLog(Store(tmp_path / "q.db"), clock=Clock(), version="9.9")
    yield feedback
    feedback.close()


def test_a_rating_keeps_the_question_and_the_quotes_as_shown(log: FeedbackLog) -> None:
    answer_id = log.remember("what did Russia give North Korea", ("world",), QUOTES, "slash_command")
    rating = log.rate(answer_id, "down", "U1", "C1", chosen=2)
    assert rating is not None
    [stored] = log.ratings()
    assert stored == rating
    assert stored.question == "what did Russia give North Korea" and stored.scope == ("world",)
    assert [q.text for q in stored.quotes] == [h.passage.text for h in QUOTES]
    assert stored.chosen_quote == ShownQuote(1, TITLED.article_id, QUOTES[1].passage.text)
    assert (stored.vote, stored.user_id, stored.channel_id, stored.version) == ("down", "U1", "C1", "9.9")
    assert stored.created == "2026-12-01T09:00:00+00:00"


def test_one_rating_per_user_and_answer_the_latest_vote_counts(log: FeedbackLog) -> None:
    answer_id = log.remember("q", (), QUOTES, "mention")
    log.rate(answer_id, "down", "U1", "C1", chosen=3)
    log.rate(answer_id, "up", "U1", "C1")  # changed their mind: the choice of quote stays unless they name another
    log.rate(answer_id, "down", "U2", "C1")
    ratings = {r.user_id: r for r in log.ratings()}
    assert len(ratings) == 2
    assert (ratings["U1"].vote, ratings["U1"].chosen) == ("up", 3)
    assert (ratings["U2"].vote, ratings["U2"].chosen) == ("down", None)


def test_unknown_answers_and_quotes_are_refused(log: FeedbackLog) -> None:
    assert log.rate("0123456789abcdef", "up", "U1") is None
    answer_id = log.remember("q", (), QUOTES, "dm")
    with pytest.raises(ValueError, match="no quote 4"):
        log.rate(answer_id, "down", "U1", chosen=4)
    assert log.ratings() == []


def test_listing_filters_bad_ones_and_by_day(log: FeedbackLog) -> None:
    clock = log.clock
    assert isinstance(clock, Clock)
    first = log.remember("old question", (), QUOTES, "dm")
    log.rate(first, "down", "U1")
    clock.now += timedelta(days=3)
    second = log.remember("new question", (), QUOTES, "dm")
    log.rate(second, "up", "U1")
    assert [r.question for r in log.ratings()] == ["new question", "old question"]
    assert [r.question for r in log.ratings(bad_only=True)] == ["old question"]
    assert [r.question for r in log.ratings(since=datetime(2026, 12, 3, tzinfo=UTC))] == ["new question"]


def test_answers_nobody_rated_are_forgotten_after_90_days(log: FeedbackLog) -> None:
    clock = log.clock
    assert isinstance(clock, Clock)
    old = log.remember("q", (), QUOTES, "dm")
    clock.now += timedelta(days=91)
    log.remember("q2", (), QUOTES, "dm")
    assert log.shown(old) is None and log.rate(old, "up", "U1") is None


def rating(question: str, vote: str, chosen: int | None = None, user: str = "U1", scope: tuple[str, ...] = ()) -> Rating:
    quotes = tuple(ShownQuote(h.passage.id, h.passage.article_id, h.passage.text) for h in QUOTES)
    return Rating("a" * 16, user, "C1", question, scope, quotes, vote, chosen, "2026-12-01T09:00:00+00:00", "0")  # type: ignore[arg-type]


def test_gold_questions_from_ratings() -> None:
    gold = gold_questions([
        rating("What did Russia give?", "up"),  # its first quote
        rating("what did russia  give?", "up", user="U2"),  # the same question, asked again
        rating("Who is Shin?", "up", chosen=3),  # a 👍 naming its quote
        rating("When did it fail?", "down", chosen=2),  # 👎, but quote 2 came closest
        rating("What did China say?", "down", chosen=NONE_OF_THESE),  # nothing answers it
        rating("Why?", "down"),  # 👎 and nothing more: no gold answer can be made of it
        rating("Tied?", "up"), rating("Tied?", "down", chosen=NONE_OF_THESE, user="U2"),
        rating("Scoped?", "up", scope=("sport",)),
    ])
    by_question = {row["question"]: row for row in gold}
    assert set(by_question) == {"What did Russia give?", "Who is Shin?", "When did it fail?", "What did China say?", "Scoped?"}
    assert by_question["What did Russia give?"]["answers"] == [{"source": AP.article_id, "text": QUOTES[0].passage.text}]
    assert by_question["Who is Shin?"]["answers"][0]["text"] == QUOTES[2].passage.text
    assert by_question["When did it fail?"]["answers"] == [{"source": TITLED.article_id, "text": QUOTES[1].passage.text}]
    assert by_question["What did China say?"]["answers"] == []
    assert by_question["Scoped?"]["scope"] == ["sport"] and "scope" not in by_question["Who is Shin?"]
    assert len({row["id"] for row in gold}) == len(gold)
    answerable = gold_questions([rating("What did China say?", "down", chosen=NONE_OF_THESE)], answerable_only=True)
    assert answerable == []


def test_majority_decides_between_conflicting_ratings() -> None:
    ratings = [rating("q", "up", user="U1"), rating("q", "up", user="U2"), rating("q", "down", chosen=2, user="U3")]
    [row] = gold_questions(ratings)
    assert row["answers"][0]["text"] == QUOTES[0].passage.text


def test_ratings_survive_re_indexing_and_the_passages_they_quoted(seeds_dir: Path, tmp_path: Path) -> None:
    corpus = Corpus.open(CorpusConfig(folder=seeds_dir, db_path=tmp_path / "q.db", semantic=False))
    corpus.index()
    hits = corpus.search("what did Russia give North Korea", 3)
    log = FeedbackLog(Store(tmp_path / "q.db"))
    answer_id = log.remember("what did Russia give North Korea", (), hits, "slash_command")
    # the article of the first quote is rewritten and indexed again: its passages are gone
    path = seeds_dir / hits[0].passage.article_id
    path.write_text(path.read_text(encoding="utf-8") + "\nA sentence added later to the article.\n", encoding="utf-8")
    corpus.index()
    assert corpus.store.passages([hits[0].passage.id]) == {}
    rating = log.rate(answer_id, "up", "U1", "C1")  # a vote on the answer as it was shown
    assert rating is not None and rating.quotes[0].text == hits[0].passage.text
    corpus.close()
    log.close()
    reopened = FeedbackLog(Store(tmp_path / "q.db"))
    assert [r.answer_id for r in reopened.ratings()] == [answer_id]
    reopened.close()


def test_the_repl_rates_the_last_answer(log: FeedbackLog) -> None:
    out: list[str] = []
    answerer = Answerer(FakeSearch(QUOTES), lambda: 5)
    run_repl(answerer, lines("+", "what did Russia give", "- 2", "- 7", "-0", "+"), out.append, lambda: "",
             feedback=log, user="local:ana")
    assert out[1] == "Nothing to rate yet: ask a question, then type + if it was answered or - if not."
    assert out[3] == "Recorded 👎, quote 2 came closest."
    assert out[4] == "The last answer had 3 quotes; choose 1 to 3, or 0 for none."
    assert out[5] == "Recorded 👎, none of the quotes came close."
    assert out[6] == "Recorded 👍, none of the quotes came close."  # the choice stays with the new vote
    [stored] = log.ratings()
    assert (stored.user_id, stored.channel_id, stored.vote, stored.question) == ("local:ana", "repl", "up", "what did Russia give")


def test_the_repl_says_when_ratings_are_off() -> None:
    out: list[str] = []
    run_repl(Answerer(FakeSearch(QUOTES), lambda: 5), lines("missiles", "+"), out.append, lambda: "")
    assert out[-2] == "Ratings are turned off (QUOTEBOT_FEEDBACK=off, or the index is read-only)."


def quotebot(*args: str, data: Path, db: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data", str(data), "--db", str(db), *args],
        capture_output=True, text=True, timeout=300, env=environ, input=stdin,
    )


def test_rate_in_the_repl_list_export_and_measure(seeds_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    repl = quotebot("repl", data=seeds_dir, db=db, stdin="what did Russia give North Korea\n- 2\nWho is Shin Won-sik?\n+\n")
    assert repl.returncode == 0, repl.stderr
    assert "Recorded 👎, quote 2 came closest." in repl.stdout and "Recorded 👍." in repl.stdout
    listed = quotebot("feedback", data=seeds_dir, db=db)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("2 ratings:")
    assert "👎 quote 2 came closest  by local:" in listed.stdout and "  Q: what did Russia give North Korea" in listed.stdout
    bad = quotebot("feedback", "--bad", data=seeds_dir, db=db)
    assert "Who is Shin" not in bad.stdout and "what did Russia give" in bad.stdout
    out = tmp_path / "desk.jsonl"
    exported = quotebot("feedback", "export", str(out), data=seeds_dir, db=db)
    assert exported.returncode == 0, exported.stderr
    assert f"Wrote 2 questions to {out} (2 with an answer, 0 with none) from 2 ratings." in exported.stdout
    gold = {q.question: q for q in load_gold(out)}
    assert set(gold) == {"what did Russia give North Korea", "Who is Shin Won-sik?"}
    measured = quotebot("eval", "--json", str(out), data=seeds_dir, db=db)
    assert measured.returncode == 0, measured.stderr
    overall = json.loads(measured.stdout)["overall"]
    assert overall["p_at_1"] == 0.5 and overall["mrr"] == 0.75  # the 👍 answer first, the chosen quote second
    failing = quotebot("eval", "--fail-under", "0.9", str(out), data=seeds_dir, db=db)
    assert failing.returncode == 1 and "P@1 is 0.50" in failing.stderr and "below the 0.90" in failing.stderr


def test_quotebot_feedback_with_no_ratings(seeds_dir: Path, tmp_path: Path) -> None:
    result = quotebot("feedback", data=seeds_dir, db=tmp_path / "none.db")
    assert result.returncode == 0 and result.stdout.strip() == "No ratings yet."


def test_feedback_export_of_a_scoped_question_is_measured_in_its_scope(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    for desk, text in (("sport", "Wales won the Six Nations title in Cardiff."), ("world", "Wales sent aid to the flooded region.")):
        (folder / desk).mkdir(parents=True)
        (folder / desk / "a.txt").write_text(f"Headline for {desk}\n\n{text}\n", encoding="utf-8")
    corpus = Corpus.open(CorpusConfig(folder=folder, db_path=tmp_path / "q.db", semantic=False))
    corpus.index()
    log = FeedbackLog(Store(tmp_path / "q.db"))
    answer_id = log.remember("what did Wales do", ("sport",), corpus.search("what did Wales do", 3, scope=("sport",)), "repl")
    log.rate(answer_id, "up", "U1")
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text("".join(json.dumps(row) + "\n" for row in gold_questions(log.ratings())), encoding="utf-8")
    [question] = load_gold(gold_file)
    assert question.scope == ("sport",)
    assert evaluate([question], corpus.find).overall.p_at_1 == 1.0
    corpus.close()
    log.close()
