"""The Milvus backend's reader: dense, BM25 and article searches with filters compiled to Milvus expressions."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from qa.errors import StoreError
from qa.lexical import K1, analysed
from qa.stores.base import Scored, StoredChunk
from qa.stores.filters import same_url_key
from qa.stores.manifest import Manifest
from qa.stores.milvus.schema import quote
from qa.types import Article, Chunk, SearchFilter

if TYPE_CHECKING:
    from qa.stores.milvus import MilvusIndex

log = logging.getLogger(__name__)

BATCH = 1000  # ids per `id in [...]` query (a query returns at most 16,384 rows)
COUNTS = 256  # filtered counts a reader keeps (a filter is a user's choice: few repeat, but the same one often)
CONSISTENCY = os.environ.get("QA_MILVUS_CONSISTENCY", "Strong")  # or Bounded, Session, Eventually
_NOTHING = "id < 0"  # an expression no row passes
_CHUNK = ["id", "article_id", "idx", "start", "end", "text", "title", "url", "published", "source"]
_ARTICLE = ["article_id", "part", "parts", "text", "title", "url", "published", "source", "author", "added", "hash"]


class MilvusReader:
    """An index in Milvus as of `version`: reads go to the live collections; `reopen()` polls the version."""

    def __init__(self, index: MilvusIndex, manifest: Manifest, version: int) -> None:
        self.index, self.manifest, self.version = index, manifest, version
        self.location = index.location
        self._bm25: bool | None = None
        self._own: bool | None = None  # `doc` holds qa.lexical's tokens (else raw text: an index built before)
        self._counts: dict[SearchFilter | None, int] = {}  # chunks passing a filter, counted once per reader (version)

    def reopen(self) -> MilvusReader | None:
        newest = self.index.version()
        return None if newest == self.version else MilvusReader(self.index, self.index.manifest(), newest)

    def close(self) -> None:
        """Nothing to release: the connection belongs to the index (other readers share it)."""

    # -- helpers -----------------------------------------------------------------------------
    def _query(self, collection: str, expr: str, fields: list[str], what: str, **kw: Any) -> list[dict[str, Any]]:
        return self.index.call(what, "query", collection, filter=expr, output_fields=fields,
                               consistency_level=CONSISTENCY, **kw)

    def _keywords_available(self) -> None:
        if self._bm25 is None:
            self._bm25 = self.index.keyword_search_ready()
        if not self._bm25:
            raise StoreError(f"{self.location}: this Milvus server has no BM25 (it needs Milvus 2.5 or later), so "
                             "bm25 and hybrid search cannot run here; use --mode dense")
        if self._own is None:
            self._own = self.index.own_keywords()
            if not self._own:
                warn_engine_analysis(self.index)

    def expression(self, flt: SearchFilter | None) -> str | None:
        """The filter as a Milvus boolean expression over the scalar fields ('' for none, None: nothing passes)."""
        if flt is None or flt.empty:
            return ""
        clauses = []
        if flt.sources:
            names = "[" + ", ".join(quote(s) for s in flt.sources) + "]"
            clauses.append(f"(source in {names} or host in {names})")
        if flt.since:
            clauses.append(f'(published != "" and published >= {quote(flt.since)})')
        if flt.until:
            clauses.append(f'(published != "" and published <= {quote(flt.until)})')
        if flt.article_ids:
            ids = self._resolve_many(flt.article_ids)
            if not ids:
                return None
            clauses.append("article_id in [" + ", ".join(quote(i) for i in ids) + "]")
        return " and ".join(clauses)

    # -- search ------------------------------------------------------------------------------
    def search_dense(self, vectors: np.ndarray, k: int, filter: SearchFilter | None = None) -> list[list[Scored]]:
        queries = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.manifest.dimension)
        expr = self.expression(filter)
        if expr is None or not len(queries) or k <= 0:
            return [[] for _ in range(len(queries))]
        hits = self.index.call("search", "search", self.index.chunks_name, data=queries.tolist(), anns_field="vector",
                               limit=k, filter=expr, output_fields=["id"], search_params={"metric_type": "IP"},
                               consistency_level=CONSISTENCY)
        return [sorted(((int(h.id), float(h["distance"])) for h in row), key=lambda x: (-x[1], x[0])) for row in hits]

    def search_keywords(self, query: str, k: int, filter: SearchFilter | None = None) -> list[Scored]:
        return [(int(i), s) for i, s in self._bm25_search(self.index.chunks_name, query, k, filter, ["id"])]

    def search_articles(self, query: str, k: int, filter: SearchFilter | None = None) -> list[tuple[str, float]]:
        """Articles by BM25 over their text; a long article (stored in parts) scores as its best part."""
        best: dict[str, float] = {}
        for (_, article_id), score in self._bm25_search(self.index.articles_name, query, k * 2, filter, ["article_id"]):
            best[article_id] = max(best.get(article_id, 0.0), score)
        return sorted(best.items(), key=lambda x: (-x[1], x[0]))[:k]

    def _bm25_search(self, collection: str, query: str, k: int, flt: SearchFilter | None, fields: list[str]) -> list:
        self._keywords_available()
        text = analysed([query])[0] if self._own else query  # the query's tokens as the local index counts them
        expr = self.expression(flt)
        if expr is None or not text.strip() or k <= 0:
            return []
        hits = self.index.call("search", "search", collection, data=[text], anns_field="sparse", limit=k, filter=expr,
                               output_fields=fields, search_params={"metric_type": "BM25"}, consistency_level=CONSISTENCY)
        # Milvus's BM25 has a (k1 + 1) factor in every term's weight that the local index's leaves out
        scale = 1 / (K1 + 1) if self._own else 1.0
        out = []
        for h in hits[0] if hits else []:
            score = abs(float(h["distance"])) * scale  # milvus-lite 3 reports BM25 scores negated
            if score > 0:
                key = (h.id, h["entity"]["article_id"]) if "article_id" in fields else h.id
                out.append((key, score))
        return out

    def count(self, filter: SearchFilter | None = None) -> int:
        """Chunks passing the filter, counted once per reader, that is per content version (the retriever asks
        before every search; a write makes a new version, and `reopen()` a new reader)."""
        key = None if filter is None or filter.empty else filter
        found = self._counts.get(key)
        if found is not None:
            return found
        expr = self.expression(key)
        if expr is None:
            return 0
        rows = self._query(self.index.chunks_name, expr or "id >= 0", ["count(*)"], "count chunks")
        found = int(rows[0]["count(*)"]) if rows else 0
        if len(self._counts) >= COUNTS:
            self._counts.clear()
        self._counts[key] = found
        return found

    # -- rows --------------------------------------------------------------------------------
    def _by_ids(self, ids: Sequence[int], fields: list[str]) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys(int(i) for i in ids))
        out: list[dict[str, Any]] = []
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            out += self._query(self.index.chunks_name, f"id in {part}", fields, "read chunks")
        return out

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        out = {}
        for r in self._by_ids(ids, _CHUNK):
            chunk = Chunk(r["article_id"], int(r["idx"]), int(r["start"]), int(r["end"]), r["text"])
            out[int(r["id"])] = StoredChunk(chunk_id=int(r["id"]), chunk=chunk, article_id=r["article_id"], title=r["title"],
                                            url=r["url"], published=r["published"], source=r["source"])
        return out

    def chunk_articles(self, ids: Sequence[int]) -> dict[int, str]:
        return {int(r["id"]): r["article_id"] for r in self._by_ids(ids, ["id", "article_id"])}

    def article_chunks(self, article_ids: Sequence[str]) -> dict[str, list[int]]:
        found: dict[str, list[tuple[int, int]]] = {}
        names = list(dict.fromkeys(article_ids))
        for start in range(0, len(names), 100):
            expr = "article_id in [" + ", ".join(quote(a) for a in names[start : start + 100]) + "]"
            for r in self._query(self.index.chunks_name, expr, ["id", "article_id", "idx"], "read chunks", limit=16_384):
                found.setdefault(r["article_id"], []).append((int(r["idx"]), int(r["id"])))
        return {a: [i for _, i in sorted(v)] for a, v in found.items()}

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        rows = {int(r["id"]): r["vector"] for r in self._by_ids(ids, ["id", "vector"])}
        missing = [int(i) for i in ids if int(i) not in rows]
        if missing:
            raise KeyError(f"no live chunk with id {missing[0]}")
        return np.array([rows[int(i)] for i in ids], dtype=np.float32).reshape(len(ids), self.manifest.dimension)

    def article(self, article_id: str, *, chunk_id: int | None = None) -> Article | None:
        if chunk_id is not None and not self._query(self.index.chunks_name,
                                                     f"id == {int(chunk_id)} and article_id == {quote(article_id)}",
                                                     ["id"], "read chunks"):
            return None  # that revision is gone (Milvus keeps no old revisions)
        rows = self._query(self.index.articles_name, f"article_id == {quote(article_id)}", _ARTICLE, "read articles")
        return _assemble(rows)[0] if rows else None

    def _all_articles(self, fields: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        iterator = self.index.call("read articles", "query_iterator", self.index.articles_name, batch_size=1000,
                                   filter='article_id != ""', output_fields=fields)
        try:
            while batch := iterator.next():
                rows += batch
        finally:
            iterator.close()
        return rows

    def articles(self) -> list[Article]:
        return _assemble(self._all_articles(_ARTICLE))

    def iter_chunks(self) -> Iterator[tuple[int, str, str, str]]:
        """(chunk id, article id, title, text) of every chunk, by id (read in batches of a thousand, then sorted)."""
        iterator = self.index.call("read chunks", "query_iterator", self.index.chunks_name, batch_size=1000,
                                   filter="id >= 0", output_fields=["id", "article_id", "title", "text"])
        rows = []
        try:
            while batch := iterator.next():
                rows += [(int(r["id"]), r["article_id"], r["title"], r["text"]) for r in batch]
        finally:
            iterator.close()
        yield from sorted(rows)

    def resolve(self, id_or_url: str) -> str | None:
        found = self._resolve_many((id_or_url,))
        return found[0] if found else None

    def _resolve_many(self, keys: Sequence[str]) -> list[str]:
        """Article ids for ids or URLs: an exact id wins, then an exact URL, then the same page's URL."""
        return resolve_articles(self.index, keys, CONSISTENCY)

    def stats(self) -> dict[str, Any]:
        rows = self._query(self.index.articles_name, "part == 0", ["count(*)"], "count articles")
        return {
            "index": self.location, "articles": int(rows[0]["count(*)"]) if rows else 0, "chunks": self.count(),
            "model": self.manifest.model, "backend": self.manifest.backend, "dimension": self.manifest.dimension,
            "chunking": self.manifest.chunking, "version": self.version, "store": "milvus-lite" if self.index.target.lite
            else "milvus", "keyword_search": keyword_search(self.index),
        }


