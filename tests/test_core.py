from __future__ import annotations

from bot.core import MAX_QUESTION_CHARS, Answerer, clean_question
from tests.fakes import FakeSearch, hit


def test_answer_ok_passes_k_and_context() -> None:
    search = FakeSearch((hit("A."), hit("B."), hit("C."), hit("D.")))
    answer = Answerer(search, lambda: 5, top_k=3).answer("  what did Russia give?  ", context=1)
    assert answer.status == "ok" and len(answer.hits) == 3 and answer.articles == 5
    assert search.calls == [("what did Russia give?", 3, 1, ())]


def test_no_answer_and_empty_question() -> None:
    search = FakeSearch()
    answerer = Answerer(search, lambda: 5)
    assert answerer.answer("population of Brazil").status == "no_answer"
    assert answerer.answer("   ?? ").status == "empty_question"
    assert len(search.calls) == 1


def test_question_is_cleaned_and_bounded() -> None:
    text, truncated = clean_question("who\x00 is\u200b  Shin\tWon-sik\n")
    assert (text, truncated) == ("who is Shin Won-sik", False)
    text, truncated = clean_question("word " * 10_000)
    assert truncated and len(text) <= MAX_QUESTION_CHARS


def test_confidence_is_passed_through_and_a_refusal_is_never_unsure() -> None:
    unsure = Answerer(FakeSearch((hit("A."),), confident=False), lambda: 5).answer("what is it?")
    assert unsure.status == "ok" and not unsure.confident
    assert Answerer(FakeSearch((hit("A."),)), lambda: 5).answer("what is it?").confident
    declined = Answerer(FakeSearch((), confident=False), lambda: 5).answer("what is it?")
    assert declined.status == "no_answer" and declined.confident
