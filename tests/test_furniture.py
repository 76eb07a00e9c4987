"""Furniture inside a line is cut out and named; the prose around it, and prose that only resembles it, stays."""

from __future__ import annotations

import pytest

from qa.reading.chunking import split_sentences
from qa.reading.clean import clean_scraped, clean_text

PROSE = (
    "The port authority in Gdansk said on Tuesday that container traffic rose by a fifth last year. "
    "Officials credited new rail links to the south of the country and a deeper channel for large ships. "
    '"We are running out of quay space," the authority\'s director told reporters.'
)

# (what trails the prose on its one line, the rule that removes it)
TAILS = [
    ("Send Facebook Twitter Google+ Whatsapp Tumblr linkedin Digg reddit Permalink http://p.example/2Rx7k", "share-bar"),
    ("mk/ls (AFP/Reuters)", "agency-code"),
    ("rt/ip -", "agency-code"),
    ("jo, mk/ls-(dpa, AP,-Reuters) - -", "agency-code"),
    ("pk (with dpa)", "agency-code"),
    ("(Reuters, AP)", "agency-code"),
    ("You can follow our Baltic desk on oTwitter and Facebook.", "follow-us"),
    ("Follow us on Facebook, on Twitter @PortNewsDesk, or on Instagram at portnewsdesk.", "follow-us"),
    ("By @harbourwatch http://nyti.ms/3xYz9Q", "link"),
    ("Read more: https://t.co/Ab12Cd34 pic.twitter.com/Zz99Yy88", "link"),
    ("Read: How the Baltic ports compete for Asian cargo", "teaser"),
    ("WATCH: Inside the new container terminal", "teaser"),
    ("Source:-News agencies", "credit"),
    ("janekowalska@portdaily.example (Port Daily Weekly 03/02/2021 page14)", "credit"),
    ("Author: Jana Kowalska", "credit"),
    ("Never miss a thing. Sign up for breaking news alerts delivered straight to your inbox.", "sign-up"),
    ("Share this slide: Get the week's shipping news in one email. Learn more", "sign-up"),
    ("Copyright 2021 The Associated Press. All rights reserved. This material may not be published, broadcast, rewritten or redistributed.", "credit"),
    ("(Reporting by Jana Kowalska; Editing by Tom Hale)", "credit"),
    ('"?Follow Jana Kowalska at http://twitter.com/jkowalska', "follow-us"),
    ("Or follow us on Facebook and Instagram. -", "follow-us"),
]


@pytest.mark.parametrize("tail,rule", TAILS, ids=[rule + ":" + tail[:20] for tail, rule in TAILS])
def test_furniture_closing_a_one_line_article_is_cut_and_the_prose_kept(tail, rule):
    scraped = clean_scraped(f"{PROSE} {tail}", "furniture")
    assert scraped.text == PROSE
    assert {r.rule for r in scraped.removed} == {rule}
    assert all(not r.whole_line and r.line == 1 for r in scraped.removed)


def test_several_furniture_pieces_on_one_line_all_go_in_any_order():
    line = f"{PROSE} Read: Will ports go electric? ab/cd Send Facebook Twitter Google+ Whatsapp Permalink http://p.example/9 -"
    scraped = clean_scraped(line, "page")
    assert scraped.text == PROSE
    assert [r.rule for r in scraped.removed] == ["share-bar", "agency-code", "teaser"]


def test_a_page_of_the_same_furniture_one_sentence_per_line():
    text = f"{PROSE} Follow us on Twitter @PortNewsDesk. mk/ls (AFP/Reuters)"
    lines = "\n".join(text[s:e] for s, e in split_sentences(text))
    scraped = clean_scraped(lines)
    assert scraped.text.split("\n") == [PROSE[s:e] for s, e in split_sentences(PROSE)]
    assert {rule for r in scraped.removed for rule in r.rule.split("+")} == {"agency-code", "follow-us"}
    assert all(r.whole_line for r in scraped.removed), "a line of furniture only goes as a whole"


