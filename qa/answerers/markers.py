"""Citation markers in a model's reply ([1], [1,3], [2-4]) and its sentences, read as the reply streams in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.reading.chunking import split_sentences

# [1], [1, 3], [2-4], [2–4], [1; 2], [1 and 3], [Passage 2], [source 1], [P1]: what models write when asked for [n]
MARKER = re.compile(
    r"\s*\[\s*(?:(?:passages?|sources?|p)\s*)?(\d{1,3}(?:\s*(?:,|;|-|–|—|and|&)\s*(?:(?:passages?|sources?|p)\s*)?\d{1,3})*)\s*\]",
    re.I,
)
_PART = re.compile(r"(\d{1,3})\s*(?:(-|–|—)\s*(?:(?:passages?|sources?|p)\s*)?(\d{1,3}))?", re.I)
_OPEN = re.compile(r"\s*\[[^\]\n]{0,24}$")  # the start of what may become a marker: held back until it closes
_FLAG = re.compile(r"\s*\[(?:unsupported|\?)\]", re.I)  # our own flags, never taken from the model
MAX_RANGE = 20  # a range wider than this ([1-100]) is read as its two ends
UNSUPPORTED = "[unsupported]"  # what follows a sentence that no passage supports, in the answer text
_BOUNDARY = re.compile(r"[.!?…][\"'”’)]*(?=\s)")  # where a sentence may end: the splitter decides once more follows
_LETTERS = re.compile(r"[^\W\d_]{2}")
_END = re.compile(r"[.!?…:;\"'”’)\]]$")


def marker_numbers(inner: str) -> list[int]:
    """The passage numbers inside one marker's brackets: "1, 3" -> [1, 3], "2-4" -> [2, 3, 4]."""
    out: list[int] = []
    for m in _PART.finditer(inner):
        low = int(m.group(1))
        high = int(m.group(3)) if m.group(3) else low
        if m.group(3) and 0 <= high - low <= MAX_RANGE:
            out.extend(range(low, high + 1))
        else:
            out.extend([low] if not m.group(3) else [low, high])
    return out


def find_markers(text: str) -> list[tuple[int, int, list[int]]]:
    """Every marker in `text`: (start, end, passage numbers), the whitespace before it included in the span."""
    return [(m.start(), m.end(), marker_numbers(m.group(1))) for m in MARKER.finditer(text)]


def valid(numbers: list[int], passages: int) -> tuple[int, ...]:
    """The numbers that name one of `passages` passages (1-based), each once, in order; the rest are dropped."""
    return tuple(dict.fromkeys(n for n in numbers if 1 <= n <= passages))


def strip_markers(text: str) -> str:
    """The text without its markers (and without our own [unsupported] flags)."""
    return _FLAG.sub("", MARKER.sub("", text))


def marker_text(markers: tuple[int, ...]) -> str:
    """How verified markers follow a sentence in an answer: "[1][3]"; the unsupported flag when there are none."""
    return "".join(f"[{n}]" for n in markers) if markers else UNSUPPORTED


@dataclass(frozen=True)
class DraftSentence:
    """A finished sentence of the reply: its text as written (markers removed) and the markers it carried."""

    prose: str  # with the whitespace that led into it, so that the prose of all sentences joined is the reply's
    cited: list[int]  # passage numbers as written, valid or not

    @property
    def text(self) -> str:
        return self.prose.strip()


class SentenceStream:
    """Reads a reply piece by piece: says which sentences are finished and how much prose is safe to show.

    A sentence is finished once the sentence splitter starts a next one after it (or the reply ends); markers
    right after its end ("... ceasefire. [1] He ...") are its own. Prose is released only where it cannot change
    any more: a '[' that may open a marker, and whitespace that may precede one, are held back.
    """

    def __init__(self) -> None:
        self.raw = ""
        self._start = 0  # where the unfinished sentence begins in `raw`
        self._carry = ""  # a list item's number ("1.") or bullet, carried into the sentence it opens
        self._cited: list[int] = []

    def feed(self, piece: str) -> list[DraftSentence]:
        """Add a piece of the reply; returns the sentences it finished."""
        self.raw += piece
        return self._finished(final=False)

    def finish(self) -> list[DraftSentence]:
        """The reply ended: whatever is left is the last sentence."""
        return self._finished(final=True)

    def pending(self) -> str:
        """The prose of the unfinished sentence that is safe to show now (it is a prefix of its final prose):
        up to its first possible end ("U.S. officials" may end at "U.S."), never a marker still being written."""
        tail = self.raw[self._start :]
        boundary = _BOUNDARY.search(tail)
        if boundary:
            tail = tail[: boundary.end()]
        held = _OPEN.search(tail)
        if held:
            tail = tail[: held.start()]
        return (self._carry + strip_markers(tail)).rstrip()

    def _finished(self, *, final: bool) -> list[DraftSentence]:
        done: list[DraftSentence] = []
        while True:
            tail = self.raw[self._start :]
            spans = split_sentences(tail)
            if not spans:
                if final and tail.strip():  # only markers or flags: nothing to say
                    self._start = len(self.raw)
                return done
            if len(spans) == 1 and not final:
                return done
            if len(spans) >= 2:
                cut = self._after_markers(self._start + spans[0][1])
                rest = self.raw[cut:]
                opening = _OPEN.search(rest)
                if not final and not re.search(r"\w", strip_markers(rest[: opening.start()] if opening else rest)):
                    return done  # the next sentence is only markers so far, or one being written: they may be ours
            else:
                cut = len(self.raw)
            segment = self.raw[self._start : cut]
            self._start = cut
            prose = self._carry + strip_markers(segment)
            cited = self._cited + [n for _, _, ns in find_markers(segment) for n in ns]
            if _LETTERS.search(prose) or len(spans) < 2:  # "1." or "-" alone opens a list item: carried on
                self._carry, self._cited = "", []
                if prose.strip():
                    done.append(DraftSentence(prose.rstrip(), cited))
            else:
                self._carry, self._cited = prose, cited
            if len(spans) < 2:
                return done

    def _after_markers(self, position: int) -> int:
        """`position` moved past the markers that open the next sentence (they close the previous one)."""
        while True:
            m = MARKER.match(self.raw, position) or _FLAG.match(self.raw, position)
            if not m or m.start() != position:
                return position
            position = m.end()


def ends_sentence(text: str) -> bool:
    """Whether the text ends as a sentence does (a full stop, question mark, closing quote...)."""
    return bool(_END.search(text.rstrip()))
