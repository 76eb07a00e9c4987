"""Page clutter is removed from scraped text and HTML; every sentence of the article stays."""

from __future__ import annotations

from qa.clean import clean_text, extract_html

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
