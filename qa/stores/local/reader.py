"""The local backend's reader: the index at one commit (segments, live masks), searched and read consistently.

A snapshot is the state at one commit: the segments live then, and which of their chunks and
articles are live (tombstones are the catalog's dead article revisions). `reopen()` checks the
newest commit (one indexed lookup) and builds the next snapshot from the previous one: only new
segments are opened, only the deaths since are applied, and masks that change are copied, so
searches in flight on the old snapshot keep theirs.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from qa.errors import StoreError
from qa.lexical import term_ids, tokenize
from qa.stores.base import Scored, StoredChunk
from qa.stores.filters import compile_filter, resolve
from qa.stores.local import catalog, keywords
from qa.stores.local.catalog import LIVE, errors
from qa.stores.local.layout import Connections, IndexFolder
from qa.stores.local.locks import readers_shared
from qa.stores.local.segment import Segment
from qa.stores.manifest import Manifest
from qa.types import Article, Chunk, SearchFilter

log = logging.getLogger(__name__)

_ARTICLE = "a.id, a.text, a.title, a.url, a.published, a.source, a.author"
_FEW_ARTICLES = 2000  # a filter passing at most this many articles is not cached (cheap to apply)


@dataclass(frozen=True)
class SegmentView:
    """A segment as one snapshot sees it."""

    segment: Segment
    live: np.ndarray  # bool per chunk position
    article_live: np.ndarray  # bool per article-document position
    live_chunks: int
    chunk_length: float  # summed keyword length of the live chunks
    live_articles: int
    article_length: float
    bytes: int = 0  # the segment's files, as its catalog row says


class LocalReader:
    """The index at one commit: dense and keyword search, rows, stats. Immutable and thread-safe."""

    # BM25 statistics over the live documents (exact: a score never depends on unmerged deletes), or
    # "segments": every document in the segments counts until merged away, as in Lucene (to measure it)
    statistics = "live"

    def __init__(self, root: Path, manifest: Manifest, db: Connections, state: catalog.CommitInfo,
                 parts: dict[int, SegmentView]) -> None:
        self.root, self.location, self.manifest, self._db = root, str(root), manifest, db
        self.state = state.version  # the commit this snapshot is
        self.version = state.content  # changes only when content does
        self._info = state
        self._parts = parts
        self._order = list(parts.values())
        self._filters: OrderedDict[SearchFilter, list[tuple[np.ndarray, np.ndarray]]] = OrderedDict()
        self._filters_lock = threading.Lock()
        self._chunk_article: OrderedDict[int, str] = OrderedDict()
        self._n_chunks = sum(p.live_chunks for p in self._order)
        self._chunk_length = sum(p.chunk_length for p in self._order)
        self._n_articles = sum(p.live_articles for p in self._order)
        self._article_length = sum(p.article_length for p in self._order)

    @property
    def views(self) -> list[SegmentView]:
        """The segments of this snapshot as it sees them, in article-key order."""
        return list(self._order)

    @property
    def view_ids(self) -> list[int]:
        return list(self._parts)

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path, manifest: Manifest, db: Connections, previous: LocalReader | None = None) -> LocalReader:
        """The newest committed state, reusing the previous snapshot's open segments."""
        conn = db.get()
        with errors(f"cannot read the index catalog in {root}"):
            with readers_shared(root):  # no segment file of this state is deleted until all are open
                state = catalog.head(conn)
                rows = catalog.live_segments(conn, state.version)
                old = previous._parts if previous else {}
                segments = {r.id: old[r.id].segment if r.id in old else _open_segment(root, r.id, manifest) for r in rows}
            since = min([previous.state if previous else state.version]
                        + [r.content_at for r in rows if r.id not in old])
            deaths = _Deaths(conn, since, state.version)
            parts = {}
            for row in rows:
                if row.id in old:  # only the deaths since the previous snapshot
                    parts[row.id] = deaths.apply(old[row.id], previous.state)  # type: ignore[union-attr]
                else:
                    parts[row.id] = deaths.apply(_fresh_part(segments[row.id], row.bytes), row.content_at)
        return cls(root, manifest, db, state, parts)

    def reopen(self) -> LocalReader | None:
        with errors(f"cannot read the index catalog in {self.root}"):
            newest = catalog.newest_version(self._db.get())
        if newest == self.state:
            return None
        try:
            manifest = Manifest.read(self.root)
        except StoreError:
            manifest = self.manifest
        # a changed vector index choice (qa optimize --vectors) reopens every segment with it
        return LocalReader.open(self.root, manifest, self._db, self if manifest == self.manifest else None)

    def close(self) -> None:
        self._db.close()

    # -- search ------------------------------------------------------------------------------
    def search_dense(self, vectors: np.ndarray, k: int, filter: SearchFilter | None = None) -> list[list[Scored]]:
        queries = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.manifest.dimension)
        results: list[list[tuple[float, int]]] = [[] for _ in range(len(queries))]
        for part, (mask, _) in zip(self._order, self._masks(filter)):
            if not mask.any():
                continue
            scores, positions = part.segment.vectors.search(queries, k, mask)
            ids = np.asarray(part.segment.ids)
            for row, (s, p) in enumerate(zip(scores, positions)):
                results[row] += [(float(x), int(ids[q])) for x, q in zip(s, p) if q >= 0]
        out = []
        for found in results:
            found.sort(key=lambda x: (-x[0], x[1]))
            out.append([(chunk_id, score) for score, chunk_id in found[:k]])
        return out

    def search_keywords(self, query: str, k: int, filter: SearchFilter | None = None) -> list[Scored]:
        parts = [keywords.Part(p.segment.chunk_postings, p.segment.ids, p.live, m)
                 for p, (m, _) in zip(self._order, self._masks(filter))]
        return keywords.search(parts, term_ids(tokenize([query])[0]), k, *self._totals("chunks"),
                               count_deleted=self.statistics == "segments")

    def search_articles(self, query: str, k: int, filter: SearchFilter | None = None) -> list[tuple[str, float]]:
        parts = [keywords.Part(p.segment.article_postings, p.segment.article_keys, p.article_live, m)
                 for p, (_, m) in zip(self._order, self._masks(filter))]
        found = keywords.search(parts, term_ids(tokenize([query])[0]), k, *self._totals("articles"),
                                count_deleted=self.statistics == "segments")
        ids = self._article_ids([key for key, _ in found])
        return [(ids[key], score) for key, score in found if key in ids]

    def _totals(self, level: str) -> tuple[int, float]:
        """(documents, summed length) for BM25: live ones, or every one in the segments."""
        chunks = level == "chunks"
        if self.statistics != "segments":
            return (self._n_chunks, self._chunk_length) if chunks else (self._n_articles, self._article_length)
        postings = [p.segment.chunk_postings if chunks else p.segment.article_postings for p in self._order]
        return sum(x.n_docs for x in postings), float(sum(np.asarray(x.lengths, np.float64).sum() for x in postings))

    def count(self, filter: SearchFilter | None = None) -> int:
        if filter is None or filter.empty:
            return self._n_chunks
        return sum(int(np.count_nonzero(m & p.live)) for p, (m, _) in zip(self._order, self._masks(filter)))

    def _masks(self, flt: SearchFilter | None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per part: (chunks, article documents) that are live and pass the filter.

        A filter naming few articles is located by their chunk ids; a broad one is matched against
        every chunk's article key, once per snapshot (cached).
        """
        if flt is None or flt.empty:
            return [(p.live, p.article_live) for p in self._order]
        with self._filters_lock:
            cached = self._filters.get(flt)
        if cached is not None:
            return cached
        conn = self._db.get()
        with errors("cannot apply the search filter"):
            where, params = compile_filter(conn, flt, self.state)
            keys = np.array([r[0] for r in conn.execute(f"SELECT a.key FROM articles a WHERE {where}", params)],
                            dtype=np.int64)
            keys.sort()
            few = len(keys) <= _FEW_ARTICLES
            if few and len(keys):
                chunk_ids = np.array(sorted(r[0] for r in conn.execute(
                    f"SELECT id FROM chunks WHERE article IN ({','.join('?' * len(keys))})", keys.tolist())), np.int64)
        masks = []
        for p in self._order:
            if few:
                chunk_mask = np.zeros_like(p.live)
                if len(keys):
                    chunk_mask[p.segment.positions(chunk_ids)] = True
            else:
                chunk_mask = np.isin(np.asarray(p.segment.articles), keys)
            article_mask = np.zeros_like(p.article_live)
            article_mask[p.segment.article_positions(keys)] = True
            masks.append((chunk_mask & p.live, article_mask & p.article_live))
        if not few:
            with self._filters_lock:
                self._filters[flt] = masks
                while len(self._filters) > 16:
                    self._filters.popitem(last=False)
        return masks

    # -- rows --------------------------------------------------------------------------------
    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        ids = [int(i) for i in ids if i >= 0]
        out: dict[int, StoredChunk] = {}
        conn = self._db.get()
        with errors("cannot read chunks from the index catalog"):
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                rows = conn.execute(
                    'SELECT c.id, a.id, c.idx, c.start, c."end", substr(a.text, c.start + 1, c."end" - c.start),'
                    " a.title, a.url, a.published, a.source FROM chunks c JOIN articles a ON a.key = c.article"
                    f" WHERE c.id IN ({','.join('?' * len(part))})", part).fetchall()
                for r in rows:
                    out[r[0]] = StoredChunk(chunk_id=r[0], chunk=Chunk(r[1], r[2], r[3], r[4], r[5]), article_id=r[1], title=r[6],
                                            url=r[7], published=r[8], source=r[9])
        return out

    def chunk_articles(self, ids: Sequence[int]) -> dict[int, str]:
        ids = [int(i) for i in ids]
        with self._filters_lock:
            out = {i: self._chunk_article[i] for i in ids if i in self._chunk_article}
        missing = [i for i in ids if i not in out]
        if missing:
            conn = self._db.get()
            with errors("cannot read chunks from the index catalog"):
                for start in range(0, len(missing), 500):
                    part = missing[start : start + 500]
                    out.update(conn.execute("SELECT c.id, a.id FROM chunks c JOIN articles a ON a.key = c.article"
                                            f" WHERE c.id IN ({','.join('?' * len(part))})", part).fetchall())
            with self._filters_lock:  # a chunk's article never changes: remember it
                self._chunk_article.update((i, out[i]) for i in missing if i in out)
                while len(self._chunk_article) > 200_000:
                    self._chunk_article.popitem(last=False)
        return out

    def _article_ids(self, keys: Sequence[int]) -> dict[int, str]:
        if not keys:
            return {}
        with errors("cannot read articles from the index catalog"):
            return dict(self._db.get().execute(
                f"SELECT key, id FROM articles WHERE key IN ({','.join('?' * len(keys))})", list(keys)).fetchall())

    def article_chunks(self, article_ids: Sequence[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        if not article_ids:
            return out
        with errors("cannot read chunks from the index catalog"):
            rows = self._db.get().execute(
                f"SELECT a.id, c.id FROM articles a JOIN chunks c ON c.article = a.key WHERE {LIVE} AND a.id IN"
                f" ({','.join(f':i{n}' for n in range(len(article_ids)))}) ORDER BY c.idx",
                {"v": self.state, **{f"i{n}": a for n, a in enumerate(article_ids)}}).fetchall()
        for article_id, chunk_id in rows:
            out.setdefault(article_id, []).append(chunk_id)
        return out

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        out = np.zeros((len(ids), self.manifest.dimension), dtype=np.float32)
        wanted = np.asarray(ids, dtype=np.int64)
        found = np.zeros(len(ids), dtype=bool)
        for p in self._order:
            seg_ids = np.asarray(p.segment.ids)
            if not len(seg_ids):
                continue
            at = np.minimum(np.searchsorted(seg_ids, wanted), len(seg_ids) - 1)
            hit = (seg_ids[at] == wanted) & p.live[at]
            out[hit] = np.asarray(p.segment.vectors.matrix[at[hit]])
            found |= hit
        if not found.all():
            raise KeyError(f"no live chunk with id {int(wanted[~found][0])}")
        return out

    def article(self, article_id: str, *, chunk_id: int | None = None) -> Article | None:
        with errors("cannot read articles from the index catalog"):
            if chunk_id is not None:
                row = self._db.get().execute(f"SELECT {_ARTICLE} FROM chunks c JOIN articles a ON a.key = c.article"
                                             " WHERE c.id = ? AND a.id = ?", (int(chunk_id), article_id)).fetchone()
            else:
                row = self._db.get().execute(f"SELECT {_ARTICLE} FROM articles a WHERE a.id = :i AND {LIVE}",
                                             {"i": article_id, "v": self.state}).fetchone()
        return Article(*row) if row else None

    def articles(self) -> list[Article]:
        with errors("cannot read articles from the index catalog"):
            rows = self._db.get().execute(f"SELECT {_ARTICLE} FROM articles a WHERE {LIVE} ORDER BY a.added, a.key",
                                          {"v": self.state}).fetchall()
        return [Article(*r) for r in rows]

    def iter_chunks(self) -> Iterator[tuple[int, str, str, str]]:
        """(chunk id, article id, title, text) of every live chunk, by id: streamed, a thousand rows at a time."""
        with errors("cannot read chunks from the index catalog"):
            cursor = self._db.get().execute(
                'SELECT c.id, a.id, a.title, substr(a.text, c.start + 1, c."end" - c.start) FROM chunks c'
                f" JOIN articles a ON a.key = c.article WHERE {LIVE} ORDER BY c.id", {"v": self.state})
            try:
                while rows := cursor.fetchmany(1000):
                    yield from rows
            finally:
                cursor.close()  # ends the read transaction even when the caller stops early

    def resolve(self, id_or_url: str) -> str | None:
        with errors("cannot read articles from the index catalog"):
            return resolve(self._db.get(), id_or_url, self.state)

    def stats(self) -> dict[str, Any]:
        segments = self._order
        size = sum(p.stat().st_size for p in self.root.glob("catalog.sqlite*")) + sum(p.bytes for p in segments)
        return {
            "index": self.location, "articles": self._n_articles, "chunks": self._n_chunks,
            "model": self.manifest.model, "backend": self.manifest.backend, "dimension": self.manifest.dimension,
            "chunking": self.manifest.chunking, "version": self.version, "commit": self.state,
            "segments": len(segments), "deleted_chunks": sum(len(p.live) - p.live_chunks for p in segments),
            "vector_index": self.manifest.vectors.index,
            "approximate_segments": sum(p.segment.approximate for p in segments), "size_bytes": size,
        }


def _open_segment(root: Path, segment_id: int, manifest: Manifest) -> Segment:
    approximate = manifest.vectors.index != "exact"
    return Segment(IndexFolder(root).segment_path(segment_id), approximate=approximate, nprobe=manifest.vectors.nprobe or None)


def _fresh_part(seg: Segment, size: int) -> SegmentView:
    live = np.ones(len(seg), dtype=bool)
    article_live = np.ones(len(seg.article_keys), dtype=bool)
    return _summed(seg, live, article_live, size)


def _summed(seg: Segment, live: np.ndarray, article_live: np.ndarray, size: int) -> SegmentView:
    chunk_length = float(np.asarray(seg.chunk_postings.lengths, dtype=np.float64)[live].sum())
    article_length = float(np.asarray(seg.article_postings.lengths, dtype=np.float64)[article_live].sum())
    return SegmentView(seg, live, article_live, int(live.sum()), chunk_length, int(article_live.sum()), article_length, size)


class _Deaths:
    """Chunks and article documents that died in (since, upto], read once for every part of a snapshot."""

    def __init__(self, conn: sqlite3.Connection, since: int, upto: int) -> None:
        chunks = catalog.dead_chunks(conn, since, upto) if upto > since else []
        articles = catalog.dead_articles(conn, since, upto) if upto > since else []
        self.chunks = np.array(chunks, dtype=np.int64).reshape(-1, 2)  # (chunk id, died)
        self.articles = np.array(articles, dtype=np.int64).reshape(-1, 2)  # (article key, died)

    def apply(self, part: SegmentView, after: int) -> SegmentView:
        """The part with what died after `after` marked dead (a copy when anything did)."""
        seg = part.segment
        chunks = seg.positions(np.sort(self.chunks[self.chunks[:, 1] > after, 0]))
        articles = seg.article_positions(np.sort(self.articles[self.articles[:, 1] > after, 0]))
        if not len(chunks) and not len(articles):
            return part
        live, article_live = part.live.copy(), part.article_live.copy()  # searches in flight keep the old masks
        live[chunks] = False
        article_live[articles] = False
        return _summed(seg, live, article_live, part.bytes)
