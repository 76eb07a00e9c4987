"""The BM25 keyword index (bm25s) over the same chunks as the vectors, rebuilt with each generation."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np

log = logging.getLogger(__name__)

BM25_DIR = "bm25"
IDS_FILE = "chunk_ids.npy"


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed word tokens, the same for documents and queries."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


class KeywordIndex:
    """BM25 over chunk texts (title included), searched by chunk id."""

    def __init__(self, model: Any, chunk_ids: np.ndarray) -> None:
        self.model = model
        self.chunk_ids = chunk_ids
        self._position = {int(c): i for i, c in enumerate(chunk_ids)}
        self._vocab: dict[str, int] = getattr(model, "vocab_dict", {}) or {}

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, str]], directory: Path) -> KeywordIndex:
        """Index (chunk id, title, text) rows and save the index under `directory`."""
        import bm25s

        ids, docs = [], []
        for chunk_id, title, text in rows:
            ids.append(chunk_id)
            docs.append(f"{title}\n{text}" if title else text)
        model = bm25s.BM25()
        if docs:
            model.index(tokenize(docs), show_progress=False)
        chunk_ids = np.asarray(ids, dtype=np.int64)
        out = directory / BM25_DIR
        out.mkdir(parents=True, exist_ok=True)
        if docs:
            model.save(str(out), show_progress=False)
        np.save(out / IDS_FILE, chunk_ids, allow_pickle=False)
        return cls(model if docs else None, chunk_ids)

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex | None:
        """The keyword index saved under `directory`, or None if that generation has none."""
        import bm25s

        path = directory / BM25_DIR
        if not (path / IDS_FILE).exists():
            return None
        chunk_ids = np.load(path / IDS_FILE, allow_pickle=False)
        if not len(chunk_ids):
            return cls(None, chunk_ids)
        model = bm25s.BM25.load(str(path), mmap=False, show_progress=False)
        return cls(model, chunk_ids)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score) for a query; only chunks in `allowed` when given."""
        if self.model is None or not len(self.chunk_ids):
            return []
        tokens = [t for t in tokenize([query])[0] if t in self._vocab]
        if not tokens:
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.chunk_ids), dtype=np.float32)
            positions = [self._position[int(c)] for c in allowed if int(c) in self._position]
            if not positions:
                return []
            mask[positions] = 1.0
        k = min(k, len(self.chunk_ids))
        docs, scores = self.model.retrieve([tokens], k=k, show_progress=False, n_threads=1, weight_mask=mask)
        return [
            (int(self.chunk_ids[d]), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0
        ]

    @staticmethod
    def describe(directory: Path) -> dict[str, Any]:
        params = directory / BM25_DIR / "params.index.json"
        return json.loads(params.read_text()) if params.exists() else {}
