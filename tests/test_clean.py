"""Page clutter is removed from scraped text and HTML; every sentence of the article stays."""

from __future__ import annotations

import pytest

from qa.errors import ConfigError
from qa.reading.clean import clean_scraped, clean_text, extract_html

ARTICLE_LINES = [
    "The city council approved a new budget for the harbour district on Thursday, ending months of debate.",
    "The plan sets aside 40 million euros for flood defences along the old quay.",
    "Critics said it was too little.",
    "Mayor Ana Ruiz called the vote \"a turning point for the waterfront\".",
    "Work is due to start next spring.",
]
SCRAPED = "\n".join(
    ["Audio By Carbonatix", "Advertisement"]
    + ARTICLE_LINES
    + [
        "Latest Stories",
        "-",
        "Striker signs three-year deal with rival club",
        "2 minutes -",
        "Police recruit 300 new officers in northern region",
        "14 minutes -",
        "Opinion: why the cedi keeps falling",
        "1 hour -",
        "Farmers protest over fertiliser prices",
        "3 hours -",
    ]
)


def test_scraped_clutter_is_removed_and_article_kept():
    cleaned = clean_text(SCRAPED)
    assert cleaned.splitlines() == ARTICLE_LINES
    for clutter in ("Carbonatix", "Advertisement", "Latest Stories", "Striker", "minutes -", "fertiliser"):
        assert clutter not in cleaned


def test_short_lines_inside_the_article_are_kept():
    text = "\n".join(ARTICLE_LINES[:2] + ["Why?", "Nobody knows."] + ARTICLE_LINES[2:])
    cleaned = clean_text(text)
    assert "Why?" in cleaned and "Nobody knows." in cleaned
    assert cleaned.splitlines() == text.splitlines()


def test_prose_after_a_related_heading_is_not_cut():
    text = "\n".join(ARTICLE_LINES + ["More from the council", *ARTICLE_LINES])
    assert clean_text(text).count(ARTICLE_LINES[0]) == 2


def test_whitespace_and_control_characters_are_normalised():
    assert clean_text("  One\u00a0 sentence here.\r\n\r\n\r\n\r\nTwo\u200b.\x07  ") == "One sentence here.\n\nTwo."


PAGE = """<!doctype html><html><head><title>Harbour budget approved | The Daily Quay</title>
<meta property="og:title" content="Harbour budget approved">
<meta name="author" content="Lena Park">
<meta property="article:published_time" content="2024-03-07T10:00:00Z">
<meta property="og:site_name" content="The Daily Quay"></head>
<body><nav><a href="/">Home</a> | <a href="/sport">Sport</a> | <a href="/login">Log in</a></nav>
<div class="cookie">We use cookies. Accept all cookies</div>
<article><h1>Harbour budget approved</h1>
%s
</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Striker signs deal</a></li><li><a href="/b">Farmers protest</a></li></ul></aside>
<footer>Copyright 2024 The Daily Quay. All rights reserved.</footer></body></html>""" % "\n".join(
    f"<p>{line}</p>" for line in ARTICLE_LINES
)


def test_html_main_text_and_metadata():
    page = extract_html(PAGE, url="https://dailyquay.example/news/harbour-budget")
    assert page.title == "Harbour budget approved"
    assert page.published == "2024-03-07"
    assert page.author == "Lena Park"
    for line in ARTICLE_LINES:
        assert line in page.text
    for clutter in ("Log in", "cookies", "Striker", "Copyright"):
        assert clutter not in page.text


def test_html_without_main_text_gives_empty_text():
    assert extract_html("<html><body><nav><a href='/'>Home</a></nav></body></html>").text == ""


STORM = """Skip to main content
Menu
Home
World
Share this article
Follow us on Twitter
Storm batters coast as thousands lose power
By Jane Doe, Reuters
Published 10:42 GMT
A powerful storm battered the southern coast on Wednesday, cutting power to more than 40,000 homes.
Emergency crews worked through the night to clear fallen trees from main roads.
Advertisement
"It was the worst wind I have seen in thirty years," said one fisherman.
Calm returns Friday.
Related Articles
Flood warnings issued for three rivers
Power company defends response
Comments (12)
© 2024 Example Media. All rights reserved.
Privacy Policy"""


