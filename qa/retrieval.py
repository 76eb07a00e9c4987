"""The retriever: dense, BM25 or hybrid search over an index, with filters and per-article diversity."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from qa import fusion
from qa.encoding import Encoder, SentenceTransformerEncoder
from qa.errors import ConfigError
from qa.ingest import check_compatible, default_index_dir
from qa.store import Store, StoredChunk
from qa.types import Hit, SearchFilter

log = logging.getLogger(__name__)

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")
FUSIONS: tuple[str, ...] = ("rrf", "weighted")


@dataclass(frozen=True)
class SearchSettings:
    """Defaults for every search; each can be overridden per call."""

    k: int = 5
    mode: str = "hybrid"
    fusion: str = "rrf"
    dense_weight: float = 0.5  # for fusion="weighted"; BM25 gets 1 - dense_weight
    per_article: int = 2  # at most this many passages of one article in the results (0: no cap)
    depth: int = 100  # candidates taken from each method before fusion

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        if self.per_article < 0:
            raise ConfigError(f"per_article must be 0 (no cap) or more, got {self.per_article}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError(f"dense_weight must be between 0 and 1, got {self.dense_weight}")


class Retriever:
    """Search an index directory: `Retriever.load("embeddings/").search("question", k=5)`."""

    def __init__(self, store: Store, encoder: Encoder, settings: SearchSettings | None = None) -> None:
        check_compatible(store.manifest, encoder)
        self.store = store
        self.encoder = encoder
        self.settings = settings or SearchSettings()

    @classmethod
    def load(
        cls,
        index_dir: str | os.PathLike[str] | None = None,
        *,
        encoder: Encoder | None = None,
        **settings: object,
    ) -> Retriever:
        """Open an index; the encoder defaults to the model named in its manifest."""
        store = Store.load(Path(index_dir) if index_dir is not None else default_index_dir())
        encoder = encoder or SentenceTransformerEncoder(store.manifest.model)
        return cls(store, encoder, SearchSettings(**settings))  # type: ignore[arg-type]

    def reload(self) -> None:
        """Pick up the index's newest generation (after an ingest by this or another process)."""
        fresh = Store.load(self.store.directory)
        check_compatible(fresh.manifest, self.encoder)
        old, self.store = self.store, fresh
        old.close()

    def search(self, query: str, k: int | None = None, *, filter: SearchFilter | None = None, **overrides: object) -> list[Hit]:
        """The best passages for one query, best first."""
        return self.search_batch([query], k, filter=filter, **overrides)[0]

    def search_batch(
        self, queries: Sequence[str], k: int | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> list[list[Hit]]:
        """The best passages for each query; one list per query, in order."""
        settings = replace(self.settings, **({"k": k} if k is not None else {}), **overrides)  # type: ignore[arg-type]
        queries = [_check_query(q) for q in queries]
        allowed = self._allowed(filter)
        if allowed is not None and not len(allowed):
            return [[] for _ in queries]
        dense = self._dense(queries, settings.depth, allowed) if settings.mode != "bm25" else [[] for _ in queries]
        results = []
        for query, dense_ranking in zip(queries, dense):
            keyword = self._keyword(query, settings.depth, allowed) if settings.mode != "dense" else []
            if settings.mode == "dense":
                ranking = dense_ranking
            elif settings.mode == "bm25":
                ranking = keyword
            elif settings.fusion == "rrf":
                ranking = fusion.rrf([dense_ranking, keyword])
            else:
                ranking = fusion.weighted([dense_ranking, keyword], [settings.dense_weight, 1 - settings.dense_weight])
            results.append(self._hits(ranking, settings))
        return results

    # -- stages ----------------------------------------------------------------------------
    def _dense(self, queries: list[str], depth: int, allowed: np.ndarray | None) -> list[list[tuple[int, float]]]:
        if not self.store.vectors.ntotal:
            return [[] for _ in queries]
        vectors = self.encoder.encode(queries)
        scores, ids = self.store.search_vectors(vectors, depth, allowed)
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0] for row_ids, row_scores in zip(ids, scores)]

    def _keyword(self, query: str, depth: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        if self.store.keywords is None:
            raise ConfigError(f"index in {self.store.directory} has no BM25 index; re-ingest to build it")
        return self.store.keywords.search(query, depth, allowed)

    def _allowed(self, flt: SearchFilter | None) -> np.ndarray | None:
        if flt is None or flt.empty:
            return None
        clauses, params = [], []
        if flt.sources:
            clauses.append("(" + " OR ".join("a.source = ? OR a.url LIKE ?" for _ in flt.sources) + ")")
            for s in flt.sources:
                params += [s, f"%://{s}/%"]
        if flt.since:
            clauses.append("a.published != '' AND a.published >= ?")
            params.append(flt.since)
        if flt.until:
            clauses.append("a.published != '' AND a.published <= ?")
            params.append(flt.until)
        if flt.article_ids:
            clauses.append(f"a.id IN ({','.join('?' * len(flt.article_ids))})")
            params += list(flt.article_ids)
        return self.store.chunk_ids(" AND ".join(clauses), params)

    def _hits(self, ranking: list[tuple[int, float]], settings: SearchSettings) -> list[Hit]:
        rows = self.store.chunks([cid for cid, _ in ranking[: settings.k * 10 + settings.depth]])
        hits: list[Hit] = []
        per_article: dict[str, int] = {}
        for chunk_id, score in ranking:
            row = rows.get(chunk_id)
            if row is None:
                continue
            seen = per_article.get(row.chunk.article_id, 0)
            if settings.per_article and seen >= settings.per_article:
                continue
            per_article[row.chunk.article_id] = seen + 1
            hits.append(_hit(row, score))
            if len(hits) == settings.k:
                break
        return hits


def _hit(row: StoredChunk, score: float) -> Hit:
    c = row.chunk
    return Hit(score, row.chunk_id, c.article_id, row.title, row.url, row.published, row.source, c.text, c.start, c.end)


def _check_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("the question is empty; type a question about the articles")
    return query.strip()
