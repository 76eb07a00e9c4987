"""Sentence splitting with offsets, and sentence-aware chunks that fit the encoder's token budget."""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from qa import config
from qa.errors import ConfigError
from qa.types import Article, Chunk

TokenCounter = Callable[[Sequence[str]], list[int]]

# A split right after one of these is a false sentence boundary ("Dr. Who", "U.S. officials").
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "gov", "sen", "rep", "col", "lt", "sgt",
    "capt", "cmdr", "adm", "rev", "hon", "pres", "vs", "etc", "inc", "corp", "co", "ltd", "no", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n",
    "e.g", "i.e", "a.m", "p.m", "mt", "ft", "fig", "approx", "dept", "est", "ave", "blvd",
}
_LAST_WORD = re.compile(r"([A-Za-z](?:\.[A-Za-z])*)\.$")
_NEXT_STARTS_LOWER = re.compile(r"^\s*[a-z0-9]")


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut: at most `max_tokens` per chunk, `overlap_tokens` carried over."""

    max_tokens: int = config.CHUNK_TOKENS
    overlap_tokens: int = config.CHUNK_OVERLAP

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ConfigError(f"max_tokens must be at least 16, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2 + 1:
            raise ConfigError(
                f"overlap_tokens must be between 0 and max_tokens/2 ({self.max_tokens // 2}), "
                f"got {self.overlap_tokens}"
            )


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) character spans of the sentences of `text`, whitespace excluded."""
    import blingfire

    spans: list[tuple[int, int]] = []
    for para_start, para_end in _paragraphs(text):
        para = text[para_start:para_end]
        ends = [end for start, end in _sentence_offsets(blingfire, para) if end > start]
        # blingfire's ends are the boundaries; each sentence runs to the next one, so no character falls
        # between two sentences (it drops a zero-width space or a BOM at an edge as if it were a space)
        for start, end in zip([0, *ends], [*ends[:-1], len(para)]):
            s, e = para_start + start, para_start + end
            if spans and _false_boundary(text, spans[-1], s) and spans[-1][0] >= para_start:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


def _sentence_offsets(blingfire: Any, para: str) -> list[tuple[int, int]]:
    """blingfire's sentence spans in characters; its own wrapper maps byte offsets in a Python loop per byte
    (4 s for a 0.7 MB line), this maps them with numpy."""
    native = getattr(blingfire, "blingfire", None)
    data = para.encode("utf-8")
    if native is None or len(data) < 4096:
        return blingfire.text_to_sentences_and_offsets(para)[1]
    size = len(data) * 2
    out, starts, ends = ctypes.create_string_buffer(size), (ctypes.c_int32 * size)(), (ctypes.c_int32 * size)()
    n = native.TextToSentencesWithOffsets(ctypes.c_char_p(data), ctypes.c_int(len(data)), ctypes.byref(out),
                                          ctypes.byref(starts), ctypes.byref(ends), ctypes.c_int(size))
    if n == -1 or n > size:
        return blingfire.text_to_sentences_and_offsets(para)[1]
    count = out.value.count(b"\n") + 1
    raw = np.frombuffer(data, dtype=np.uint8)
    char_at = np.cumsum((raw & 0xC0) != 0x80) - 1  # the character each byte belongs to
    begin = char_at[np.frombuffer(starts, dtype=np.int32, count=count)]
    last = char_at[np.minimum(np.frombuffer(ends, dtype=np.int32, count=count), len(data) - 1)] + 1  # ends are inclusive
    return list(zip(begin.tolist(), last.tolist()))


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank lines: a line break always ends a sentence."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]


def _false_boundary(text: str, previous: tuple[int, int], next_start: int) -> bool:
    """True when the previous sentence ends in an abbreviation or the next starts in lower case."""
    tail = text[max(previous[0], previous[1] - 64) : previous[1]].rstrip()  # the end only: merges stay linear
    match = _LAST_WORD.search(tail)
    if match and match.group(1).lower() in _ABBREVIATIONS:
        return True
    if match and len(match.group(1)) == 1 and match.group(1).isupper():
        return True  # an initial: "John F. Kennedy"
    return bool(_NEXT_STARTS_LOWER.match(text[next_start : next_start + 16].lstrip()))


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_article(article: Article, count_tokens: TokenCounter, settings: ChunkSettings) -> list[Chunk]:
    """Cut an article into chunks of whole sentences under the token budget, with offsets."""
    text = article.text
    units = _units(text, split_sentences(text), count_tokens, settings.max_tokens)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and (j == i or used + units[j][2] <= settings.max_tokens):
            used += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(article.id, len(chunks), start, end, text[start:end]))
        if j >= len(units):
            break
        # step back over whole sentences for the overlap, but always move forward
        k, carried = j, 0
        while k - 1 > i and carried + units[k - 1][2] <= settings.overlap_tokens:
            carried += units[k - 1][2]
            k -= 1
        i = k
    return chunks


def _units(
    text: str, sentences: list[tuple[int, int]], count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int, int]]:
    """Sentences with token counts; a sentence over the budget is cut into word windows."""
    counts = count_tokens([text[s:e] for s, e in sentences])
    units: list[tuple[int, int, int]] = []
    for (s, e), n in zip(sentences, counts):
        if n <= max_tokens:
            units.append((s, e, n))
            continue
        words = [(m.start() + s, m.end() + s) for m in re.finditer(r"\S+", text[s:e])]
        word_tokens = count_tokens([text[a:b] for a, b in words])
        ws, used = 0, 0
        for idx, wt in enumerate(word_tokens):
            if used + wt > max_tokens and idx > ws:
                units.append((words[ws][0], words[idx - 1][1], used))
                ws, used = idx, 0
            used += wt
        units.append((words[ws][0], words[-1][1], used))
    return units
