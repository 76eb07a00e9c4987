"""Synthetic corpora for the scale benchmarks: NewsArticles passages recombined, vectors mixed from their real ones.

Each synthetic passage joins the first half (whole sentences) of one real NewsArticles passage with
the second half of another; its vector is the normalised 0.6 / 0.4 mix of the two passages' real
MiniLM vectors plus a little noise: a fast deterministic "encoder" whose vectors sit where real
ones would, so real query vectors find them as they would real passages. A synthetic article is
5 to 9 such passages under the title, date and source of a real article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from qa.stores import IndexReader
from qa.types import Article, Chunk

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Source:
    """The real passages (text and vector) and articles that synthetic ones are made from."""

    texts: list[str]
    vectors: np.ndarray
    articles: list[Article]

    @classmethod
    def load(cls, reader: IndexReader) -> Source:
        rows = list(reader.iter_chunks())
        vectors = reader.vectors([cid for cid, *_ in rows])
        return cls([text for *_, text in rows], vectors, reader.articles())


def halves(text: str) -> tuple[str, str]:
    """A passage cut between sentences near its middle (or at a space when it is one sentence)."""
    parts = _SENTENCE_END.split(text)
    if len(parts) > 1:
        cut = max(1, len(parts) // 2)
        return " ".join(parts[:cut]), " ".join(parts[cut:])
    words = text.split()
    return " ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])


def articles(source: Source, n_chunks: int, *, seed: int = 0, prefix: str = "syn") -> Iterator[tuple[Article, list[Chunk], np.ndarray]]:
    """(article, chunks, vectors) until n_chunks passages were made; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    made, n = 0, 0
    split = [halves(t) for t in source.texts]
    while made < n_chunks:
        template = source.articles[int(rng.integers(len(source.articles)))]
        m = min(int(rng.integers(5, 10)), n_chunks - made)
        a, b = rng.integers(len(source.texts), size=m), rng.integers(len(source.texts), size=m)
        passages = [f"{split[i][0]} {split[j][1]}".strip() for i, j in zip(a, b)]
        mixed = 0.6 * source.vectors[a] + 0.4 * source.vectors[b] + rng.normal(0, 0.01, (m, source.vectors.shape[1]))
        mixed = (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)
        article_id = f"{prefix}-{seed}-{n}"
        text = " ".join(passages)
        chunks, at = [], 0
        for idx, passage in enumerate(passages):
            chunks.append(Chunk(article_id, idx, at, at + len(passage), passage))
            at += len(passage) + 1
        yield (Article(article_id, text, title=template.title, url=f"https://synthetic.example/{article_id}",
                       published=template.published, source=template.source), chunks, mixed)
        made += m
        n += 1
