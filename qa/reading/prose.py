"""What reads as a sentence of prose: the test that keeps every sentence of an article through cleaning."""

from __future__ import annotations

import re

# A sentence's end, allowing the stray dashes and quotes exports leave after it: 'fraud.-', 'said."?'
SENTENCE_END = re.compile(r"[.!?…\"'”’)\]][\s\"'”’?\-–—]*$")
_COLON_END = re.compile(r":[\s\-–—]*$")  # 'As she famously said:-' introduces a quote
_CUT_OFF = re.compile(r"\w \w+[,;]?[-–—]+$")  # 'When a Minister offers to give way-'
_SHORT_SENTENCE = re.compile(r"\w[.!?…]+[\"'”’]?$")  # 'Order.', 'Why?', 'Nobody knows.'


def reads_as_prose(text: str) -> bool:
    """A sentence, not furniture: three or more words ending like a sentence (or a colon, or a dash where a
    speaker was cut off); a short one ending in a full stop or a question ("Order.", "Why?"); or twelve or
    more words, mostly lower-case (a sentence that lost its full stop, not a title-cased headline)."""
    words = text.split()
    if len(words) >= 3 and (SENTENCE_END.search(text) or _COLON_END.search(text) or _CUT_OFF.search(text)):
        return True
    if _SHORT_SENTENCE.search(text) and re.search(r"[a-z]", text):
        return True
    return len(words) >= 12 and sum(w[:1].islower() for w in words) >= 0.4 * len(words)


def reads_like_sentence(line: str) -> bool:
    """Three or more words ending like a sentence."""
    return bool(SENTENCE_END.search(line)) and len(line.split()) >= 3
