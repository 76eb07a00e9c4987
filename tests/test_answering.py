"""The extractive answerer end to end with the real MiniLM on a small corpus the tests write."""

from __future__ import annotations

import json

import pytest
from answer_corpus import ANSWERABLE, CLUTTER, OTHERS, PUTIN_PAGE, UNANSWERABLE, ZELENSKY, write_putin_page

from qa.answerers import AnswerSettings
from qa.answerers import ExtractiveAnswerer as Answerer
from qa.answerers.extractive import ABSTAIN_TEXT
from qa.answerers.features import content_terms, is_prose, missing_numbers, numbers
from qa.cli import main
from qa.conversation import Turn, is_followup, rewrite, turns_from_messages
from qa.errors import ConfigError
from qa.ingest import ingest
from qa.reading.sources import read_sources
from qa.retrieval import Retriever
from qa.types import Answer, Article


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, minilm):
    """An index of the scraped Putin page (read like a user's file) and five other articles."""
    root = tmp_path_factory.mktemp("answer-corpus")
    items = list(read_sources([str(write_putin_page(root))]))
    assert all(isinstance(i, Article) for i in items)
    putin = items[0]
    ingest([putin, ZELENSKY, *OTHERS], root / "index", encoder=minilm)
    return root / "index", putin


@pytest.fixture(scope="module")
def answerer(corpus, minilm):
    return Answerer(Retriever.load(corpus[0], encoder=minilm))


def _article_id(corpus, key: str) -> str:
    return corpus[1].id if key == "putin" else key


def check_offsets(answerer: Answerer, answer: Answer) -> None:
    """Every excerpt is the article text at its offset; the answer span is the answer, inside the excerpt."""
    for c in answer.citations:
        text = answerer.retriever.article(c.article_id).text
        assert text[c.excerpt_start : c.excerpt_start + len(c.excerpt)] == c.excerpt
        assert 0 <= c.answer_start <= c.answer_end <= len(c.excerpt)
    if not answer.abstained:
        first = answer.citations[0]
        assert first.excerpt[first.answer_start : first.answer_end] == answer.text


def test_seed_scenario_answers_with_the_ceasefire_sentence_and_never_clutter(answerer, corpus):
    answer = answerer.ask("What did Putin reject?", threshold=0.0)  # the choice; abstention: the test below
    assert not answer.abstained
    assert answer.text.startswith("President Vladimir Putin has rejected an immediate and full ceasefire")
    assert answer.citations[0].article_id == corpus[1].id
    check_offsets(answerer, answer)
    for c in answer.citations:
        for junk in CLUTTER:
            assert junk not in c.excerpt and junk not in answer.text


def test_clutter_is_never_an_answer_even_when_it_reached_the_index(tmp_path, minilm):
    raw = Article(id="raw-page", title="Putin ceasefire", text=PUTIN_PAGE)  # not cleaned on purpose
    ingest([raw, *OTHERS[:2]], tmp_path / "index", encoder=minilm)
    answerer = Answerer(Retriever.load(tmp_path / "index", encoder=minilm))
    for question in ("What did Putin reject?", "What are the latest stories?", "Audio by Carbonatix", "2 minutes"):
        answer = answerer.ask(question)
        check_offsets(answerer, answer)
        shown = [answer.text] + [c.excerpt for c in answer.citations]
        assert not any(junk in s for junk in CLUTTER for s in shown), (question, shown)
    assert "rejected an immediate and full ceasefire" in answerer.ask("What did Putin reject?").text


@pytest.mark.parametrize("question,phrase,key", ANSWERABLE)
def test_right_sentence_with_exact_offsets(answerer, corpus, question, phrase, key):
    answer = answerer.ask(question, threshold=0.0)  # the choice; abstention is pinned below
    assert not answer.abstained, (question, answer.score)
    assert phrase in answer.text
    assert answer.citations[0].article_id == _article_id(corpus, key)
    assert answer.confidence == answer.score and 0.0 < answer.confidence < 1.0
    check_offsets(answerer, answer)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_with_nearest_passages_when_the_articles_do_not_say(answerer, question):
    answer = answerer.ask(question)
    assert answer.abstained, (question, answer.text, answer.score)
    assert answer.text == ABSTAIN_TEXT
    assert answer.confidence < answerer.calibration.threshold
    assert answer.citations, "the nearest passages are still shown"
    assert all(c.answer_start == c.answer_end for c in answer.citations), "no span is marked as an answer"
    check_offsets(answerer, answer)