def test_navigation_byline_and_footer_are_removed_and_the_headline_found():
    scraped = clean_scraped(STORM)
    assert scraped.headline == "Storm batters coast as thousands lose power"
    assert scraped.author == "Jane Doe, Reuters"
    assert scraped.text.splitlines() == [
        "A powerful storm battered the southern coast on Wednesday, cutting power to more than 40,000 homes.",
        "Emergency crews worked through the night to clear fallen trees from main roads.",
        '"It was the worst wind I have seen in thirty years," said one fisherman.',
        "Calm returns Friday.",
    ]


def test_article_lines_that_resemble_furniture_words_stay():
    text = "\n".join(ARTICLE_LINES[:2] + ["Copyright holders sued the streaming company over the leak.", *ARTICLE_LINES[2:]])
    assert "Copyright holders sued" in clean_text(text)


WIRE_PAGE = """Skip to main content
Exclusive news, data and analytics for financial market professionals
World
Business
Germany's economy shrinks again as industry slumps
By Maria Martinez
November 25, 20263:41 PM GMTUpdated 2 hours ago
Item 1 of 2 Containers are seen at the port of Hamburg, Germany, October 4, 2026. REUTERS/Fabian Bimmer/File Photo
[1/2]Containers are seen at the port of Hamburg. REUTERS/Fabian Bimmer Purchase Licensing Rights, opens new tab
BERLIN, Nov 25 (Reuters) - Germany's economy contracted by 0.3% in the third quarter, the statistics office said.
Exports fell for a second consecutive quarter, while household spending was flat, the office said.
Photograph: Fabian Bimmer/Reuters
"The industrial recession is deepening," said chief economist Joerg Kraemer.
Reporting by Maria Martinez; Editing by Tomasz Janowski
Read Next
UK retailers report weakest November sales in a decade
2 hours ago
Oil steadies as traders weigh output plans
3 hours ago"""

MAGAZINE_PAGE = """Print subscriptions
Sign in
Environment
Climate crisis
Rare butterfly returns to English meadow after 50 years
The large blue has been spotted breeding in Somerset for the first time since the 1970s, conservationists say
Patrick Barkham
Tue 25 Nov 2026 06.00 GMT
The large blue, which was declared extinct in Britain in 1979, has been found breeding in a meadow in Somerset.
Volunteers counted more than 200 adults during the summer survey, the highest number recorded at the site.
On 3 March 2027 the National Trust will open the meadow to visitors.
Explore more on these topics
Butterflies
Insects
Most viewed
Trump says he will meet Putin next week
Heatwave breaks records across southern Europe"""


def test_captions_bylines_and_dates_leave_the_text_and_fill_the_metadata():
    wire = clean_scraped(WIRE_PAGE)
    assert wire.headline == "Germany's economy shrinks again as industry slumps"  # the nearest, not the longest
    assert (wire.published, wire.author) == ("2026-11-25", "Maria Martinez")  # published as an ISO date
    assert wire.text.splitlines() == [
        "BERLIN, Nov 25 (Reuters) - Germany's economy contracted by 0.3% in the third quarter, the statistics office said.",
        "Exports fell for a second consecutive quarter, while household spending was flat, the office said.",
        '"The industrial recession is deepening," said chief economist Joerg Kraemer.',
    ]
    magazine = clean_scraped(MAGAZINE_PAGE)
    assert (magazine.published, magazine.author) == ("2026-11-25", "Patrick Barkham")
    lines = magazine.text.splitlines()
    assert "Patrick Barkham" not in lines and "Tue 25 Nov 2026 06.00 GMT" not in lines
    assert "On 3 March 2027 the National Trust will open the meadow to visitors." in lines, "a sentence with a date stays"
    assert lines[-1].startswith("On 3 March 2027") and "Most viewed" not in magazine.text
    inside = "\n".join([*ARTICLE_LINES[:2], "By the numbers", *ARTICLE_LINES[2:]])
    assert clean_scraped("By the numbers\n" + inside).author == "", "a subheading is not a byline"
    assert clean_scraped(inside).text.splitlines()[2] == "By the numbers", "lines inside the article stay"


