"""The retriever: dense, BM25 or hybrid search over an index, with article-level evidence, filters and diversity."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, replace
from typing import Literal, Sequence, TypeVar

from qa import config, fusion
from qa.encoders import Encoder, load_encoder
from qa.errors import ConfigError
from qa.stores import IndexReader, StoredChunk, check_compatible, open_index
from qa.types import Article, Hit, SearchFilter

log = logging.getLogger(__name__)

Mode = Literal["dense", "bm25", "hybrid"]  # config.MODES, spelled out for type checkers
MODES = config.MODES  # the names older code imports from here
FUSIONS = config.FUSIONS
Ranking = list[tuple[int, float]]
T = TypeVar("T", int, str)
COUNTS = 256  # (version, filter) chunk counts a retriever keeps


@dataclass(frozen=True)
class SearchSettings:
    """Defaults for every search; each can be overridden per call.

    A passage's score mixes its own score with its article's: `article_weight * article + (1 -
    article_weight) * passage`, both scaled to [0, 1]. The article score fuses the best dense
    passage of the article with BM25 over the whole article, so a passage of a strongly matching
    article outranks a lone lucky passage elsewhere.
    """

    k: int = config.K
    mode: str = config.MODE
    fusion: str = config.FUSION
    dense_weight: float = 0.3  # weight of the dense list in either fusion; BM25 gets 1 - dense_weight
    rrf_k: int = config.RRF_K
    article_weight: float = 0.8  # weight of the article score in a passage's score (0: passages alone)
    per_article: int = config.PER_ARTICLE  # at most this many passages of one article in the results (0: no cap)
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
    """Search an index: `Retriever.load("embeddings/").search("question", k=5)`. Thread-safe.

    Each search runs on one snapshot of the index (`IndexReader`). Before it, the retriever checks
    whether a newer state was committed (one small catalog read) and switches to it, so writes by
    other processes show up at the next search; a search in flight finishes on its own snapshot.
    """

    def __init__(self, reader: IndexReader, encoder: Encoder, settings: SearchSettings | None = None, *,
                 auto_refresh: bool = True) -> None:
        check_compatible(reader.manifest, encoder)
        self.encoder = encoder
        self.settings = settings or SearchSettings()
        self.auto_refresh = auto_refresh
        self._reader = reader
        self._switch = threading.Lock()
        self._counts: dict[tuple[int, SearchFilter | None], int] = {}  # chunks passing a filter, per content version

    @classmethod
    def load(
        cls,
        index_dir: str | os.PathLike[str] | None = None,
        *,
        encoder: Encoder | None = None,
        auto_refresh: bool = True,
        **settings: object,
    ) -> Retriever:
        """Open an index (a folder or a backend URI); the encoder defaults to the model named in its manifest."""
        search_settings = SearchSettings(**settings)  # type: ignore[arg-type]
        reader = open_index(index_dir if index_dir is not None else config.default_index_dir()).reader()
        encoder = encoder or load_encoder(reader.manifest.model, reader.manifest.backend)
        return cls(reader, encoder, search_settings, auto_refresh=auto_refresh)

    def refresh(self) -> bool:
        """Switch to the index's newest committed state if another write landed since; True if it did.

        Cheap when nothing changed (one indexed catalog read, tens of microseconds).
        """
        with self._switch:  # one thread builds the next snapshot; the others wait for it (milliseconds)
            fresh = self._reader.reopen()
            if fresh is None:
                return False
            check_compatible(fresh.manifest, self.encoder)
            self._reader = fresh  # searches in flight keep the snapshot they started with
            return True

    def reload(self) -> None:
        """Pick up the newest committed state (same as `refresh()`, kept for callers that ignore the result)."""
        self.refresh()

    def close(self) -> None:
        """Release the index's files and connections (no search may be running)."""
        self._reader.close()

    @property
    def reader(self) -> IndexReader:
        """The snapshot the next search uses."""
        return self._reader

    # -- the index behind the search: what answerers, evaluation and the UI may read ------------
    @property
    def location(self) -> str:
        """Where the index lives (a folder or URI), for messages and caches beside it."""
        return self._reader.location

    @property
    def version(self) -> int:
        """A number that changes whenever the index's content does (caches keyed by it stay valid)."""
        return self._reader.version

    def article(self, article_id: str, *, chunk_id: int | None = None) -> Article | None:
        """The stored article with this id, or None; with `chunk_id` (a Hit's), the revision that hit came from.

        Without `chunk_id` it reads the current snapshot (not refreshed here): another thread's search
        may have moved it past the one a hit came from, so pass the hit's chunk id to be sure.
        """
        return self._reader.article(article_id, chunk_id=chunk_id)

    def articles(self) -> list[Article]:
        """Every stored article, oldest first (of the newest state, when auto-refreshing)."""
        return self._fresh().articles()

    def resolve(self, id_or_url: str) -> str | None:
        """The id of the stored article with this id or URL (a URL may differ in scheme, www., fragment)."""
        return self._fresh().resolve(id_or_url)

    def stats(self) -> dict[str, object]:
        """Articles, chunks, model, segments and size of the index (of the newest state, when auto-refreshing)."""
        return self._fresh().stats()

    def is_empty(self) -> bool:
        """True when the index holds no passage."""
        return not self._count(self._fresh(), None)

    def _count(self, reader: IndexReader, flt: SearchFilter | None) -> int:
        """`reader.count(flt)`, counted once per content version and filter (every search asks it first)."""
        key = (reader.version, flt)
        found = self._counts.get(key)
        if found is None:
            found = reader.count(flt)
            if len(self._counts) >= COUNTS:
                self._counts.clear()
            self._counts[key] = found
        return found

    def _fresh(self) -> IndexReader:
        if self.auto_refresh:
            self.refresh()
        return self._reader

    def search(self, query: str, k: int | None = None, *, filter: SearchFilter | None = None, **overrides: object) -> list[Hit]:
        """The best passages for one query, best first."""
        return self.search_batch([query], k, filter=filter, **overrides)[0]

    def search_batch(
        self, queries: Sequence[str], k: int | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> list[list[Hit]]:
        """The best passages for each query; one list per query, in order."""
        settings = replace(self.settings, **({"k": k} if k is not None else {}), **overrides)  # type: ignore[arg-type]
        queries = [_check_query(q) for q in queries]
        if self.auto_refresh:
            self.refresh()
        reader = self._reader  # this search's snapshot, whatever lands meanwhile
        flt = None if filter is None or filter.empty else filter
        if not self._count(reader, flt):
            return [[] for _ in queries]
        if settings.mode != "bm25":
            dense = reader.search_dense(self.encoder.encode(queries), settings.depth, flt)
        else:
            dense = [[] for _ in queries]
        return [_Search(reader, settings, flt).run(q, d) for q, d in zip(queries, dense)]


class _Search:
    """One query's ranking on one snapshot: passage and article evidence, fused, capped, maybe reranked."""

    def __init__(self, reader: IndexReader, settings: SearchSettings, flt: SearchFilter | None) -> None:
        self.reader, self.s, self.filter = reader, settings, flt
        self.article_of: dict[int, str] = {}

    def run(self, query: str, dense: Ranking) -> list[Hit]:
        return self._hits(query, self._rank(query, dense))

    def _rank(self, query: str, dense_chunks: Ranking) -> Ranking:
        """Candidate passages scored by their own and their article's evidence, best first."""
        s = self.s
        keyword: Ranking = []
        if s.mode != "dense":
            keyword = self.reader.search_keywords(query, s.depth, self.filter)
        self._learn_articles([c for c, _ in dense_chunks] + [c for c, _ in keyword])
        if s.mode == "dense":
            passages, articles = dense_chunks, self._best_per_article(dense_chunks)
        else:
            article_keyword = self.reader.search_articles(query, s.depth, self.filter)
            if s.mode == "bm25":
                passages, articles = keyword, article_keyword
            else:
                passages = self._fuse(dense_chunks, keyword)
                articles = self._fuse(self._best_per_article(dense_chunks), article_keyword)
        if s.article_weight == 0 or not articles:
            return passages
        article_score = dict(_scaled(articles))
        scored = {c: (1 - s.article_weight + 1e-6) * v for c, v in _scaled(passages)}  # ties: the better passage
        for chunk_id in list(scored):
            scored[chunk_id] += s.article_weight * article_score.get(self.article_of.get(chunk_id, ""), 0.0)
        have = {self.article_of.get(c) for c in scored}
        missing = [a for a, _ in articles[: s.k * max(1, s.per_article) + 10] if a not in have]
        for article, chunk_id in self._passages_for(missing, query).items():
            scored[chunk_id] = s.article_weight * article_score[article]
        return sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))

    def _learn_articles(self, chunk_ids: list[int]) -> None:
        unknown = [c for c in chunk_ids if c not in self.article_of]
        if unknown:
            self.article_of.update(self.reader.chunk_articles(unknown))

    def _fuse(self, dense: list[tuple[T, float]], keyword: list[tuple[T, float]]) -> list[tuple[T, float]]:
        weights = [self.s.dense_weight, 1 - self.s.dense_weight]
        if self.s.fusion == "rrf":
            return fusion.rrf([dense, keyword], k=self.s.rrf_k, weights=weights)
        return fusion.weighted([dense, keyword], weights)

    def _best_per_article(self, chunks: Ranking) -> list[tuple[str, float]]:
        """An article's dense score is that of its best passage."""
        best: dict[str, float] = {}
        for chunk_id, score in chunks:  # best first, so the first seen is the max
            best.setdefault(self.article_of[chunk_id], score)
        return list(best.items())

    def _passages_for(self, articles: list[str], query: str) -> dict[str, int]:
        """The best-matching passage (by BM25, else the first) of articles no method returned a passage of."""
        if not articles:
            return {}
        chunks = self.reader.article_chunks(articles)
        chosen = {a: ids[0] for a, ids in chunks.items() if ids}  # the first passage, as the fallback
        if self.s.mode != "dense":
            n = sum(len(ids) for ids in chunks.values())
            found: set[str] = set()
            flt = SearchFilter(article_ids=tuple(chosen))
            hits = self.reader.search_keywords(query, n, flt)
            self._learn_articles([c for c, _ in hits])
            for chunk_id, _ in hits:
                article = self.article_of[chunk_id]
                if article not in found:
                    found.add(article)
                    chosen[article] = chunk_id
        for article, chunk_id in chosen.items():
            self.article_of[chunk_id] = article
        return chosen

    def _hits(self, query: str, ranking: Ranking) -> list[Hit]:
        """Hits in ranking order under the per-article cap; rescored by the cross-encoder if set."""
        s = self.s
        want = max(s.k, s.rerank_depth) if s.rerank else s.k
        hits = self._capped(ranking, want, s.per_article)
        if s.rerank:
            from qa.rerank import load_reranker

            hits = load_reranker(s.rerank).rank(query, hits)[: s.k]
        return hits

    def _capped(self, ranking: Ranking, k: int, per_article: int) -> list[Hit]:
        hits: list[Hit] = []
        seen: dict[str, int] = {}
        for start in range(0, len(ranking), 4 * k):  # fetch rows in slices: most searches need one
            rows = self.reader.chunks([cid for cid, _ in ranking[start : start + 4 * k]])
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


def _scaled(ranking: list[tuple[T, float]]) -> list[tuple[T, float]]:
    """Scores mapped to [0, 1] by min-max over the list (all 1.0 when they are equal)."""
    if not ranking:
        return []
    values = [s for _, s in ranking]
    low, span = min(values), max(values) - min(values)
    return [(key, (s - low) / span if span > 0 else 1.0) for key, s in ranking]


def _hit(row: StoredChunk, score: float) -> Hit:
    c = row.chunk
    return Hit(**row.ref_fields(), score=score, chunk_id=row.chunk_id, text=c.text, start=c.start, end=c.end)


def _check_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("the question is empty; type a question about the articles")
    return query.strip()