def test_default_threshold_separates_the_carried_question_set(answerer):
    """The calibrated threshold (fitted on the benchmark's dev split) lies between these questions' probabilities."""
    loose = [answerer.ask(q, threshold=0.0).score for q, _, _ in ANSWERABLE]
    strict = [answerer.ask(q, threshold=0.0).score for q in UNANSWERABLE]
    threshold = answerer.calibration.threshold
    assert max(strict) < threshold, (sorted(strict), threshold)
    assert sum(p >= threshold for p in loose) >= 8, (sorted(loose), threshold)  # fitted on NewsArticles: cautious here
    assert min(loose) > max(strict)
    # and the threshold is a setting: at 1 everything abstains, at 0 nothing does
    assert answerer.ask("Who won the Berlin marathon?", threshold=1.0).abstained
    assert not answerer.ask(UNANSWERABLE[0], threshold=0.0).abstained


@pytest.mark.xfail(strict=True, reason="known gap (issue 21): on this seven-article index the reader's best logit for "
                   "these two well-formed questions is about 2 (the right sentence first, far ahead of the next), which "
                   "the dev calibration maps to 0.26-0.32, under its threshold of 0.333; weighing the lead over the next "
                   "candidate raised the AUC on dev but not the questions right, so it was not chosen (docs/answers.md)")
def test_well_formed_questions_on_a_small_index_are_answered_at_the_calibrated_threshold(answerer):
    for question, phrase in (("What did Putin reject?", "full ceasefire"), ("Who won the 2024 Berlin marathon?", "Grace Wanjiru")):
        answer = answerer.ask(question)
        assert not answer.abstained and phrase in answer.text, (question, answer.confidence)


def test_follow_ups_use_the_conversation(answerer, corpus):
    first = answerer.ask("What did Putin reject?", threshold=0.0)
    history = [Turn("What did Putin reject?", first.text)]  # no article or offsets: the answer is found by its text
    zelensky = answerer.ask("What did Zelensky say about it?", history, threshold=0.0)
    assert not zelensky.abstained
    assert zelensky.citations[0].article_id == "zelensky-reaction"
    assert "refusal of a full ceasefire" in zelensky.text or "support a pause on strikes" in zelensky.text  # both said by him
    why = answerer.ask("Why?", history, threshold=0.0)
    assert "ceasefire" in why.query and why.citations[0].article_id == corpus[1].id
    assert not why.abstained  # which sentence: tests/test_answerers.py, a known gap
    check_offsets(answerer, why)
    # without the conversation, "Why?" has nothing to go on
    assert answerer.ask("Why?").abstained


def test_questions_that_cannot_be_asked_are_clear_errors(answerer):
    for bad in ("", "   "):
        with pytest.raises(ConfigError, match="empty"):
            answerer.ask(bad)
    with pytest.raises(ConfigError, match="10,000 characters"):
        answerer.ask("x" * 10_000)
    with pytest.raises(ConfigError, match="threshold"):
        AnswerSettings(threshold=2.0)
    with pytest.raises(ConfigError, match="mode"):
        answerer.ask("Who won?", mode="telepathy")


def test_sentence_cache_is_saved_and_reused(corpus, minilm):
    index, _ = corpus
    first = Answerer(Retriever.load(index, encoder=minilm))
    assert first.warm() > 0
    assert list((index / "sentence-cache").glob("*.npz"))
    again = Answerer(Retriever.load(index, encoder=minilm))
    assert again.warm() == 0, "a new answerer starts from the saved vectors"
    assert again.ask("Who won the Berlin marathon?").text == first.ask("Who won the Berlin marathon?").text


