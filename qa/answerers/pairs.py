"""The reader's input: a question in its conversation beside one candidate sentence in its context, as token ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

MAX_LENGTH = 128  # tokens of one pair, special tokens included
# Token budgets, before the pair is cut to MAX_LENGTH: the question and the sentence come first.
QUESTION_TOKENS, SENTENCE_TOKENS = 40, 64
TITLE_TOKENS, PREVIOUS_QUESTION_TOKENS, PREVIOUS_ANSWER_TOKENS, NEIGHBOUR_TOKENS = 16, 16, 24, 16
# Marker tokens (unused entries of the BERT vocabulary): where the candidate sentence starts and ends, and what
# separates the previous question from the previous answer, and the title from the text.
MARKERS = {"start": "[unused0]", "end": "[unused1]", "answer": "[unused2]", "title": "[unused3]"}
# Where the candidate sits relative to the previous answer, for a reader trained to read it (reader.json "place"):
# the previous answer itself, the sentence after, the sentence before, 2-3 sentences away, further in its article,
# somewhere in the article of the conversation when the previous turn found no answer, another article.
PLACES = {"same": "[unused10]", "next": "[unused11]", "previous": "[unused12]", "near": "[unused13]", "far": "[unused14]",
          "topic": "[unused15]", "elsewhere": "[unused16]"}


@dataclass(frozen=True)
class PairText:
    """One (question, candidate) pair as text: the conversation's last turn, the question, the article's title,
    the candidate sentence and its neighbours ("" where there is none)."""

    question: str
    sentence: str
    title: str = ""
    before: str = ""  # the sentence before the candidate, in the same article
    after: str = ""
    previous_question: str = ""  # the conversation's last turn: its question and the sentence it was answered with
    previous_answer: str = ""
    place: str = ""  # where the candidate sits relative to the previous answer (a key of PLACES; "": no conversation)


def place(same_article: bool, offset: int | None) -> str:
    """The PLACES key of a candidate in a conversation: `offset` sentences after the previous answer (negative:
    before; None when the previous turn found no answer), `same_article` as the conversation's article."""
    if not same_article:
        return "elsewhere"
    if offset is None:
        return "topic"
    return {0: "same", 1: "next", -1: "previous"}.get(offset, "near" if abs(offset) <= 3 else "far")


@dataclass(frozen=True)
class Encoded:
    """Token ids of a pair; `sentence` is the candidate's (first, last + 1) token positions and `offsets` each of
    those tokens' character span in the candidate sentence (for a span head)."""

    ids: np.ndarray
    types: np.ndarray
    sentence: tuple[int, int]
    offsets: tuple[tuple[int, int], ...]


class PairEncoder:
    """Builds reader inputs with a `tokenizers.Tokenizer` (a BERT vocabulary with [CLS], [SEP] and unused tokens):
    `[CLS] question [SEP] previous question [unused2] previous answer [SEP] title [unused3] (place) before [unused0]
    sentence [unused1] after [SEP]`, each part cut to its budget; the question in segment 0, the article in 1. The
    place token (PLACES) is there only for a reader trained with it (`places`) and a question in a conversation."""

    def __init__(self, tokenizer: Any, max_length: int = MAX_LENGTH, *, places: bool = False) -> None:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.places = places  # the reader was trained with the candidate's place in the conversation (PLACES)
        ids = {name: tokenizer.token_to_id(token) for name, token in {**MARKERS, **PLACES, "cls": "[CLS]", "sep": "[SEP]"}.items()}
        missing = [name for name, value in ids.items() if value is None]
        if missing:
            raise ValueError(f"the reader's tokenizer lacks the tokens {', '.join(missing)} (it needs a BERT vocabulary)")
        self.ids: dict[str, int] = ids  # type: ignore[assignment]

    def encode(self, pairs: Sequence[PairText]) -> list[Encoded]:
        texts: list[str] = []
        for p in pairs:
            texts += [p.question, p.sentence, p.title, p.before, p.after, p.previous_question, p.previous_answer]
        pieces = self.tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []
        return [self._assemble(pieces[7 * i : 7 * i + 7], p.place if self.places else "") for i, p in enumerate(pairs)]

    def _assemble(self, parts: list[Any], where: str = "") -> Encoded:
        question, sentence, title, before, after, prev_q, prev_a = parts
        q = question.ids[:QUESTION_TOKENS]
        s_ids, s_off = sentence.ids[:SENTENCE_TOKENS], sentence.offsets[:SENTENCE_TOKENS]
        t = title.ids[:TITLE_TOKENS]
        pq, pa = prev_q.ids[-PREVIOUS_QUESTION_TOKENS:], prev_a.ids[:PREVIOUS_ANSWER_TOKENS]
        b, a = before.ids[-NEIGHBOUR_TOKENS:], after.ids[:NEIGHBOUR_TOKENS]
        marks = [self.ids[where]] if where else []
        fixed = 3 + len(q) + 4 + len(s_ids) + 2 + len(marks)  # [CLS] q [SEP] ... [unused3] [place] [unused0] s [unused1] ... [SEP], history [unused2][SEP]
        spare = self.max_length - fixed
        # what is left goes to the title, the neighbours and the conversation, trimmed in turn until it fits
        optional = [t, b, a, pq, pa]
        while sum(map(len, optional)) > max(spare, 0):
            longest = max(range(len(optional)), key=lambda i: len(optional[i]))
            cut = optional[longest]
            optional[longest] = cut[1:] if longest == 1 else cut[:-1]  # the sentence before keeps its end
        t, b, a, pq, pa = optional
        ids = self.ids
        head = [ids["cls"], *q, ids["sep"]]
        if pq or pa:
            head += [*pq, ids["answer"], *pa, ids["sep"]]
        start = len(head) + len(t) + 1 + len(marks) + len(b) + 1
        body = [*t, ids["title"], *marks, *b, ids["start"], *s_ids, ids["end"], *a, ids["sep"]]
        tokens = np.asarray(head + body, dtype=np.int64)[: self.max_length]
        types = np.asarray([0] * len(head) + [1] * len(body), dtype=np.int64)[: self.max_length]
        end = min(start + len(s_ids), self.max_length)
        return Encoded(tokens, types, (start, end), tuple(tuple(o) for o in s_off[: end - start]))


def batch(encoded: Sequence[Encoded]) -> dict[str, np.ndarray]:
    """Encoded pairs padded to the longest into the model's three inputs."""
    width = max((len(e.ids) for e in encoded), default=0)
    ids = np.zeros((len(encoded), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = e.ids
        types[row, : len(e.types)] = e.types
        mask[row, : len(e.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
