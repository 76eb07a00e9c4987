"""Cheap text features of questions and sentences: question-word coverage, answer type, cues, names, prose or clutter."""

from __future__ import annotations

import re

from qa.lexical import STOPWORDS

_WORD = re.compile(r"[A-Za-z0-9]+(?:'[a-z]+)?")
_STOPWORDS = STOPWORDS | frozenset(
    """it's s t said says say tell told according much many any all some such other""".split()
)
# A sentence that is page furniture rather than prose: "2 minutes -", a bare headline, "Audio By ...".
_TIMESTAMP = re.compile(r"^\d+\s+(?:second|minute|min|hour|hr|day|week|month)s?\b", re.I)
_PROSE_END = re.compile(r"[.!?…\"'”’)\]]$")

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|half|percent"
)
_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow"
_TIME = re.compile(
    rf"\b(?:1[89]\d\d|20\d\d|{_MONTHS}|{_DAYS}|(?:last|next|this) (?:week|month|year)|morning|evening|night|noon|"
    rf"midnight|\d{{1,2}}(?:[.:]\d\d)? ?(?:am|pm|a\.m\.|p\.m\.))",
    re.I,
)
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_REASON = re.compile(
    r"\b(?:because|since|due to|as a result|so that|in order to|argued|would (?:let|allow|mean)|reasons?|"
    r"caused?|led to|in response|aimed at|to prevent|to stop)\b",
    re.I,
)
_AGE = re.compile(r"\b\d{1,3}-year-old\b|, \d{1,3},|\baged? (?:of )?\d{1,3}\b|\bage of \d{1,3}\b|\bat \d{1,3}\b")
_PLACE = re.compile(r"\b(?:in|at|near|from|to|into|off|across|outside) (?:(?:the|its|his|her|their|a|an) )?(?:[a-z-]+ )?[A-Z][a-z]+")
_QUESTION_TYPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bhow old\b|\b(?:what|which) age\b", re.I), "age"),
    (re.compile(r"\bhow (?:much|many|long|old|far|tall|big|large|high|often)\b|\bwhat (?:percentage|percent|number|amount)\b", re.I), "number"),
    (re.compile(r"\bwhen\b|\bwhat (?:year|day|date|time|month)\b|\bat what time\b", re.I), "time"),
    (re.compile(r"\bwho(?:m|se)?\b|\bwhat is (?:the|its|his|her|their) name\b|\bcalled\b", re.I), "name"),
    (re.compile(r"\bwhere\b", re.I), "place"),
    (re.compile(r"\bwhy\b", re.I), "reason"),
]


# up to three words between "which" and the noun that says what it asks for ("which Moldovan ambassador", "in which
# Syrian province"), none of them a verb or article ("what did the minister say" asks for no person)
_MODIFIERS = r"(?:(?!(?:did|does|do|is|was|are|were|has|have|had|will|would|can|could|should|the|a|an|of)\b)[\w-]+ ){0,3}"
# What a question asks for, and the entity labels that can answer it (spaCy's OntoNotes labels; NAME: patterns).
_KINDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bhow old\b|\b(?:what|which) age\b|\bage of\b", re.I), "age"),
    (re.compile(r"\bhow much (?:money|did|does|do|will|would|is|was|are|were)\b.*\b(?:cost|pay|paid|worth|spend|spent|raise|fine|charge|price)|"
                r"\bhow much money\b|\bwhat (?:was|is) the (?:price|cost|fine|budget)\b", re.I), "money"),
    (re.compile(r"\bwhat (?:percentage|percent|share|proportion)\b|\bby how much\b|\bhow much (?:did|has|have|had|does|do|is|was|were|will)\b", re.I), "number"),
    (re.compile(r"\bhow long\b(?! (?:is|was|are|were) the\b)|\bfor how long\b", re.I), "duration"),
    (re.compile(r"\bhow (?:many|much|long|far|tall|big|large|high|often|deep|fast)\b|\bwhat (?:number|amount|size)\b", re.I), "number"),
    (re.compile(r"\bwhen\b|\bwhat (?:year|day|date|time|month)\b|\bwhich (?:year|day|date|month)\b|\bat what time\b", re.I), "time"),
    (re.compile(rf"\bwhere\b|\b(?:what|which) {_MODIFIERS}(?:country|city|town|village|region|state|province|place|island|county|capital|area|nation)\b", re.I), "place"),
    (re.compile(rf"\b(?:what|which) {_MODIFIERS}(?:company|organi[sz]ation|group|party|team|club|agency|firm|bank|newspaper|magazine|network|airline|court|ministry|department|body|union|militia)\b", re.I), "organisation"),
    (re.compile(rf"\b(?:what|which) {_MODIFIERS}(?:ambassador|minister|judge|president|official|councillor|councilor|mayor|senator|player|spokes(?:man|woman|person)|chairman|chairwoman|director|officer|actor|actress|singer|author|writer|lawyer|coach|prosecutor|governor|diplomat|commissioner|secretary|candidate|politician|economist|scientist|professor|journalist|reporter|athlete|rapper|manager)\b", re.I), "person"),
    (re.compile(r"\bwho(?:m|se)?\b|\bwhat (?:is|was) (?:the|his|her|their|its) name\b|\bname of the\b|\bwhat\s+\w+ (?:is|was) called\b", re.I), "person"),
]
# Keyword questions name what they want with a noun instead: "berlin marathon winner", "iceland election turnout".
_NOUN_CUES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:cost|price|fine|budget|salary|worth|paid|pay)\b", re.I), "money"),
    (re.compile(r"\b(?:turnout|rate|percentage|share|number of|death toll|toll|total|population|score|tally|count)\b", re.I), "number"),
    (re.compile(r"\b(?:date|deadline|year)\b", re.I), "time"),
    (re.compile(r"\b(?:location|venue|whereabouts)\b", re.I), "place"),
    (re.compile(r"\b(?:winner|leader|chief|ceo|founder|author|spokes(?:man|woman|person)|coach|captain|suspect|head of|named)\b", re.I), "person"),
]
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
def short_kind(question: str) -> str:
    """What kind of short answer a question wants: person, number, money, time, place, organisation, age, or ''."""
    for pattern, kind in _KINDS:
        if pattern.search(question):
            return kind
    if not _WH.search(question):
        for pattern, kind in _NOUN_CUES:
            if pattern.search(question):
                return kind
    return ""


