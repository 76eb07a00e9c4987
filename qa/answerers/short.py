"""Short answers: the person, number, date, place or organisation inside the answer sentence that a question asks for."""

from __future__ import annotations

import re

from qa.answerers.entities import Entity, EntityTagger
from qa.answerers.features import content_terms, short_kind
from qa.types import ShortAnswer

LABELS: dict[str, tuple[str, ...]] = {
    "age": ("DATE", "CARDINAL", "AGE"),
    "money": ("MONEY", "CARDINAL"),
    "number": ("CARDINAL", "QUANTITY", "MONEY", "PERCENT", "DATE", "TIME"),
    "duration": ("DATE", "TIME", "QUANTITY", "CARDINAL", "DURATION"),
    "time": ("DATE", "TIME"),
    "place": ("GPE", "LOC", "FAC", "NAME"),
    "organisation": ("ORG", "NORP", "NAME"),
    "person": ("PERSON", "ORG", "NORP", "NAME"),
}
_AGE = re.compile(r"\b(\d{1,3})(?:-year-old\b| years? old\b)|\baged? (\d{1,3})\b|, (\d{1,3}),|\bage of (\d{1,3})\b")
_DURATION = re.compile(r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centur(?:y|ies))\b", re.I)
_DURATION_SPAN = re.compile(
    r"\b(?:(?:about|around|nearly|almost|more than|up to|over|some)\s+)?(?:\d[\d,.]*|[a-z]+(?:-[a-z]+)?)\s+"
    r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)(?:\s+and\s+(?:\d+|[a-z]+)\s+(?:seconds?|minutes?|hours?))?\b",
    re.I,
)
# words that complete a bare number: "500 doctors", "25 basis points", "30 days"
_UNIT = re.compile(r"^(?:\s(?:million|billion|trillion|thousand|hundred|per cent|percent|basis points?|[a-z]+(?:-[a-z]+)?)){1,2}")
_UNIT_WORDS = frozenset(
    """people persons points percent metres meters kilometres kilometers miles km kg tonnes tons years months weeks days
    hours minutes seconds dollars euros pounds yen rupees votes seats troops soldiers people children students workers
    doctors police officers refugees migrants victims passengers residents members jobs homes houses cases deaths
    times runners countries""".split()
)


_COUNTED = re.compile(r"^\s(?:[A-Z][a-z]+\s)?([a-z]{3,}s)\b")
_NOT_COUNTED = frozenset("was has does is its his hers ours yours this thus plus less unless across always towards perhaps".split())


def short_answer(
    question: str, sentence: str, tagger: EntityTagger, *, known: str = "", kind: str = ""
) -> ShortAnswer | None:
    """The span of `sentence` that answers `question`, or None when it asks for no such thing or the sentence
    holds none. `known`: the conversation's earlier questions; a name they mention is not the answer. `kind`:
    what to look for when the question does not say ("and boston?" asks what the previous question asked)."""
    kind = short_kind(question) or kind
    if not kind:
        return None
    asked = content_terms(question + " " + known)
    named = kind in ("person", "organisation", "place")  # a name sharing a word with the question is its subject
    spans = [s for s in _spans(kind, sentence, tagger)
             if not (content_terms(s.text) and (content_terms(s.text) & asked if named else content_terms(s.text) <= asked))]
    if not spans:
        return None
    anchors = [m.start() for m in re.finditer(r"[A-Za-z0-9]+", sentence) if content_terms(m.group()) & asked]
    if kind == "number" and re.search(r"\bhow much\b", question, re.I):  # "how much": an amount of money first
        spans = [s for s in spans if s.label == "MONEY"] or spans
    best = min(spans, key=lambda s: (_distance(s, anchors), s.start))
    start, end = _complete(kind, sentence, best)
    start, end = _trim(sentence, start, end)
    return ShortAnswer(sentence[start:end], start, end, kind) if end > start else None


_LEAD = re.compile(r"^(?:only|just)\s+", re.I)