def test_codes_after_a_credit_and_teasers_in_a_row_go():
    credit = clean_scraped(f"{PROSE} Author: Jana Kowalska ab/cd (AFP, Port Authority of Gdansk) -", "furniture")
    assert credit.text == PROSE and [r.rule for r in credit.removed] == ["agency-code", "credit"]
    teasers = f"{PROSE} READ: Ports race to go electric READ: The last shipyard on the Vistula"
    assert clean_text(teasers, "furniture") == PROSE
    glued = f"{PROSE} READ: Ports race to go electric The minister opened the terminal on Monday."
    assert clean_text(glued, "furniture") == glued, "a teaser that runs into the next sentence stays: its end is unknown"


def test_an_advertisement_marker_between_sentences_is_cut():
    first, second = PROSE.split(". ", 1)
    scraped = clean_scraped(f"{first}. Advertisement {second}", "furniture")
    assert scraped.text == PROSE and [r.rule for r in scraped.removed] == ["boilerplate"]
    assert clean_text(f"{first}. Advertisement revenue fell by a third.", "furniture").endswith("Advertisement revenue fell by a third.")


def test_lines_of_share_buttons_tags_and_handles_go_from_a_scraped_page():
    lines = [PROSE[s:e] for s, e in split_sentences(PROSE)]
    page = [lines[0], "Share this with", "Email", "Facebook", "WhatsApp", "Copy this link", *lines[1:],
            "Twitter: @PortNewsDesk", "Tags: Ports, Shipping, Baltic", "Related Topics", "Gdansk", "Trade", "2h ago"]
    scraped = clean_scraped("\n".join(page), "furniture")
    assert scraped.text.splitlines() == lines + ["Related Topics", "Gdansk", "Trade"], "furniture mode keeps the topic list"
    assert clean_text("\n".join(page)).splitlines() == lines, "the page rules take the topic list too"


LOOKALIKES = [
    "The speed limit on the bridge is 50 km/h and/or lower in fog, police said.",
    "Follow the money, the senator said on Twitter after the vote.",
    "He posted the video on Facebook, Twitter and Instagram on Monday.",
    "The report is at https://gov.example/report and runs to 300 pages.",
    "Read: the word the teacher wrote on the board, and then the class began to laugh about it.",
    "Source: the finance ministry, which published the figures on Friday.",
    "Sign up for the draft opened in March, and 3,000 people registered.",
    "A Reuters/Ipsos poll found that most voters backed the plan.",
    "Copyright holders sued the streaming service over the leaked films.",
    "Twitter is down for thousands of users in the region.",
]


@pytest.mark.parametrize("sentence", LOOKALIKES)
def test_prose_that_looks_like_furniture_is_kept(sentence):
    text = f"{PROSE} {sentence}"
    assert clean_text(text, "furniture") == text
    assert clean_text(text) == text


def test_a_credit_opening_a_caption_goes_and_the_caption_sentence_stays():
    text = f"Photos by Li Wen / For Port Daily - Cranes unload a ship at the new terminal in March. {PROSE}"
    scraped = clean_scraped(text, "furniture")
    assert scraped.text == f"Cranes unload a ship at the new terminal in March. {PROSE}"
    assert [(r.rule, r.text) for r in scraped.removed] == [("credit", "Photos by Li Wen / For Port Daily")]
    glued = clean_text(f"{PROSE} Photo by Ann Lee Along the quay, crowds watched the first ship dock.", "furniture")
    assert glued == f"{PROSE} Along the quay, crowds watched the first ship dock.", "a credit never takes the next sentence's first word"


def test_a_dateline_keeps_its_lede_in_both_forms():
    lede = "Investigators seized a collection of paintings worth more than 200 mln rubles from a former mayor, officials said."
    one_line = f"KAZAN, March 3. /TASS/. {lede} The case goes to court in May."
    assert clean_text(one_line) == one_line
    per_line = "\n".join(["KAZAN, March 3.", "/TASS/.", lede, "The case goes to court in May."])
    assert lede in clean_text(per_line).split("\n")
