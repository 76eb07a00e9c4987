"""Follow-up questions: what their pronouns refer to, and where the previous answer was (article, sentence)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from qa.answerers.entities import EntityTagger
from qa.answerers.features import missing_names, short_kind, written_names
from qa.conversation import ABSTAINED, Turn, is_followup, rewrite

if TYPE_CHECKING:
    from qa.answerers.sentence_cache import ArticleSentences
    from qa.retrieval import Retriever

_PERSON = re.compile(r"\b(?:he|him|his|she|her|hers)\b", re.I)
_GROUP = re.compile(r"\b(?:they|them|their|theirs)\b", re.I)
_THERE = re.compile(r"\b(?:there)\b", re.I)
_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about|same for|and in|and for|and the)\b", re.I)
PEOPLE, GROUPS, PLACES = ("PERSON", "NAME"), ("ORG", "NORP", "NAME"), ("GPE", "LOC", "FAC", "NAME")


@dataclass(frozen=True)
class Context:
    """A question in its conversation: is it a follow-up, what it asks with its references resolved, where the
    previous answer lies."""

    question: str  # as asked
    resolved: str  # pronouns replaced by the names they refer to ("Why did he reject it?" -> "Why did Putin reject it?")
    query: str  # what is searched: the resolved question, with the previous turn's words for a follow-up
    followup: bool  # asked in a conversation: the previous answer's article and neighbourhood are candidates too
    previous: Turn | None = None  # the last turn that got an answer
    article_id: str = ""  # the previous answer's article and sentence index ("" / -1 when unknown)
    sentence: int = -1
    known: str = ""  # the conversation's earlier questions (a name the user already said is not the answer)
    explicit: bool = False  # it points back by itself ("why?", "what did she say about it?"): the query is rewritten
    kind: str = ""  # the short answer an elliptical follow-up ("and boston?") asks for: the previous question's


def context(
    question: str,
    history: Sequence[Turn],
    retriever: Retriever,
    sentences: ArticleSentences,
    tagger: EntityTagger,
    *,
    rewrite_followups: bool = True,
) -> Context:
    """The question's context in the conversation `history` (oldest turn first). Any question asked after
    others may lean on them ("how many lost power?"): the previous answer's article is searched too, and the
    scoring model weighs staying there against the question's own evidence."""
    if not history or not rewrite_followups:
        return Context(question, question, question, False)
    explicit = is_followup(question)
    answered = [t for t in history if t.answer and not t.answer.startswith(ABSTAINED)]
    previous = answered[-1] if answered else None
    resolved = resolve_references(question, history, tagger)
    query = rewrite(resolved, history) if explicit else resolved
    if previous is not None and previous is history[-1]:
        article_id, sentence = locate(previous, retriever, sentences)
    else:  # the last turn found no answer: stay with the article of its nearest passage, if it had one
        article_id, sentence = history[-1].article_id, -1
    if article_id:  # a question naming someone that article never mentions has moved on ("and Zelensky?")
        text, _ = sentences.get(article_id)
        if missing_names(written_names(resolved), text):
            if not explicit:  # and one that does not point back either is a new question
                return Context(question, question, question, False)
            article_id, sentence = "", -1
    known = " ".join(t.question for t in history[-3:])
    kind = "" if short_kind(question) or not _ELLIPSIS.search(question) else short_kind(history[-1].question)
    return Context(question, resolved, query, True, previous, article_id, sentence, known, explicit, kind)


def resolve_references(question: str, history: Sequence[Turn], tagger: EntityTagger) -> str:
    """The question with he/she/they/there replaced by the last person, group or place the conversation named."""
    if not history:
        return question
    last = history[-1]
    texts = [last.question, last.answer if not last.answer.startswith(ABSTAINED) else ""]
    ents = [e for text in texts if text for e in tagger.entities(text)]

    def first(labels: tuple[str, ...]) -> str:
        return next((e.text for e in ents if e.label in labels), "")

    out = question
    for pattern, labels in ((_PERSON, PEOPLE), (_GROUP, GROUPS), (_THERE, PLACES)):
        name = first(labels)
        if name and pattern.search(out) and name.lower() not in out.lower():
            out = pattern.sub(lambda m: _possessive(m.group(), name), out, count=1)
    return out


def _possessive(pronoun: str, name: str) -> str:
    return f"{name}'s" if pronoun.lower() in ("his", "hers", "their", "theirs") else ("in " + name if pronoun.lower() == "there" else name)


def locate(turn: Turn, retriever: Retriever, sentences: ArticleSentences) -> tuple[str, int]:
    """(article id, sentence index) of an earlier answer: from the turn when it says, else found by its text."""
    article_id, start = turn.article_id, turn.start
    if not article_id or start < 0:
        hits = retriever.search(turn.answer[:1000], 3, mode="bm25")
        for hit in hits:
            text, _ = sentences.get(hit.article_id)
            start = text.find(turn.answer)
            if start >= 0:
                article_id = hit.article_id
                break
        else:
            return "", -1
    _, spans = sentences.get(article_id)
    index = next((i for i, (s, e) in enumerate(spans) if s <= start < e), -1)
    return (article_id, index) if index >= 0 else ("", -1)