def test_every_removal_is_reported_with_its_line_and_rule():
    scraped = clean_scraped(STORM)
    removed = {r.text: (r.line, r.rule) for r in scraped.removed}
    assert removed["Skip to main content"] == (1, "boilerplate")
    assert removed["Storm batters coast as thousands lose power"] == (7, "title")
    assert removed["By Jane Doe, Reuters"] == (8, "byline") and removed["Menu"] == (2, "page-edge")
    assert removed["Advertisement"] == (12, "boilerplate")
    assert removed["Related Articles"] == (15, "related-list") and removed["Flood warnings issued for three rivers"][1] == "related-list"
    kept = set(scraped.text.splitlines())
    assert all(line in kept or line in removed for line in STORM.splitlines()), "every line is kept or accounted for"


def test_modes_furniture_and_none_keep_what_the_page_rules_would_trim():
    furniture = clean_scraped(STORM, "furniture")
    assert "Menu" in furniture.text and "Storm batters coast as thousands lose power" in furniture.text
    assert "Advertisement" not in furniture.text and "Share this article" not in furniture.text
    assert {r.rule for r in furniture.removed} <= {"boilerplate", "timestamp", "caption", "share-bar", "follow-us"}
    assert clean_scraped(STORM, "none").text == STORM and clean_scraped(STORM, "none").removed == ()
    with pytest.raises(ConfigError, match="unknown cleaning mode 'all'; choose one of page, furniture, none"):
        clean_scraped(STORM, "all")


def test_ledes_that_end_in_export_debris_stay_at_the_top_of_the_page():
    lines = [
        "Two ferries collided in thick fog outside the harbour on Friday morning, the coastguard said.-",
        'The captain of the smaller ferry called the collision "a miracle that nobody died."',
        "Both vessels were towed to port.",
        "Investigators will interview the crews next week, the maritime authority said.",
    ]
    assert clean_text("\n".join(["Home", "News", *lines])).splitlines() == lines


UNPUNCTUATED = [
    "Residents of the valley say the new road has cut their commute to the city by almost an hour each way",
    "shop owners on the old high street report that trade has fallen since the bypass opened in the spring",
    "the council says it will spend two million euros on signs and parking to bring visitors back into town",
    "a bus service linking the villages to the station is due to start running on weekdays from next month",
]


def test_page_rules_that_would_remove_most_of_an_article_are_overruled_and_logged(caplog):
    # the lines have lost their full stops, so under a 'Latest news' heading they look like a headline list
    text = "\n".join([UNPUNCTUATED[0] + ".", "Latest news", *UNPUNCTUATED[1:], "Advertisement"])
    with caplog.at_level("WARNING", logger="qa.reading.clean"):
        scraped = clean_scraped(text)
    assert scraped.text.splitlines() == [UNPUNCTUATED[0] + ".", "Latest news", *UNPUNCTUATED[1:]]
    assert "related-list" in scraped.fallback
    assert [r.rule for r in scraped.removed] == ["boilerplate"], "only the certain furniture went"
    assert "related-list" in caplog.text and "kept the text with only furniture removed" in caplog.text


def test_a_real_headline_list_is_still_cut_without_the_safety_net():
    text = "\n".join([*ARTICLE_LINES, "Latest Stories", "Striker signs deal", "2 minutes -", "Rain expected", "3 minutes -"])
    scraped = clean_scraped(text)
    assert scraped.text.splitlines() == ARTICLE_LINES and scraped.fallback == ""


def test_a_last_sentence_that_begins_like_a_related_heading_stays():
    last = "Other complaints from the residents were thrown out by the court."
    assert clean_text("\n".join([*ARTICLE_LINES, last])).splitlines() == [*ARTICLE_LINES, last]


def test_short_sentences_and_cut_off_speech_at_the_edges_stay():
    lines = ["Order.", "The Minister must be heard, and members will come to order now.", "When a Minister offers to give way-", "Why?"]
    assert clean_text("\n".join(lines)).splitlines() == lines
