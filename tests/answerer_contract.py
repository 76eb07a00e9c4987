"""The contract every answerer passes (qa.answerers.AnswererProtocol): subclass `AnswererContract` and give it an
`answerer` fixture over the shared test corpus (see tests/test_answerers.py for the extractive one)."""

from __future__ import annotations

import threading

import pytest

from qa.answerers import AnswererProtocol, final_answer
from qa.conversation import Turn
from qa.errors import ConfigError
from qa.types import Answer, TextDelta

ANSWERABLE = ["What did Putin reject?", "How much will the Lyon bike lane project cost?", "Who won the Berlin marathon?"]
UNANSWERABLE = ["Who won the Nobel Prize in Literature?", "How tall is the Eiffel Tower?"]


def check_evidence(answerer: AnswererProtocol, answer: Answer) -> None:
    """Excerpts are the article text at their offsets; spans lie inside them; a short answer lies inside the text; a
    runner-up is a verbatim span of its article, marked in one of the excerpts and different from the answer."""
    for c in answer.citations:
        article = answerer.retriever.article(c.article_id)
        assert article is not None and article.text[c.excerpt_start : c.excerpt_start + len(c.excerpt)] == c.excerpt
        assert 0 <= c.answer_start <= c.answer_end <= len(c.excerpt)
    if answer.short is not None:
        assert answer.text[answer.short.start : answer.short.end] == answer.short.text
    if answer.runner_up is not None:
        second = answer.runner_up
        article = answerer.retriever.article(second.article_id)
        assert article is not None and article.text[second.start : second.end] == second.text != answer.text
        assert any(c.excerpt[c.runner_up_start : c.runner_up_end] == second.text for c in answer.citations)


class AnswererContract:
    """Behaviour shared by every answer style."""

    def test_it_is_an_answerer(self, answerer):
        assert isinstance(answerer, AnswererProtocol) and answerer.style in ("quoted", "written")

    @pytest.mark.parametrize("question", ANSWERABLE)
    def test_answers_with_exact_evidence(self, answerer, question):
        answer = answerer.ask(question, threshold=0.0)  # the evidence of the choice; abstaining is tested on its own
        assert isinstance(answer, Answer) and not answer.abstained and answer.citations
        assert 0.0 <= answer.confidence <= 1.0
        check_evidence(answerer, answer)

    @pytest.mark.parametrize("question", UNANSWERABLE)
    def test_abstains_when_the_articles_do_not_say(self, answerer, question):
        answer = answerer.ask(question)
        assert answer.abstained and all(c.answer_start == c.answer_end for c in answer.citations)
        check_evidence(answerer, answer)

    def test_stream_ends_with_exactly_one_answer(self, answerer):
        events = list(answerer.stream("Who won the Berlin marathon?"))
        assert events and isinstance(events[-1], Answer)
        assert all(isinstance(e, TextDelta) for e in events[:-1])
        answer = final_answer(iter(events))
        streamed = "".join(e.text for e in events[:-1])
        assert not streamed or answer.fallback or streamed == answer.text
        assert answer.text == answerer.ask("Who won the Berlin marathon?").text

    def test_follow_ups_take_the_conversation(self, answerer):
        first = answerer.ask("What did Putin reject?", threshold=0.0)
        follow = answerer.ask("What did Zelensky say about it?", [Turn.of("What did Putin reject?", first)], threshold=0.0)
        assert not follow.abstained and follow.text != first.text
        check_evidence(answerer, follow)

    def test_bad_questions_are_clear_errors(self, answerer):
        for bad in ("", "   ", "x" * 5000):
            with pytest.raises(ConfigError):
                answerer.ask(bad)
            with pytest.raises(ConfigError):
                list(answerer.stream(bad))

    def test_safe_to_call_from_many_threads(self, answerer):
        questions = ANSWERABLE + UNANSWERABLE
        expected = {q: answerer.ask(q).text for q in questions}
        got: dict[str, list[str]] = {q: [] for q in questions}
        errors: list[BaseException] = []

        def worker(offset: int) -> None:
            try:
                for q in questions[offset:] + questions[:offset]:
                    got[q].append(answerer.ask(q).text)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert all(texts == [expected[q]] * 4 for q, texts in got.items())