def _trim(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Currency signs and suffixes that belong to a number ("£130m", "92-page"), no leading "only"/"the",
    no possessive "'s" or closing punctuation."""
    while start > 0 and sentence[start - 1] in "£$€¥":
        start -= 1
    m = re.match(r"(?:m|bn|k|%|(?:-[A-Za-z]+)+|/[a-z]{1,2})\b", sentence[end:])
    if m and re.search(r"\d$", sentence[start:end]):
        end += m.end()
    m = re.match(r" or so\b", sentence[end:])  # "300 or so": the estimate is the answer
    if m and re.search(r"\d$", sentence[start:end]):
        end += m.end()
    m = _LEAD.match(sentence[start:end])
    if m and end - start > m.end():
        start += m.end()
    text = sentence[start:end]
    for tail in ("'s", "’s", ",", ".", '"', "'"):
        if text.endswith(tail) and len(text) > len(tail):
            end -= len(tail)
            text = sentence[start:end]
    return start, end


def _spans(kind: str, sentence: str, tagger: EntityTagger) -> list[Entity]:
    labels = LABELS[kind]
    found = [e for e in tagger.entities(sentence) if e.label in labels]
    if kind == "age":
        ages = [Entity(m.group(g), m.start(g), m.end(g), "AGE") for m in _AGE.finditer(sentence) for g in (1, 2, 3, 4) if m.group(g)]
        found = ages or [e for e in found if re.search(r"\d", e.text)]
    if kind == "duration":
        lasting = [e for e in found if _DURATION.search(e.text)]
        found = lasting or [Entity(m.group(), m.start(), m.end(), "DURATION") for m in _DURATION_SPAN.finditer(sentence)]
    if kind == "person" and any(e.label == "PERSON" for e in found):
        found = [e for e in found if e.label == "PERSON"]
    if kind == "number":  # a count, not a date, unless the sentence has no count
        found = [e for e in found if e.label not in ("DATE", "TIME")] or found
    if kind in ("number", "money"):  # "19 of the 63 seats": the count asked for comes first
        found = [e for e in found if not re.search(r"[\d\w]\s+(?:of|out of)\s+(?:the\s+)?$", sentence[: e.start])] or found
    return found


def _distance(span: Entity, anchors: list[int]) -> int:
    """Characters from the span to the nearest word of the question it shares (answers sit beside them)."""
    if not anchors:
        return 0
    return min(0 if span.start <= a < span.end else min(abs(a - span.start), abs(a - span.end)) for a in anchors)


def _complete(kind: str, sentence: str, span: Entity) -> tuple[int, int]:
    """A bare number gets the unit it counts ("30 days", "500 doctors", "59 passengers": the question set's writers
    highlight the noun too, even when the question names it); a person keeps the title before the name ("Sir")."""
    start, end = span.start, span.end
    if kind in ("number", "money") and span.label in ("CARDINAL", "NAME") or re.fullmatch(r"[\d,.]+", span.text):
        m = _UNIT.match(sentence[end:])
        if m:
            words = m.group().split()
            keep = 0
            for i, w in enumerate(words):
                if w.lower() in _UNIT_WORDS or (i == 0 and w.lower() == "basis"):
                    keep = i + 1
                else:
                    break
            if keep:
                end += len(" ".join(words[:keep])) + (len(m.group()) - len(m.group().lstrip()))
        if end == span.end:  # any plural noun it counts, maybe after one adjective: "236 patients", "three Turkish soldiers"
            m = _COUNTED.match(sentence[end:])
            if m and m.group(1).lower() not in _NOT_COUNTED:
                end += m.end()
    if kind in ("number", "money") and span.label == "MONEY":  # "$21 billion"
        m = re.match(r"\s(?:million|billion|trillion|thousand)\b", sentence[end:])
        if m:
            end += m.end()
    if kind == "person" and span.label == "PERSON":
        title = re.search(r"\b(?:Sir|Dame|Lord|Lady)\s+$", sentence[:start])
        if title:
            start = title.start()
    return start, end