def keyword_search(index: MilvusIndex) -> str:
    """How this index's keyword search analyses text, for `qa stats`."""
    if not index.keyword_search_ready():
        return "none (dense only)"
    analyzer = index.meta_value("analyzer") or "standard"
    if index.own_keywords():
        return f"milvus BM25 over qa's own tokens (stemmed, as the local index; {analyzer} split)"
    return f"milvus BM25 ({analyzer} analyzer of the engine; `qa migrate --index {index.location}` re-analyses it as qa does)"


_WARNED: set[str] = set()


def warn_engine_analysis(index: MilvusIndex) -> None:
    """Say once per index and process that its keyword search is the engine's own analysis, and what to run."""
    if index.location not in _WARNED:
        _WARNED.add(index.location)
        log.warning("%s was built before qa analysed keywords itself: its BM25 uses Milvus's %s analyzer, so keyword "
                    "ranks differ from the local index's; run `qa migrate --index %s` to re-analyse it (once)",
                    index.location, index.meta_value("analyzer") or "standard", index.location)


def resolve_articles(index: MilvusIndex, keys: Sequence[str], consistency: str = "Strong") -> list[str]:
    """Article ids for ids or URLs, in the order given (keys naming no stored article are left out)."""
    keys = [k for k in keys if k]
    if not keys:
        return []
    url_keys = {k: same_url_key(k) for k in keys if k.strip().lower().startswith(("http://", "https://"))}
    listed = lambda xs: "[" + ", ".join(quote(x) for x in xs) + "]"  # noqa: E731
    expr = f"part == 0 and (article_id in {listed(keys)} or url in {listed(keys)}"
    expr += f" or url_key in {listed(set(url_keys.values()))})" if url_keys else ")"
    rows = index.call("resolve articles", "query", index.articles_name, filter=expr,
                      output_fields=["article_id", "url", "url_key"], consistency_level=consistency)
    ids = {r["article_id"] for r in rows}
    out = []
    for key in keys:
        if key in ids:
            out.append(key)
            continue
        match = sorted(r["article_id"] for r in rows if r["url"] == key) or \
            sorted(r["article_id"] for r in rows if key in url_keys and r["url_key"] == url_keys[key])
        if match:
            out.append(match[0])
    return out


def _assemble(rows: list[dict[str, Any]]) -> list[Article]:
    """Articles from their part rows, oldest first."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_id.setdefault(r["article_id"], []).append(r)
    out = []
    for parts in by_id.values():
        parts.sort(key=lambda r: r["part"])
        head = parts[0]
        parts = [p for p in parts if p["hash"] == head["hash"]]  # a write in progress may leave an older revision's
        if head["part"] != 0 or len(parts) != head["parts"]:
            continue  # a write in progress: not all parts are there yet
        text = "".join(p["text"] for p in parts)
        out.append((head["added"], head["article_id"], Article(head["article_id"], text, head["title"], head["url"],
                                                               head["published"], head["source"], head["author"])))
    return [a for _, _, a in sorted(out, key=lambda x: (x[0], x[1]))]