# the sentence patterns a kind of short answer shows up as (answer_type_match)
_KIND_TYPES = {"age": "age", "money": "number", "number": "number", "duration": "number", "time": "time", "place": "place",
               "organisation": "name", "person": "name"}


def content_terms(text: str) -> set[str]:
    """Lower-cased, lightly stemmed words of a text, stopwords left out."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def coverage(wanted: dict[str, float], sentence_terms: set[str], topic: set[str] = frozenset()) -> float:
    """The weighted share of the wanted words that the sentence contains; words of the article's title
    (its topic, which every sentence of it is about) count half, so the focus words of a question decide."""
    weights = {t: w * (0.5 if t in topic else 1.0) for t, w in wanted.items()}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in sentence_terms) / total if total else 0.0


def wanted_terms(question: str, query: str, context_weight: float = 0.35) -> dict[str, float]:
    """Words to look for: the question's own, and (weighing less) those a follow-up rewrite added."""
    wanted = dict.fromkeys(content_terms(question), 1.0)
    for term in content_terms(query) - wanted.keys():
        wanted[term] = context_weight
    return wanted


_DIGITS = re.compile(r"\d+(?:[,.]\d+)*")


def numbers(text: str) -> set[str]:
    """The numbers written in digits in a text, thousands separators dropped: "7,000" -> "7000"."""
    return {m.group().replace(",", "") for m in _DIGITS.finditer(text)}


def missing_numbers(question: str, article_text: str, published: str = "") -> int:
    """How many numbers the question names ("the 2018 World Cup") that its article never mentions (nor its date)."""
    asked = numbers(question)
    return len(asked - numbers(article_text) - numbers(published.replace("-", " "))) if asked else 0


def question_type(question: str) -> str:
    """What kind of answer a question wants: age, number, time, name, place, reason, or '' when it is open."""
    kind = _KIND_TYPES.get(short_kind(question), "")
    if kind:
        return kind
    for pattern, kind in _QUESTION_TYPES:
        if pattern.search(question):
            return kind
    return ""


def answer_type_match(question: str, sentence: str) -> float:
    """1.0 when the sentence holds what the question asks for (a number for "how many"...), else 0.0."""
    kind = question_type(question)
    if kind == "age":
        return 1.0 if _AGE.search(sentence) else 0.0
    if kind == "place":
        return 1.0 if _PLACE.search(sentence) else 0.0
    if kind == "number":
        return 1.0 if _NUMBER.search(sentence) else 0.0
    if kind == "time":
        return 1.0 if _TIME.search(sentence) else 0.0
    if kind == "name":
        asked = {w.lower() for w in _WORD.findall(question)}
        names = [m.group() for m in _NAME.finditer(sentence)]
        return 1.0 if any(n.split()[0].lower() not in asked for n in names) else 0.0
    if kind == "reason":
        return 1.0 if _REASON.search(sentence) else 0.0
    return 0.0


def is_prose(sentence: str) -> bool:
    """True for a sentence of article prose; False for clutter such as timestamps or bare headlines."""
    s = sentence.strip()
    words = s.split()
    if len(words) < 4 or _TIMESTAMP.match(s) or not re.search(r"[a-z]", s):
        return False
    return bool(_PROSE_END.search(s.rstrip("-–— "))) or len(words) >= 15


