"""BM25 keyword indexes (bm25s) over chunks and over whole articles, rebuilt with each generation."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np

log = logging.getLogger(__name__)

BM25_DIR = "bm25"  # chunk-level index: ids are chunk ids
ARTICLES_DIR = "bm25-articles"  # article-level index: ids are the articles' SQLite rowids
IDS_FILE = "chunk_ids.npy"


# English function words, question words included: bm25s's own list (Lucene's 33 words) keeps
# "what", "did", "who", which then outscore the words a question is about.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing done down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom whose why will with would you your
    yours yourself yourselves also may might must shall upon via""".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed word tokens, the same for documents and queries."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=list(STOPWORDS), stemmer=_stemmer(), return_ids=False, show_progress=False)


class KeywordIndex:
    """BM25 over texts keyed by integer ids (chunk ids, or article rowids), searched by id."""

    def __init__(self, model: Any, chunk_ids: np.ndarray) -> None:
        self.model = model
        self.chunk_ids = chunk_ids
        self._position = {int(c): i for i, c in enumerate(chunk_ids)}
        self._vocab: dict[str, int] = getattr(model, "vocab_dict", {}) or {}

    @property
    def ids(self) -> np.ndarray:
        return self.chunk_ids

    @classmethod
    def build(
        cls, rows: Iterable[tuple[int, str, str]], directory: Path | None, *, subdir: str = BM25_DIR
    ) -> KeywordIndex:
        """Index (id, title, text) rows; save the index under `directory/subdir` unless directory is None."""
        import bm25s

        ids, docs = [], []
        for key, title, text in rows:
            ids.append(key)
            docs.append(f"{title}\n{text}" if title else text)
        model = bm25s.BM25()
        if docs:
            model.index(tokenize(docs), show_progress=False)
        chunk_ids = np.asarray(ids, dtype=np.int64)
        if directory is not None:
            out = directory / subdir
            out.mkdir(parents=True, exist_ok=True)
            if docs:
                model.save(str(out), show_progress=False)
            np.save(out / IDS_FILE, chunk_ids, allow_pickle=False)
        return cls(model if docs else None, chunk_ids)

    @classmethod
    def load(cls, directory: Path, *, subdir: str = BM25_DIR) -> KeywordIndex | None:
        """The keyword index saved under `directory/subdir`, or None if that generation has none."""
        import bm25s

        path = directory / subdir
        if not (path / IDS_FILE).exists():
            return None
        chunk_ids = np.load(path / IDS_FILE, allow_pickle=False)
        if not len(chunk_ids):
            return cls(None, chunk_ids)
        model = bm25s.BM25.load(str(path), mmap=False, show_progress=False)
        return cls(model, chunk_ids)

    def query_tokens(self, query: str) -> list[str]:
        """The query's tokens that occur in this index (the others cannot score)."""
        return [t for t in tokenize([query])[0] if t in self._vocab]

    def search(
        self, query: str | list[str], k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (id, BM25 score) for a query (text or tokens); only ids in `allowed` when given."""
        if self.model is None or not len(self.chunk_ids):
            return []
        tokens = self.query_tokens(query) if isinstance(query, str) else [t for t in query if t in self._vocab]
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
        return [(int(self.chunk_ids[d]), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    @staticmethod
    def describe(directory: Path, subdir: str = BM25_DIR) -> dict[str, Any]:
        params = directory / subdir / "params.index.json"
        return json.loads(params.read_text()) if params.exists() else {}
