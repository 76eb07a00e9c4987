"""Keyword segments: postings with raw term frequencies, scored by BM25 at query time with live corpus statistics.

A segment's postings never hold a score: document frequencies, the number of documents and their
average length are counted over the documents live in the reader's snapshot, across all its
segments, at query time. So a score never depends on how the index is cut into segments or on
documents deleted but not yet merged away: it is the score a freshly built index would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from qa.lexical import B, K1
_FILES = ("terms", "indptr", "docs", "tfs", "lengths")


@dataclass(frozen=True)
class Postings:
    """An inverted index over one segment's documents (positions 0..n-1): term id -> (positions, term counts)."""

    terms: np.ndarray  # int64, sorted, unique
    indptr: np.ndarray  # int64, len(terms) + 1: term i's postings are docs[indptr[i]:indptr[i + 1]]
    docs: np.ndarray  # int32 document positions, ascending within a term
    tfs: np.ndarray  # uint16 term counts (a count above 65,535 is stored as 65,535)
    lengths: np.ndarray  # float32 tokens per document

    @property
    def n_docs(self) -> int:
        return len(self.lengths)

    @classmethod
    def build(cls, documents: Sequence[np.ndarray]) -> Postings:
        """Postings of documents given as term-id arrays (one id per token)."""
        lengths = np.fromiter((len(d) for d in documents), dtype=np.float32, count=len(documents))
        if not documents or not lengths.sum():
            return cls.empty(len(documents))
        terms = np.concatenate(documents)
        positions = np.repeat(np.arange(len(documents), dtype=np.int64), lengths.astype(np.int64))
        # (term, document) pairs as one sortable int64: dense term number * documents + position
        # (np.sort of values is several times faster than argsort or lexsort of 63-bit hashes)
        vocabulary = np.unique(np.sort(terms))
        keys = np.sort(np.searchsorted(vocabulary, terms).astype(np.int64) * len(documents) + positions)
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        starts = np.flatnonzero(first)
        tfs = np.diff(np.append(starts, len(keys)))
        keys = keys[starts]
        terms, docs = vocabulary[keys // len(documents)], (keys % len(documents)).astype(np.int32)
        return cls.from_pairs(terms, docs, tfs, lengths)

    @classmethod
    def from_pairs(cls, terms: np.ndarray, docs: np.ndarray, tfs: np.ndarray, lengths: np.ndarray) -> Postings:
        """Postings from (term, doc, tf) triples sorted by term then doc."""
        new_term = np.ones(len(terms), dtype=bool)
        new_term[1:] = terms[1:] != terms[:-1]
        starts = np.flatnonzero(new_term)
        indptr = np.append(starts, len(terms)).astype(np.int64)
        counts = np.minimum(tfs, np.iinfo(np.uint16).max).astype(np.uint16)
        return cls(terms[starts].astype(np.int64), indptr, docs.astype(np.int32), counts, lengths)

    @classmethod
    def empty(cls, n_docs: int = 0) -> Postings:
        return cls(np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint16),
                   np.zeros(n_docs, np.float32))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The postings as named arrays, for a segment file."""
        return {f"{prefix}-{name}": getattr(self, name) for name in _FILES}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> Postings:
        return cls(**{name: arrays[f"{prefix}-{name}"] for name in _FILES})

    def lookup(self, term: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(positions, term counts) of a term, or None when no document here has it."""
        i = int(np.searchsorted(self.terms, term))
        if i == len(self.terms) or self.terms[i] != term:
            return None
        a, b = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.docs[a:b], self.tfs[a:b]

    def subset(self, keep: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(terms, new positions, tfs, lengths) of the kept documents, renumbered from `offset` in order."""
        new_position = np.cumsum(keep, dtype=np.int64) - 1 + offset
        counts = np.diff(np.asarray(self.indptr))
        terms = np.repeat(np.asarray(self.terms), counts)
        docs = np.asarray(self.docs)
        live = keep[docs]
        return terms[live], new_position[docs[live]], np.asarray(self.tfs)[live], np.asarray(self.lengths)[keep]


def merge(parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
    """One Postings over the kept documents of each part, in part order (positions renumbered)."""
    terms, docs, tfs, lengths = [], [], [], []
    offset = 0
    for postings, keep in parts:
        t, d, f, n = postings.subset(keep, offset)
        terms.append(t), docs.append(d), tfs.append(f), lengths.append(n)
        offset += int(keep.sum())
    if not offset:
        return Postings.empty()
    all_terms = np.concatenate(terms)
    order = np.argsort(all_terms, kind="stable")  # parts are in position order: docs stay ascending per term
    return Postings.from_pairs(all_terms[order], np.concatenate(docs)[order], np.concatenate(tfs)[order],
                               np.concatenate(lengths))


@dataclass(frozen=True)
class Part:
    """A segment's postings as one snapshot sees them: which documents are live, which pass the filter."""

    postings: Postings
    ids: np.ndarray  # the document's key per position (chunk id or article key): ties are broken by it
    live: np.ndarray  # bool per position
    allowed: np.ndarray | None = None  # bool per position; None: every live document


def search(parts: Sequence[Part], terms: np.ndarray, k: int, n_docs: int, total_length: float, *,
           count_deleted: bool = False) -> list[tuple[int, float]]:
    """Top-k (document key, BM25 score) for query term ids, best first (ties: lower key first); scores > 0 only.

    `n_docs` and `total_length` are the documents' count and summed length across every part: the
    live ones, or all when `count_deleted` (Lucene's statistics before a merge, kept to measure them).
    """
    if not len(terms) or not n_docs or k < 1:
        return []
    avg = total_length / n_docs if total_length else 1.0
    unique = list(dict.fromkeys(int(t) for t in terms))
    weight = {t: int((terms == t).sum()) for t in unique}  # a repeated query word counts that many times
    found = [{t: p.postings.lookup(t) for t in unique} for p in parts]
    whole = [bool(np.count_nonzero(p.live) == len(p.live)) for p in parts]  # no deletes: no mask to apply
    df = dict.fromkeys(unique, 0)
    for part, hits, all_live in zip(parts, found, whole):
        for t, hit in hits.items():
            if hit is not None:
                df[t] += len(hit[0]) if count_deleted or all_live else int(np.count_nonzero(part.live[hit[0]]))
    idf = {t: np.float32(np.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5))) for t in unique if df[t]}
    c1, c2 = np.float32(K1 * (1 - B)), np.float32(K1 * B / avg)
    best: list[tuple[float, int]] = []
    for part, hits, all_live in zip(parts, found, whole):
        scores: np.ndarray | None = None
        for t in unique:  # in the query's order, so sums are the same whatever the segments
            hit = hits[t]
            if hit is None or t not in idf:
                continue
            docs, tfs = hit[0], hit[1].astype(np.float32)
            if scores is None:
                scores = np.zeros(part.postings.n_docs, dtype=np.float32)
            lengths = part.postings.lengths[docs]
            scores[docs] += (idf[t] * weight[t]) * tfs / (tfs + c1 + c2 * lengths)
        if scores is None:
            continue
        if part.allowed is not None:
            scores[~(part.allowed & part.live)] = 0
        elif not all_live:
            scores[~part.live] = 0
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:  # the k best, and any tied with the k-th (the key decides among them)
            kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth]
        best += [(float(scores[c]), int(part.ids[c])) for c in candidates]
    best.sort(key=lambda x: (-x[0], x[1]))
    return [(key, score) for score, key in best[:k]]