def test_qa_ask_prints_the_answer_and_json(corpus, capsys):
    index, _ = corpus
    assert main(["--index", str(index), "ask", "What interest rate did Norges Bank set?", "-k", "3", "--threshold", "0"]) == 0
    out = capsys.readouterr().out
    assert "4.5 percent" in out and "Sources:" in out and "Norway's central bank raises interest rate" in out
    assert main(["--index", str(index), "ask", "What did Putin reject?", "--json", "--threshold", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["abstained"] is False and "full ceasefire" in data["text"]
    c = data["citations"][0]
    assert c["excerpt"][c["answer_start"] : c["answer_end"]] == data["text"]
    assert main(["--index", str(index), "ask", ""]) == 1
    assert "empty" in capsys.readouterr().err


def test_qa_ask_filters_the_articles_it_reads(corpus, capsys):
    index, _ = corpus
    question = ["--index", str(index), "ask", "Who won the Berlin marathon?", "--json"]
    assert main(question + ["--source", "sport.example.de", "--since", "2024-09-01"]) == 0
    assert "Grace Wanjiru" in json.loads(capsys.readouterr().out)["text"]
    assert main(question + ["--until", "2024-09-01"]) == 0  # the race was reported on 2024-09-29
    data = json.loads(capsys.readouterr().out)
    assert data["abstained"] and "match the filters" in data["text"] and data["citations"] == []
    assert main(question + ["--article", "peru-frog"]) == 0
    assert all(c["article_id"] == "peru-frog" for c in json.loads(capsys.readouterr().out)["citations"])
    assert main(question + ["--since", "29/09/2024"]) == 1
    assert "ISO date" in capsys.readouterr().err


# -- fast unit tests: no model ---------------------------------------------------------------
def test_follow_up_detection_and_rewriting():
    assert is_followup("Why?") and is_followup("What did Zelensky say about it?") and is_followup("And then?")
    assert not is_followup("Who won the Berlin marathon?")
    history = [Turn("What did Putin reject?", "President Vladimir Putin has rejected a full ceasefire in Ukraine.")]
    query = rewrite("What did Zelensky say about it?", history)
    assert query.startswith("What did Zelensky say about it?") and "Putin reject" in query and "ceasefire" in query
    assert rewrite("Who won the Berlin marathon?", history) == "Who won the Berlin marathon?"
    assert rewrite("Why?", [Turn("What did Putin reject?", ABSTAIN_TEXT)]) == "Why? What did Putin reject?"
    chained = rewrite("When?", [Turn("Why?", "Because.", query="Why? What did Putin reject?")])
    assert "Putin reject" in chained


def test_turns_from_chat_messages():
    messages = [
        {"role": "user", "content": "What did Putin reject?"},
        {"role": "assistant", "content": [{"type": "text", "text": "A full ceasefire."}]},
        {"role": "user", "content": "Why?"},
    ]
    assert turns_from_messages(messages) == [Turn("What did Putin reject?", "A full ceasefire.")]


def test_prose_filter():
    assert not is_prose("Audio By Carbonatix") and not is_prose("2 minutes -") and not is_prose("Latest Stories")
    assert not is_prose("Farmers protest over rising fertiliser prices in the north")
    assert is_prose("Putin rejected a full ceasefire.")


def test_unrelated_articles_are_not_shown_as_sources(answerer, corpus):
    answer = answerer.ask("What did Putin reject?", k=6)  # k = every article: the unrelated ones are retrieved too
    assert not answer.abstained
    assert {c.article_id for c in answer.citations} == {corpus[1].id, "zelensky-reaction"}
    everything = answerer.ask("What did Putin reject?", k=6, min_support=0.0)
    assert len(everything.citations) == 3, "min_support=0 cites every passage read, up to max_citations"


def test_a_number_the_articles_never_mention_means_no_answer(answerer):
    assert answerer.ask("Who won the Berlin marathon?").text.startswith("Kenyan runner Grace Wanjiru won")
    wrong_year = answerer.ask("Who won the 2031 Berlin marathon?")
    assert wrong_year.abstained, "the marathon article never mentions 2031"
    assert answerer.ask("Who won the 2024 Berlin marathon?", threshold=0.0).text.startswith("Kenyan runner"), "2024: its year"
    assert not answerer.ask("How many runners, 45,000 or more, took part in Berlin?").abstained


def test_question_words_match_their_inflections_but_not_their_lookalikes():
    assert content_terms("discuss") == content_terms("discussed") == content_terms("discusses") == {"discuss"}
    assert content_terms("crisis virus") == content_terms("crisis viruses")
    assert content_terms("cats runs") == content_terms("cat run")


def test_missing_numbers_reads_digits_and_dates():
    assert numbers("Nearly 45,000 runners, 1.5 hours, in 2024.") == {"45000", "1.5", "2024"}
    assert missing_numbers("Who won the 2018 World Cup?", "The 2017 World Cup in bobsleigh.") == 1
    assert missing_numbers("What happened in 2017?", "It happened last year.", published="2017-03-19") == 0
    assert missing_numbers("Who won the World Cup?", "Nothing to see.") == 0


def test_a_quote_beside_the_answer_is_not_glued_to_it(tmp_path, minilm):
    call = Article(
        id="call",
        title="Leaders discuss energy truce",
        text=(
            "Ukraine said it was open to a pause in strikes on power plants.\n"
            '"I think we will have a conversation with President Trump and we will know in detail what the Russians '
            'offered the Americans," Zelensky said.\n'
            "Trump posted on social media that Tuesday's call with the Russian leader was \"very good and productive\".\n"
            "The White House gave no further details."
        ),
    )
    ingest([call, *OTHERS], tmp_path / "index", encoder=minilm)
    answer = Answerer(Retriever.load(tmp_path / "index", encoder=minilm)).ask("What did Trump say about the call?")
    assert answer.text.startswith("Trump posted on social media that Tuesday's call")
    assert "Zelensky said" not in answer.text, "the Zelensky quote before it adds no word of the question"
