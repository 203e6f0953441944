"""Cleaning scraped pages and inferring metadata, on the seeds and on pages made up here."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.articles import ArticleError, apply_metadata, clean_article, decode_article
from index.ingest import article_sentences

SEEDS = Path(__file__).resolve().parent.parent / "data"

FURNITURE = [
    "Top News",
    "Next Story",
    "Newszop",
    "Send Push",
    "READ MORE:",
    "image",
    "Tags",
    "Real Time Analytics",
    "Photo: AP",
    "Putin in North Korea",
    "Loving Newspoint? Download the app now",
    "Follow the Sahara Reporters channel on WhatsApp",
    "GAVRIIL GRIGOROV/POOL/AFP via Getty Image",
    "date 2024-11-22",
    "SEOUL, South Korea (AP)",
]

# A page from another (made-up) site, with the same kinds of furniture in other words.
MADE_UP_PAGE = """Home
World
Business

Flood waters recede in Valencia as clean-up begins

Share on Facebook
Listen to this article

date 2024-11-05 VALENCIA, Spain (Reuters) — Flood waters began to recede on Tuesday, leaving streets covered in mud.

Residents in Paiporta spent the day clearing debris. Officials said 200 people had died.
A resident clears mud from a street in Paiporta, Valencia. JOSE JORDAN/AFP via Getty Images
ALSO READ:
Subscribe to our newsletter for daily updates.
Get the app: https://example.com/app

Emergency services warned that more rain was expected later in the week.

Topics
Spain
Floods
Climate
"""


def clean_seed(name: str):
    return clean_article((SEEDS / name).read_text(encoding="utf-8"), name)


def all_seed_sentences() -> list[str]:
    return [s for path in sorted(SEEDS.glob("*.txt")) for _, s in article_sentences(clean_seed(path.name))]


@pytest.mark.parametrize("furniture", FURNITURE)
def test_no_seed_furniture_becomes_a_passage(furniture: str) -> None:
    for sentence in all_seed_sentences():
        assert not sentence.startswith(furniture), sentence
        assert sentence.strip() != furniture


def test_seed_sentences_are_verbatim_substrings_of_their_files() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for _, sentence in article_sentences(clean_seed(path.name)):
            assert sentence in text


def test_headline_becomes_title_not_passage() -> None:
    article = clean_seed("002_b6d364e9ccda3487.txt")
    assert article.source.title == "Russia Traded Air-Defense Gear For North Korean Troops In Ukraine War, South Korea Claims"
    assert not any(p.text.startswith("Russia Traded") for p in article.paragraphs)
    page = clean_seed("004_d9ef441bf8dd54f3.txt")
    assert page.source.title == "North Korea 'plots' extra support for Russia by 'sending thousands of troops'"


def test_date_and_dateline_become_metadata() -> None:
    article = clean_seed("001_d115848965a0cdd8.txt")
    assert article.source.published == date(2024, 11, 22)
    assert article.source.outlet == "Associated Press"
    assert article.paragraphs[0].text.startswith("Russia has supplied air defense missiles")


def test_articles_without_headline_keep_first_sentence() -> None:
    for name in ("000_03080617be983ea0.txt", "003_48ae2eef28f3657b.txt"):
        article = clean_seed(name)
        assert article.source.title is None
        assert article.source.url is None
    long_first = clean_seed("003_48ae2eef28f3657b.txt")
    assert long_first.paragraphs[0].text.startswith("According to South Korea's main intelligence agency")


def test_made_up_page_is_cleaned_by_the_same_rules() -> None:
    article = clean_article(MADE_UP_PAGE, "valencia.txt")
    assert article.source.title == "Flood waters recede in Valencia as clean-up begins"
    assert article.source.published == date(2024, 11, 5)
    assert article.source.outlet == "Reuters"
    assert [p.text for p in article.paragraphs] == [
        "Flood waters began to recede on Tuesday, leaving streets covered in mud.",
        "Residents in Paiporta spent the day clearing debris. Officials said 200 people had died.",
        "Emergency services warned that more rain was expected later in the week.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Officials said the talks and/or a summit would follow in the coming weeks, according to the ministry.",
        "The Seoul/Washington alliance has held for seventy years, the minister told reporters on Friday.",
    ],
)
def test_prose_with_a_slash_is_not_a_photo_credit(line: str) -> None:
    assert [p.text for p in clean_article(line + "\n", "slash.txt").paragraphs] == [line]


def test_capitalised_credit_is_furniture() -> None:
    page = "Troops crossed the river at dawn, the army said in a statement.\nGAVRIIL GRIGOROV/POOL/AFP\n"
    assert [p.text for p in clean_article(page, "credit.txt").paragraphs] == [
        "Troops crossed the river at dawn, the army said in a statement."
    ]


def test_user_metadata_overrides_inferred() -> None:
    article = clean_seed("001_d115848965a0cdd8.txt")
    given = apply_metadata(article, {"title": "Russia supplied missiles", "url": "https://news.example/a", "published": "2024-11-23"})
    assert given.source.title == "Russia supplied missiles"
    assert given.source.url == "https://news.example/a"
    assert given.source.published == date(2024, 11, 23)
    assert given.source.outlet == "Associated Press"


def test_hard_wrapped_lines_are_joined_but_headlines_are_not() -> None:
    text = "Storm hits the coast overnight\n\nThe storm reached the coast\nlate on Monday, officials said.\n"
    article = clean_article(text, "storm.txt")
    assert article.source.title == "Storm hits the coast overnight"
    assert [p.text for p in article.paragraphs] == ["The storm reached the coast late on Monday, officials said."]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"x" * (11 * 1024 * 1024), "larger than"),
    ],
)
def test_unusable_files_raise_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        decode_article(data, "bad.txt")


def test_invalid_utf8_is_decoded_with_a_warning() -> None:
    text, warnings = decode_article("Caf\xe9 owners said prices rose again.".encode("latin-1"), "latin.txt")
    assert "prices rose again" in text
    assert len(warnings) == 1 and "latin.txt" in warnings[0] and "UTF-8" in warnings[0]
