"""The retriever: dense, BM25 or hybrid search over an index, with article-level evidence, filters and diversity."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from qa import fusion
from qa.encoding import Encoder, load_encoder
from qa.errors import ConfigError, StoreError
from qa.ingest import check_compatible, default_index_dir
from qa.lexical import KeywordIndex, tokenize
from qa.store import Manifest, Store, StoredChunk
from qa.types import Article, Hit, SearchFilter

log = logging.getLogger(__name__)

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[str, ...] = ("dense", "bm25", "hybrid")
FUSIONS: tuple[str, ...] = ("rrf", "weighted")
Ranking = list[tuple[int, float]]


@dataclass(frozen=True)
class SearchSettings:
    """Defaults for every search; each can be overridden per call.

    A passage's score mixes its own score with its article's: `article_weight * article + (1 -
    article_weight) * passage`, both scaled to [0, 1]. The article score fuses the best dense
    passage of the article with BM25 over the whole article, so a passage of a strongly matching
    article outranks a lone lucky passage elsewhere.
    """

    k: int = 5
    mode: str = "hybrid"
    fusion: str = "weighted"
    dense_weight: float = 0.3  # weight of the dense list in either fusion; BM25 gets 1 - dense_weight
    rrf_k: int = 60
    article_weight: float = 0.8  # weight of the article score in a passage's score (0: passages alone)
    per_article: int = 2  # at most this many passages of one article in the results (0: no cap)
    depth: int = 100  # candidates taken from each method before fusion
    rerank: str = ""  # cross-encoder model id or path; "" for none
    rerank_depth: int = 20  # passages the cross-encoder rescores

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        if self.per_article < 0:
            raise ConfigError(f"per_article must be 0 (no cap) or more, got {self.per_article}")
        for name in ("dense_weight", "article_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.depth < 1 or self.rrf_k < 1 or self.rerank_depth < 1:
            raise ConfigError(
                f"depth, rrf_k and rerank_depth must be at least 1, got {self.depth}, {self.rrf_k}, {self.rerank_depth}"
            )


class Retriever:
    """Search an index directory: `Retriever.load("embeddings/").search("question", k=5)`."""

    def __init__(self, store: Store, encoder: Encoder, settings: SearchSettings | None = None) -> None:
        check_compatible(store.manifest, encoder)
        self.encoder = encoder
        self.settings = settings or SearchSettings()
        self._attach(store)

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
        encoder = encoder or load_encoder(store.manifest.model, store.manifest.backend)
        return cls(store, encoder, SearchSettings(**settings))  # type: ignore[arg-type]

    def refresh(self) -> bool:
        """Switch to the index's newest committed state if another write landed since; True if it did.

        Cheap when nothing changed (one small read), so callers may call it before every search.
        """
        try:
            newest = Manifest.read(self.store.directory).generation
        except StoreError:
            return False
        if newest == self.store.manifest.generation:
            return False
        self.reload()
        return True

    def reload(self) -> None:
        """Pick up the index's newest generation (after an ingest by this or another process)."""
        fresh = Store.load(self.store.directory)
        check_compatible(fresh.manifest, self.encoder)
        old = self.store
        self._attach(fresh)
        old.close()

    def _attach(self, store: Store) -> None:
        """Use `store`, and the chunk -> article maps the article-level scores need."""
        pairs = np.array(
            store.db.execute("SELECT c.id, a.rowid FROM chunks c JOIN articles a ON a.id = c.article_id").fetchall(),
            dtype=np.int64,
        ).reshape(-1, 2)
        chunk_article = np.full(int(pairs[:, 0].max()) + 1 if len(pairs) else 0, -1, dtype=np.int64)
        chunk_article[pairs[:, 0]] = pairs[:, 1]
        articles = store.article_keywords
        if articles is None:  # an index written before article-level BM25 was stored
            log.info("building the article-level BM25 index of %s in memory; re-ingest to store it", store.directory)
            articles = KeywordIndex.build(store.db.execute("SELECT rowid, title, text FROM articles"), None)
        self.store, self._chunk_article, self._article_index = store, chunk_article, articles

    # -- the index behind the search: what answerers, evaluation and the UI may read ------------
    @property
    def location(self) -> str:
        """Where the index lives (a directory today), for messages and caches beside it."""
        return str(self.store.directory)

    @property
    def version(self) -> int:
        """A number that changes whenever the index's content does (caches keyed by it stay valid)."""
        return self.store.manifest.generation

    def article(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        return self.store.article(article_id)

    def articles(self) -> list[Article]:
        """Every stored article, oldest first."""
        return self.store.articles()

    def resolve(self, id_or_url: str) -> str | None:
        """The id of the stored article with this id or URL (a URL may differ in scheme, www., fragment)."""
        return self.store.resolve(id_or_url)

    def stats(self) -> dict[str, object]:
        """Articles, chunks, model and size of the index."""
        return self.store.stats()

    def is_empty(self) -> bool:
        """True when the index holds no passage."""
        return not self.store.vectors.ntotal

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
        allowed_articles = None if allowed is None else np.unique(self._chunk_article[allowed])
        if settings.mode != "bm25":
            dense = self._dense(queries, settings.depth, allowed)
        else:
            dense = [[] for _ in queries]
        results = []
        for query, dense_chunks in zip(queries, dense):
            tokens = tokenize([query])[0] if settings.mode != "dense" else []
            ranking = self._rank(tokens, dense_chunks, settings, allowed, allowed_articles)
            results.append(self._hits(query, ranking, settings))
        return results

    # -- stages ----------------------------------------------------------------------------
    def _rank(
        self,
        tokens: list[str],
        dense_chunks: Ranking,
        s: SearchSettings,
        allowed: np.ndarray | None,
        allowed_articles: np.ndarray | None,
    ) -> Ranking:
        """Candidate passages scored by their own and their article's evidence, best first."""
        if s.mode == "dense":
            passages, articles = dense_chunks, self._best_per_article(dense_chunks)
        else:
            keyword = self._keyword(tokens, s.depth, allowed)
            article_keyword = self._article_index.search(tokens, s.depth, allowed_articles)
            if s.mode == "bm25":
                passages, articles = keyword, article_keyword
            else:
                passages = self._fuse(dense_chunks, keyword, s)
                articles = self._fuse(self._best_per_article(dense_chunks), article_keyword, s)
        if s.article_weight == 0 or not articles:
            return passages
        article_score = dict(_scaled(articles))
        scored = {c: (1 - s.article_weight + 1e-6) * v for c, v in _scaled(passages)}  # ties: the better passage
        for chunk_id in list(scored):
            scored[chunk_id] += s.article_weight * article_score.get(int(self._chunk_article[chunk_id]), 0.0)
        have = {int(self._chunk_article[c]) for c in scored}
        missing = [a for a, _ in articles[: s.k * max(1, s.per_article) + 10] if a not in have]
        for article, chunk_id in self._passages_for(missing, tokens).items():
            scored[chunk_id] = s.article_weight * article_score[article]
        return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))

    def _fuse(self, dense: Ranking, keyword: Ranking, s: SearchSettings) -> Ranking:
        weights = [s.dense_weight, 1 - s.dense_weight]
        if s.fusion == "rrf":
            return fusion.rrf([dense, keyword], k=s.rrf_k, weights=weights)
        return fusion.weighted([dense, keyword], weights)

    def _best_per_article(self, chunks: Ranking) -> Ranking:
        """An article's dense score is that of its best passage."""
        best: dict[int, float] = {}
        for chunk_id, score in chunks:  # best first, so the first seen is the max
            best.setdefault(int(self._chunk_article[chunk_id]), score)
        return list(best.items())

    def _passages_for(self, articles: list[int], tokens: list[str]) -> dict[int, int]:
        """The best-matching passage (by BM25, else the first) of articles no method returned a passage of."""
        if not articles:
            return {}
        marks = ",".join("?" * len(articles))
        rows = self.store.db.execute(
            f"SELECT a.rowid, c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE a.rowid IN ({marks})"
            " ORDER BY c.idx DESC",
            articles,
        ).fetchall()
        chosen = {article: chunk_id for article, chunk_id in rows}  # the first passage, as the fallback
        if self.store.keywords is not None and tokens:
            found: set[int] = set()
            for chunk_id, _ in self.store.keywords.search(tokens, len(rows), np.array([c for _, c in rows])):
                article = int(self._chunk_article[chunk_id])
                if article not in found:
                    found.add(article)
                    chosen[article] = chunk_id
        return chosen

    def _dense(self, queries: list[str], depth: int, allowed: np.ndarray | None) -> list[Ranking]:
        if not self.store.vectors.ntotal:
            return [[] for _ in queries]
        vectors = self.encoder.encode(queries)
        scores, ids = self.store.search_vectors(vectors, depth, allowed)
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0] for row_ids, row_scores in zip(ids, scores)]

    def _keyword(self, tokens: list[str], depth: int, allowed: np.ndarray | None) -> Ranking:
        if self.store.keywords is None:
            raise ConfigError(f"index in {self.store.directory} has no BM25 index; re-ingest to build it")
        return self.store.keywords.search(tokens, depth, allowed)

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
        if flt.article_ids:  # ids or URLs (a URL may differ in scheme, "www.", fragment or trailing slash)
            clauses.append(f"a.id IN ({','.join('?' * len(flt.article_ids))})")
            params += [self.store.resolve(a) or a for a in flt.article_ids]
        return self.store.chunk_ids(" AND ".join(clauses), params)

    def _hits(self, query: str, ranking: Ranking, settings: SearchSettings) -> list[Hit]:
        """Hits in ranking order under the per-article cap; rescored by the cross-encoder if set."""
        want = max(settings.k, settings.rerank_depth) if settings.rerank else settings.k
        hits = self._capped(ranking, want, settings.per_article)
        if settings.rerank:
            from qa.rerank import load_reranker

            hits = load_reranker(settings.rerank).rank(query, hits)[: settings.k]
        return hits

    def _capped(self, ranking: Ranking, k: int, per_article: int) -> list[Hit]:
        hits: list[Hit] = []
        seen: dict[str, int] = {}
        for start in range(0, len(ranking), 4 * k):  # fetch rows in slices: most searches need one
            rows = self.store.chunks([cid for cid, _ in ranking[start : start + 4 * k]])
            for chunk_id, score in ranking[start : start + 4 * k]:
                row = rows.get(chunk_id)
                if row is None:
                    continue
                n = seen.get(row.chunk.article_id, 0)
                if per_article and n >= per_article:
                    continue
                seen[row.chunk.article_id] = n + 1
                hits.append(_hit(row, score))
                if len(hits) == k:
                    return hits
        return hits


def _scaled(ranking: Ranking) -> Ranking:
    """Scores mapped to [0, 1] by min-max over the list (all 1.0 when they are equal)."""
    if not ranking:
        return []
    values = [s for _, s in ranking]
    low, span = min(values), max(values) - min(values)
    return [(key, (s - low) / span if span > 0 else 1.0) for key, s in ranking]


def _hit(row: StoredChunk, score: float) -> Hit:
    c = row.chunk
    return Hit(score, row.chunk_id, c.article_id, row.title, row.url, row.published, row.source, c.text, c.start, c.end)


def _check_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("the question is empty; type a question about the articles")
    return query.strip()
