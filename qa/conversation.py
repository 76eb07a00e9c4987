"""Follow-up questions: turn "Why?" or "What did Zelensky say about it?" into a self-contained query."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from qa.types import Answer

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
# Words that point back at an earlier turn.
_ANAPHORA = frozenset(
    "it its it's that this these those they them their theirs he him his she her hers there such so the same".split()
)
_FILLER = frozenset(
    """a an the and or but if of to in on at by for with from as about is are was were be been do does did
    has have had will would can could may might should it its this that these those there he him his she her
    they them their what which who whom whose when where why how so then also just not no yes ok okay
    please tell me more say said""".split()
)
# How many words of the previous answer are carried into the query.
MAX_ANSWER_WORDS = 10
ABSTAINED = "I couldn't find this in the articles."


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: what was asked, the query actually searched, and the answer given."""

    question: str
    answer: str = ""
    query: str = ""  # the rewritten query, when the question was itself a follow-up
    article_id: str = ""  # where the answer was quoted from ("" when unknown or abstained)
    start: int = -1  # the answer's character span in that article's text (-1 when unknown)
    end: int = -1

    @classmethod
    def of(cls, question: str, answer: Answer) -> Turn:
        """The turn an answer makes: its text (a written answer's without its markers) and, when it quoted an
        article (or a written one cites one), where in it."""
        if answer.style == "written" and not answer.abstained:
            from qa.answerers.markers import strip_markers

            answer = replace(answer, text=strip_markers(answer.text).strip())
        if not answer.citations:
            return cls(question, "", answer.query)
        if answer.abstained:  # no answer, but the nearest passage says what the conversation is about
            return cls(question, "", answer.query, answer.citations[0].article_id)
        c = answer.citations[0]
        if c.answer_end <= c.answer_start:
            return cls(question, answer.text, answer.query)
        start = c.excerpt_start + c.answer_start
        return cls(question, answer.text, answer.query, c.article_id, start, start + (c.answer_end - c.answer_start))


def is_followup(question: str) -> bool:
    """True when a question leans on earlier turns: it is very short or points back with a pronoun."""
    words = [w.lower() for w in _WORD.findall(question)]
    content = [w for w in words if w not in _FILLER]
    if len(content) <= 1:
        return True  # "Why?", "When was that?", "And Zelensky?"
    return any(w in _ANAPHORA and w not in ("the", "so") for w in words)


def rewrite(question: str, history: Sequence[Turn]) -> str:
    """A self-contained query: a follow-up gets the previous question and the previous answer's key words."""
    if not history or not is_followup(question):
        return question
    last = history[-1]
    previous = last.query or last.question
    seen = {w.lower() for w in _WORD.findall(question + " " + previous)}
    carried: list[str] = []
    if last.answer and not last.answer.startswith(ABSTAINED):
        for word in _WORD.findall(last.answer):
            low = word.lower()
            if low in seen or low in _FILLER or len(low) < 3:
                continue
            seen.add(low)
            carried.append(word)
            if len(carried) == MAX_ANSWER_WORDS:
                break
    return " ".join(part for part in (question, previous, " ".join(carried)) if part)


def turns_from_messages(messages: Iterable[Any]) -> list[Turn]:
    """Turns from a chat history in messages form ([{"role": "user", "content": ...}, ...]) or pairs."""
    turns: list[Turn] = []
    pending: str | None = None
    for message in messages or ():
        if isinstance(message, (list, tuple)) and len(message) == 2:
            turns.append(Turn(_text(message[0]), _text(message[1])))
            continue
        role = message.get("role") if isinstance(message, dict) else getattr(message, "role", None)
        content = _text(message.get("content") if isinstance(message, dict) else getattr(message, "content", ""))
        if role == "user":
            if pending is not None:
                turns.append(Turn(pending))
            pending = content
        elif role == "assistant" and pending is not None:
            turns.append(Turn(pending, content))
            pending = None
    return turns


def _text(content: Any) -> str:
    """Plain text of a message's content, whatever shape the chat component gave it."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text(part) for part in content).strip()
    return str(content)
