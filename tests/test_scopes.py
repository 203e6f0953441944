"""Desks as scopes, and one story filed under several names, on a small archive with folders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core import Answerer, split_scope
from bot.render import render_text
from bot.repl import run_repl
from bot.scopes import ChannelScopes, ScopesError, parse_scopes
from index.corpus import Corpus, CorpusConfig
from index.models import UnknownScope
from tests.archives import STORY, desk_archive, write
from tests.test_cli import quotebot
from tests.test_repl import lines

WHO_WON = "who won the final"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return desk_archive(tmp_path)


def open_corpus(archive: Path, db: Path, engine: str = "tantivy", semantic: bool = False) -> Iterator[Corpus]:
    corpus = Corpus.open(CorpusConfig(folder=archive, db_path=db, engine=engine, semantic=semantic))
    corpus.index()
    yield corpus
    corpus.close()


@pytest.mark.parametrize("engine", ["tantivy", "rank-bm25"])
def test_the_engine_filters_by_folder_so_top_k_stays_full(archive: Path, tmp_path: Path, engine: str) -> None:
    for corpus in open_corpus(archive, tmp_path / "i.db", engine):
        searcher = corpus.searcher
        terms = searcher.lexicon.analyse(WHO_WON).terms
        unscoped = corpus.store.passages([pid for pid, _ in searcher.engine.search(terms, 60)])
        assert not [p for p in unscoped.values() if p.article_id.startswith("sport/")]  # crowded out of the top 60
        scoped = searcher.engine.search(terms, 3, ("sport",))
        articles = [p.article_id for p in corpus.store.passages([pid for pid, _ in scoped]).values()]
        assert len(articles) == 3 and all(a.startswith("sport/") for a in articles)
        scores = dict(searcher.engine.search(terms, 10_000))
        assert all(scores[pid] == pytest.approx(score) for pid, score in scoped)  # the filter adds nothing to scores
        hits = corpus.search(WHO_WON, 3, scope=("sport",))
        assert len(hits) == 3 and all(h.source.article_id.startswith("sport/") for h in hits)
        assert {h.source.article_id for h in corpus.search(WHO_WON, 3)} <= {
            *(f"business/r{n:03}.txt" for n in range(80)), *(f"sport/{n}" for n in ("cup.txt", "tennis.txt", "rugby.txt", "chess.txt"))
        }


def test_semantic_search_is_scoped_too(archive: Path, tmp_path: Path) -> None:
    for corpus in open_corpus(archive, tmp_path / "i.db", semantic=True):
        assert corpus.embedder is not None, corpus.semantic_problem
        searcher = corpus.searcher
        assert searcher.dense is not None
        nearest = searcher.dense.search(corpus.embedder.embed([WHO_WON])[0], 10, ("sport",))
        assert len(nearest) == 4  # all sport has, though business holds closer sentences
        assert {p.article_id for p in corpus.store.passages([pid for pid, _ in nearest]).values()} == {
            "sport/cup.txt", "sport/tennis.txt", "sport/rugby.txt", "sport/chess.txt"
        }
        hits = corpus.search(WHO_WON, 4, scope=("sport",))
        assert len(hits) == 4 and all(h.source.article_id.startswith("sport/") for h in hits)
        world = corpus.search("what did Russia give North Korea", 3, scope=("world",))
        assert world and all(h.source.article_id.startswith("world/") for h in world)


def test_scopes_are_the_folders_and_an_unknown_one_lists_them(archive: Path, tmp_path: Path) -> None:
    for corpus in open_corpus(archive, tmp_path / "i.db"):
        assert corpus.scopes() == ("business", "sport", "world")
        assert corpus.resolve_scope(("Sport/", "./world")) == ("sport", "world")
        with pytest.raises(UnknownScope) as raised:
            corpus.ask(WHO_WON, 3, scope=("spor",))
        assert raised.value.known == ("business", "sport", "world") and "spor" in str(raised.value)
        answer = Answerer(corpus.find, corpus.article_count).answer(f"in:spor {WHO_WON}")
        assert answer.status == "unknown_scope"
        assert render_text(answer) == "There is no folder spor/ in the articles. The folders are: business/, sport/, world/"


def test_one_story_under_three_names_is_answered_once_from_its_first_file(archive: Path, tmp_path: Path) -> None:
    for corpus in open_corpus(archive, tmp_path / "i.db"):
        assert corpus.duplicate_files() == {"business/049.txt": "business/001.txt", "business/120.txt": "business/001.txt"}
        hits = corpus.search("how much did TimeWarner profits jump", 3)
        top = hits[0]
        assert top.source.article_id == "business/001.txt"
        assert [s.article_id for s in top.filed_as] == ["business/049.txt", "business/120.txt"] and not top.also_in
        assert len({h.passage.text for h in hits}) == len(hits)  # no sentence twice
        text = render_text(Answerer(lambda *a: corpus.find(*a), corpus.article_count).answer("how much did TimeWarner profits jump"))
        assert "Also filed as: business/049.txt, business/120.txt" in text and "Also reported by" not in text.split("\n\n")[0]


def test_a_story_survives_when_one_of_its_files_is_deleted(archive: Path, tmp_path: Path) -> None:
    for corpus in open_corpus(archive, tmp_path / "i.db"):
        (archive / "business/001.txt").unlink()
        report = corpus.index()
        assert report.removed == ("business/001.txt",) and report.duplicates == 1
        top = corpus.search("how much did TimeWarner profits jump", 1)[0]
        assert top.source.article_id == "business/049.txt" and [s.article_id for s in top.filed_as] == ["business/120.txt"]
        (archive / "business/120.txt").unlink()
        assert corpus.index().duplicates == 0
        top = corpus.search("how much did TimeWarner profits jump", 1)[0]
        assert top.source.article_id == "business/049.txt" and not top.filed_as and not top.also_in


def test_a_story_filed_on_two_desks_is_quoted_from_the_desk_asked(archive: Path, tmp_path: Path) -> None:
    write(archive / "world/zz-time-warner.txt", STORY)
    for corpus in open_corpus(archive, tmp_path / "i.db"):
        top = corpus.search("how much did TimeWarner profits jump", 1, scope=("world",))[0]
        assert top.source.article_id == "world/zz-time-warner.txt"
        assert "business/001.txt" in {s.article_id for s in top.filed_as}


def test_a_question_names_its_scope_at_the_start() -> None:
    assert split_scope("in:sport who won?") == (("sport",), "who won?")
    assert split_scope("--in sport --in=tech who won?") == (("sport", "tech"), "who won?")
    assert split_scope("in:sport,tech   who won?") == (("sport", "tech"), "who won?")
    assert split_scope("who won in: the final?") == ((), "who won in: the final?")  # only at the start


def test_cli_ask_in_a_folder_and_an_unknown_one(archive: Path) -> None:
    index = quotebot("index", data=archive)
    assert "Duplicate files (a story already filed under another name, answered as one): 2." in index.stdout
    sources = quotebot("sources", data=archive)
    assert "business/049.txt: “Ad sales boost Time Warner profit” (same story as business/001.txt)" in sources.stdout
    result = quotebot("ask", "--in", "sport", "--json", WHO_WON, data=archive)
    data = json.loads(result.stdout)
    assert data["scope"] == ["sport"] and len(data["quotes"]) == 3
    assert all(q["source"]["path"].startswith("sport/") for q in data["quotes"])
    text = quotebot("ask", "--in", "sport", WHO_WON, data=archive).stdout
    assert "· sport/" in text and "\x1b[" not in text  # the file is shown; no terminal codes into a pipe
    wrong = quotebot("ask", "--in", "sprot", WHO_WON, data=archive)
    assert wrong.returncode == 1 and "There is no folder sprot/ in the articles. The folders are: business/, sport/, world/" in wrong.stderr


def test_repl_in_sets_the_scope_for_the_questions_that_follow(archive: Path, tmp_path: Path) -> None:
    for corpus in open_corpus(archive, tmp_path / "i.db"):
        out: list[str] = []
        answerer = Answerer(corpus.find, corpus.article_count)
        run_repl(answerer, lines("--in sport", WHO_WON, "--in all", "in:nope who", WHO_WON), out.append, lambda: "")
        assert out[1] == "Questions now search sport/."
        assert out[2].count("· sport/") == 3
        assert out[3] == "Questions now search every folder."
        assert out[4].startswith("There is no folder nope/")
        assert "— business/r" in out[5]


def test_channel_scopes_file_is_read_on_change_and_a_bad_one_keeps_the_last_good(tmp_path: Path, caplog) -> None:
    path = tmp_path / "scopes.toml"
    path.write_text('[channels]\nCSPORT = "sport"\nCMONEY = ["business", "tech/"]\n', encoding="utf-8")
    scopes = ChannelScopes(tmp_path).load()
    assert scopes.for_channel("CSPORT") == ("sport",) and scopes.for_channel("CMONEY") == ("business", "tech")
    assert scopes.for_channel("COTHER") == () and scopes.for_channel(None) == ()
    path.write_text('[channels]\nCSPORT = "sport"\nCMONEY = 7\n', encoding="utf-8")
    assert scopes.for_channel("CMONEY") == ("business", "tech")  # the last good mapping keeps serving
    assert "channel CMONEY must name a folder" in (scopes.problem or "")
    assert [r for r in caplog.records if "channel CMONEY must name a folder" in r.getMessage()]
    path.write_text('[channels]\nCMONEY = "business"\n', encoding="utf-8")
    assert scopes.for_channel("CMONEY") == ("business",) and scopes.for_channel("CSPORT") == () and scopes.problem is None
    path.write_text("[channels\n", encoding="utf-8")
    with pytest.raises(ScopesError, match="not valid TOML"):
        ChannelScopes(tmp_path).load()  # at start there is nothing good to keep: the error is raised
    with pytest.raises(ScopesError, match="unknown section"):
        parse_scopes("[channel]\nC1 = 'sport'\n")


def test_serve_refuses_a_bad_scopes_file_at_start_in_one_line(archive: Path) -> None:
    (archive / "scopes.toml").write_text('[channels]\nCSPORT = 7\n', encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s" * 32, "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    result = quotebot("serve", data=archive, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {archive / 'scopes.toml'}: channel CSPORT must name a folder (\"sport\") or a list of folders, not 7; "
        "fix it, or remove it to search every folder from every channel"
    )
