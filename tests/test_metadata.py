"""Scraped pages give the title, date and author a reader sees on them, and lose no line of the article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from metadata_pages import PAGES, Page

from qa.cli import main
from qa.reading.bylines import byline_author
from qa.reading.clean import clean_scraped
from qa.reading.dates import dateline_date, find_dates, is_date_line
from qa.reading.sources import read_cleaned


def _read(tmp_path: Path, text: str):
    path = tmp_path / "page.txt"
    path.write_text(text, encoding="utf-8")
    [item] = list(read_cleaned([str(path)]))
    return item


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_each_page_shape_gives_its_title_date_and_author(tmp_path: Path, page: Page):
    item = _read(tmp_path, page.text)
    article = item.article
    assert (article.title, article.published, article.author) == (page.title, page.published, page.author), page.style
    kept = set(article.text.splitlines())
    for line in page.article:
        assert line in kept, f"the article's own line went: {line!r}"
    whole = {r.text.strip("#*_ ") for r in item.removed if r.whole_line}
    cut = {r.line for r in item.removed if not r.whole_line}
    for n, line in enumerate(page.text.splitlines(), 1):
        line = " ".join(line.split()).strip("#*_ ")
        assert not line or line in kept or line in article.text or line in whole or n in cut, (
            f"line {n} is neither kept nor listed as removed: {line!r}")


def test_the_headline_is_the_line_above_the_byline_not_the_navigation_promo_or_caption():
    page = "\n".join([
        "Skip to main content", "Exclusive news, data and analytics for financial market professionals",
        "Learn more about Refinitiv", "World", "Business",
        "New Zealand central bank cuts rates by 25 bps, signals pause as inflation sticks",
        "By Lucy Craymer and Praveen Menon", "November 25, 2026 2:14 PM GMT+13 Updated 2 hours ago", "4 minute read",
        "Item 1 of 2 The Reserve Bank of New Zealand building is seen in Wellington, New Zealand, March 3, 2026. "
        "REUTERS/Lucy Craymer/File Photo",
        "WELLINGTON, Nov 25 (Reuters) - New Zealand's central bank cut its official cash rate by 25 basis points on Wednesday.",
        "The bank said it expected to hold rates for some time.",
    ])
    scraped = clean_scraped(page)
    assert scraped.headline == "New Zealand central bank cuts rates by 25 bps, signals pause as inflation sticks"
    assert (scraped.author, scraped.published) == ("Lucy Craymer and Praveen Menon", "2026-11-25")
    assert scraped.text.startswith("WELLINGTON, Nov 25 (Reuters) - New Zealand's central bank")
    rules = {r.text: r.rule for r in scraped.removed}
    assert rules["By Lucy Craymer and Praveen Menon"] == "byline"
    assert rules["November 25, 2026 2:14 PM GMT+13 Updated 2 hours ago"] == "date"
    assert rules["New Zealand central bank cuts rates by 25 bps, signals pause as inflation sticks"] == "title"


@pytest.mark.parametrize("line,author", [
    ("By Jane Doe", "Jane Doe"),
    ("By Lucy Craymer and Praveen Menon", "Lucy Craymer and Praveen Menon"),
    ("By Emily Cochrane, Luke Broadwater and Catie Edmondson", "Emily Cochrane, Luke Broadwater and Catie Edmondson"),
    ("Lucy Craymer and Praveen Menon, Reuters", "Lucy Craymer and Praveen Menon, Reuters"),
    ("By EGILL BJARNASON and JILL LAWLESS", "Egill Bjarnason and Jill Lawless"),
    ("By JAMES TOZER FOR MAILONLINE", "James Tozer"),
    ("By Jane Doe, Staff Writer", "Jane Doe"),
    ("Helena Horton Environment reporter", "Helena Horton"),
    ("Shaun Walker in Kyiv and Pjotr Sauer in Moscow", "Shaun Walker and Pjotr Sauer"),
    ("Posted on July 22, 2026 by Margaret Ellis", "Margaret Ellis"),
    ("by Chris Welch | Sep 9, 2026, 1:30 PM EDT", "Chris Welch"),
    ("Author: Samantha Fischer (KARE 11)", "Samantha Fischer"),
    ("ByJessica Lane", "Jessica Lane"),
    ("By Jane Doe jdoe@paper.example @janedoe", "Jane Doe"),
    ("Jane Doe · 4 min read", "Jane Doe"),
    ("By the numbers", ""),
    ("LOCAL NEWS", ""),
    ("The Spokesman-Review", ""),
    ("Social Affairs Correspondent", ""),
    ("Hong Kong, China", ""),
    ("Illustration by Ben Kothe / The Atlantic", ""),
    ("By Friday, the river had burst its banks.", ""),
    ("Zhang Jiangjian, a Shenzhen-based independent internet industry analyst.", ""),
    ("Vielen Dank, Herr Staatssekretär.", ""),
])
def test_byline_forms(line: str, author: str):
    assert byline_author(line) == author


@pytest.mark.parametrize("line,published", [
    ("Updated Thu., March 12, 2026 at 6:45 p.m.", ["2026-03-12"]),
    ("November 25, 2026 2:14 PM GMT+13 Updated 2 hours ago", ["2026-11-25"]),
    ("Tue 25 Nov 2026 06.00 GMT", ["2026-11-25"]),
    ("Published: 10:42 GMT, 12 September 2026 | Updated: 14:05 GMT, 13 September 2026", ["2026-09-12", "2026-09-13"]),
    ("Last modified on Wed 14 Oct 2026 19.02 CEST", ["2026-10-14"]),
    ("2026-11-25T10:00:00Z", ["2026-11-25"]),
    ("03/04/2026 06:45 PM EST", ["2026-03-04"]),  # an American time: month first
    ("Published on 03/10/2026 - 10:42", ["2026-10-03"]),  # a 24-hour time: day first
    ("03/04/2026", []),  # which is the month is unknown
    ("Updated 2 hours ago", []),
])
def test_date_forms(line: str, published: list[str]):
    assert [d.iso for d in find_dates(line)] == published
    assert is_date_line(line)


def test_a_sentence_that_names_a_date_is_no_date_line():
    assert not is_date_line("On 3 March 2027 the National Trust will open the meadow to visitors.")
    assert not is_date_line("Save")


def test_the_dateline_dates_an_article_only_when_nothing_better_and_with_a_year_from_the_page():
    assert dateline_date("OSLO, Aug 14 (Reuters) - Norway's fund grew.", [2026]) == "2026-08-14"
    assert dateline_date("OSLO, Aug 14 (Reuters) - Norway's fund grew.", []) == ""
    body = ["LONDON, March 16 (Reuters) - Crimea marked the anniversary of the referendum of March 16, 2014.",
            "Celebrations were held in Sevastopol.", "Ukraine called the vote illegal."]
    assert clean_scraped("\n".join(body)).published == "", "an article's own dates are no context for the year"
    dated = "\n".join(["Crimea marks referendum anniversary", "By Jane Doe", "March 16, 2026", *body])
    assert clean_scraped(dated).published == "2026-03-16", "a date line wins over the dateline"
    footer = "\n".join([*body, "© 2026 Example Media"])
    assert clean_scraped(footer).published == "2026-03-16", "a copyright year gives the dateline its year"


def test_prose_is_never_taken_as_a_title_without_a_byline_block():
    question = ["How many films are being shown?", "The festival presents a total of 399 films in ten days this year.",
                "Many of them are shown several times."]
    assert clean_scraped("\n".join(["1.", *question])).text.splitlines() == question
    speech = ["Herr Präsident!", "Liebe Kolleginnen und Kollegen!",
              "Wir beraten heute über einen Gesetzentwurf, der die Pflege in unserem Land verbessern soll."]
    scraped = clean_scraped("\n".join(speech))
    assert scraped.headline == "" and "Liebe Kolleginnen und Kollegen!" in scraped.text
    only = clean_scraped("Russia's Federal Security Service")
    assert (only.text, only.headline) == ("Russia's Federal Security Service", ""), "a text is never emptied into its title"


def test_qa_clean_json_shows_the_metadata(tmp_path: Path, capsys):
    page = next(p for p in PAGES if p.name == "us-local-paper")
    path = tmp_path / "library.txt"
    path.write_text(page.text, encoding="utf-8")
    assert main(["clean", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["title"], shown["published"], shown["author"]) == (page.title, page.published, page.author)
    assert {"title", "byline", "date"} <= {r["rule"] for r in shown["removed"]}
    assert "The Columbian" not in shown["text"] and "LOCAL NEWS" not in shown["text"]