_SAY_QUESTION = re.compile(r"\b(?:say|said|says|tell|told|react|respond|comment|think|reaction|response|announce)\w*\b", re.I)
_SAY_CUE = re.compile(r"\b(?:said|says|told|added|stated|announced|according to|warned|insisted|argued)\b|[\"“”]", re.I)
_CONDITION_CUE = re.compile(r"\b(?:only if|unless|condition|conditions|provided that|as long as|require[sd]?|demand(?:s|ed)?|insist(?:s|ed)?)\b", re.I)
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z'-]+(?:[ -][A-Z][A-Za-z'-]+)*")


def say_question(question: str) -> bool:
    """True for "what did X say / how did they react" questions, whose answer is a quote or a report."""
    return bool(_SAY_QUESTION.search(question))


def cues(sentence: str) -> tuple[float, float, float]:
    """Discourse cues of a sentence: (a reason, a report of speech, a condition), each 0 or 1."""
    return (
        1.0 if _REASON.search(sentence) else 0.0,
        1.0 if _SAY_CUE.search(sentence) else 0.0,
        1.0 if _CONDITION_CUE.search(sentence) else 0.0,
    )


def question_names(question: str, article_text: str) -> set[str]:
    """The names a question mentions, lower-cased: its capitalised words after the first, and (for casual,
    lower-case questions) its words that the article only ever writes capitalised."""
    words = [_bare(w) for w in _WORD.findall(question)]
    names = {w.lower() for i, w in enumerate(words) if i and w[:1].isupper() and w.lower() not in _STOPWORDS}
    lowered = {w for w in (x.lower() for x in words) if w not in _STOPWORDS and len(w) > 2}
    if lowered - names:
        capitals = {m.lower() for m in re.findall(r"\b[A-Z][a-z'-]+", article_text)}
        lower = set(re.findall(r"\b[a-z][a-z'-]+", article_text))
        names |= {w for w in lowered if w in capitals and w not in lower}
    return names


def written_names(question: str) -> set[str]:
    """The names a question writes capitalised (after its first word), lower-cased: "and Zelensky?" -> {"zelensky"}."""
    words = [_bare(w) for w in _WORD.findall(question)]
    return {w.lower() for i, w in enumerate(words) if i and w[:1].isupper() and len(w) > 2 and w.lower() not in _STOPWORDS}


def _bare(word: str) -> str:
    """A word without its possessive ending: "McConnell's" -> "McConnell" (the article writes the name bare)."""
    return word[:-2] if word.lower().endswith("'s") else word


def name_overlap(names: set[str], sentence: str) -> float:
    """The share of the question's names that the sentence mentions (1.0 when the question names nobody)."""
    if not names:
        return 1.0
    words = {w.lower() for w in _WORD.findall(sentence)}
    return sum(1 for n in names if n in words) / len(names)


def missing_names(names: set[str], article_text: str, title: str = "") -> int:
    """How many of the question's names the article never mentions (then it is hardly about them)."""
    words = {_bare(w).lower() for w in _WORD.findall(article_text + " " + title)}
    return sum(1 for n in names if _bare(n) not in words)


def counted_number(question: str, sentence: str) -> float:
    """1.0 when the sentence holds a number followed closely by a word the question asks about ("27,000 patients"
    for "how many patients..."), the strongest sign that a number answers a how-many question."""
    asked = content_terms(question)
    for m in re.finditer(rf"(?:\d[\d,.]*|\b(?:{_NUMBER_WORDS})\b)((?:\s+[A-Za-z-]+){{1,3}})", sentence, re.I):
        if content_terms(m.group(1)) & asked:
            return 1.0
    return 0.0


def bigram_overlap(question: str, sentence: str) -> float:
    """The share of the question's adjacent content-word pairs ("policy lending") that the sentence also has."""
    def pairs(text: str) -> set[tuple[str, str]]:
        words = [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
        return set(zip(words, words[1:]))

    wanted = pairs(question)
    return len(wanted & pairs(sentence)) / len(wanted) if wanted else 0.0


def idf_coverage(question_terms: set[str], sentence_terms: set[str], document_frequency: dict[str, int], n: int) -> float:
    """Question-word coverage weighted by rarity among the candidate sentences: a word every candidate has
    (the story's subject) says little about which one answers."""
    import math

    weights = {t: math.log(1 + n / (1 + document_frequency.get(t, 0))) for t in question_terms}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in sentence_terms) / total if total else 0.0


def casual(question: str) -> bool:
    """A question typed casually: all lower case, or no question mark."""
    return question == question.lower() or not question.rstrip().endswith("?")


def _stem(word: str) -> str:
    word = word.split("'")[0]
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) >= len(suffix) + (2 if suffix == "ed" else 3) and word.endswith(suffix):  # died -> di(e)
            if suffix == "s" and word.endswith(("ss", "us", "is")):  # discuss, virus, crisis: not plurals
                break
            word = word[: -len(suffix)] + repl
            break
    return word[:-1] if len(word) >= 3 and word.endswith("e") else word
