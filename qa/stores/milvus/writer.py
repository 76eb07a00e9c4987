"""The Milvus backend's writer: upserts by stable chunk id, replaces and removes with delete(filter=...).

Order of a commit, so that a crash never loses what was stored: (1) the new chunk rows are
upserted (ids are hashes of article id, content hash and chunk index, so a retry overwrites, never
duplicates); (2) the articles' rows are upserted; (3) the replaced revisions' chunk and article rows
are deleted by filter (`article_id == "…" and hash != "<new>"`), removed articles' by
`article_id in [...]`; (4) the content version is bumped, which readers poll. Between (1) and (3) a
reader may briefly see both revisions of a replaced article; it never sees none.
A milvus-lite file also takes a file lock beside it (one writer at a time, as locally).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import urlsplit

import numpy as np

from qa.errors import StoreError
from qa.stores.base import ChunkSink, WriteBlock, check_put
from qa.lexical import analysed
from qa.stores.filters import same_url_key
from qa.stores.local.locks import DEFAULT_TIMEOUT, FileLock
from qa.stores.manifest import Manifest
from qa.stores.milvus.reader import resolve_articles
from qa.stores.milvus.schema import DUMMY_DIM, SHORT, TEXT_BYTES, create_collections, quote
from qa.types import Article, Chunk

if TYPE_CHECKING:
    from qa.stores.milvus import MilvusIndex

log = logging.getLogger(__name__)

FLUSH_CHUNKS = 2048  # chunk rows buffered before they are upserted (they stay invisible to `stored_hash`)
GROUP = 100  # articles per delete expression
PAIRS = 8  # (article, revision) pairs per delete expression: the Milvus 2.5 engine rewrites longer chains
# of `(article_id == A and hash != H) or …` into a plan it cannot run ("unsupported expr proto node")


def chunk_id(article_id: str, content_hash: str, index: int) -> int:
    """A stable INT64 chunk id (63 bits of a hash): the same chunk of the same revision always gets it."""
    digest = hashlib.blake2b(f"{article_id}\x00{content_hash}\x00{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def clip(text: str, limit: int = SHORT) -> str:
    """Text cut to at most `limit` UTF-8 bytes (on a character boundary)."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def text_parts(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Text split into pieces of at most `limit` UTF-8 bytes (at least one piece)."""
    parts, current, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    parts.append("".join(current))
    return parts


def host_of(url: str) -> str:
    return urlsplit(url).netloc if "://" in url else ""


def keyword_docs(texts: Sequence[str], own: bool = True) -> list[str]:
    """The BM25 input of each text: its qa.lexical tokens joined by spaces (`own`), else the text as is (an index
    built before, whose engine analyses it), at most 65,535 bytes either way."""
    if not own:
        return [clip(text, 65_535) for text in texts]
    return [doc if len(doc) <= 16_383 or len(doc.encode("utf-8")) <= 65_535 else clip(doc, 65_535).rsplit(" ", 1)[0]
            for doc in analysed(texts)]


def chunk_rows(article: Article, chunks: Sequence[Chunk], vectors: np.ndarray | None, txn: int = 0, *,
               own_keywords: bool = True) -> list[dict[str, Any]]:
    """The chunk collection's rows of an article revision (without "vector" when `vectors` is None)."""
    title, host = clip(article.title), clip(host_of(article.url))
    docs = keyword_docs([f"{article.title}\n{c.text}" if article.title else c.text for c in chunks], own_keywords)
    rows = [{"id": chunk_id(article.id, article.content_hash, c.index), "article_id": article.id,
             "source": clip(article.source), "host": host, "published": article.published, "hash": article.content_hash,
             "txn": txn, "idx": c.index, "start": c.start, "end": c.end, "title": title, "url": clip(article.url),
             "text": clip(c.text, 65_535), "doc": doc}
            for c, doc in zip(chunks, docs)]
    if vectors is not None:
        for row, v in zip(rows, vectors):
            row["vector"] = v.tolist()
    return rows


def article_rows(article: Article, added: float, *, dummy: bool, own_keywords: bool = True) -> list[dict[str, Any]]:
    """The article collection's rows (one per text part) of an article revision."""
    parts = text_parts(article.text)
    base = {"article_id": article.id, "parts": len(parts), "title": clip(article.title), "url": clip(article.url),
            "url_key": clip(same_url_key(article.url)) if article.url else "", "published": article.published,
            "source": clip(article.source), "host": clip(host_of(article.url)), "author": clip(article.author),
            "hash": article.content_hash, "added": added}
    rows = []
    docs = keyword_docs([f"{clip(article.title, 4096)}\n{piece}" if article.title and i == 0 else piece
                         for i, piece in enumerate(parts)], own_keywords)
    for i, (piece, doc) in enumerate(zip(parts, docs)):
        row = {**base, "pid": f"{article.id}#{i}", "part": i, "text": piece, "doc": doc}
        if dummy:
            row["dummy"] = [0.0] * DUMMY_DIM
        rows.append(row)
    return rows


class MilvusWriter(WriteBlock):
    """One write to a Milvus index: `with index.writer(manifest) as w: w.put(...)` commits on success."""

    def __init__(self, index: MilvusIndex, manifest: Manifest | None, *, timeout: float | None = None) -> None:
        self.index = index
        self._lock = FileLock(index.target.path.with_name(index.target.path.name + ".lock")) \
            if index.target.path is not None else None
        if self._lock is not None:
            self._lock.acquire(DEFAULT_TIMEOUT if timeout is None else timeout)
        try:
            self.manifest, self._new = self._manifest(manifest)
            if not self._new:
                index.load()  # a reopened milvus-lite file or a restarted server has them released
            self._start_version = 0 if self._new else index.version()
            # a new index gets qa.lexical's tokens; one built before keeps the engine's analysis until `qa migrate`
            self.own_keywords = self._new or index.own_keywords()
        except BaseException:
            self._release()
            raise
        self._txn = random.getrandbits(62) + 1  # marks this write's early-upserted chunk rows (abort deletes them)
        self._puts: dict[str, tuple[Article, float]] = {}  # article id -> revision put by this write
        self._removed: set[str] = set()  # stored articles this write removes
        self._pending: list[dict[str, Any]] = []  # chunk rows not yet upserted
        self._upserted = False
        self._done = False
        self._created = False  # this write made the collections (before the manifest)

    def _manifest(self, given: Manifest | None) -> tuple[Manifest, bool]:
        if self.index.exists():
            stored = self.index.manifest()
            if given is not None and not stored.same_build(given):
                raise StoreError(f"index at {self.index.location} was built with model {stored.model!r} "
                                 f"({stored.dimension}-d, {stored.backend}), chunking {stored.chunking}; this write is for "
                                 f"model {given.model!r} ({given.dimension}-d), chunking {given.chunking}: use a new collection")
            return stored, False
        if given is None:
            raise StoreError(f"no index at {self.index.location}; build one with `qa ingest --index {self.index.location} SOURCES`")
        return given, True

    # -- this write's view -----------------------------------------------------------------
    def _stored(self, article_id: str) -> dict[str, Any] | None:
        if self._new:
            return None
        rows = self.index.call("read articles", "query", self.index.articles_name,
                               filter=f"article_id == {quote(article_id)} and part == 0",
                               output_fields=["hash", "added"], consistency_level="Strong")
        return rows[0] if rows else None

    def stored_hash(self, article_id: str) -> str | None:
        if article_id in self._puts:
            return self._puts[article_id][0].content_hash
        if article_id in self._removed:
            return None
        row = self._stored(article_id)
        return row["hash"] if row else None

    def resolve(self, id_or_url: str) -> str | None:
        if id_or_url in self._puts:
            return id_or_url
        key = same_url_key(id_or_url) if id_or_url.strip().lower().startswith(("http://", "https://")) else None
        for article_id, (a, _) in self._puts.items():
            if a.url and (a.url == id_or_url or (key and same_url_key(a.url) == key)):
                return article_id
        found = [] if self._new else resolve_articles(self.index, [id_or_url])
        return found[0] if found and found[0] not in self._removed else None

    # -- changes ---------------------------------------------------------------------------
    def put(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray, *, added: float | None = None) -> None:
        vectors = check_put(article, chunks, vectors, self.manifest.dimension)
        stored = self._stored(article.id)
        if added is None:
            added = stored["added"] if stored and article.id not in self._removed else time.time()
        self._puts[article.id] = (article, added)
        self._removed.discard(article.id)
        if stored and stored["hash"] == article.content_hash:
            return  # the same revision: its chunk rows are stored already (same ids)
        self._pending += chunk_rows(article, chunks, vectors, self._txn, own_keywords=self.own_keywords)
        if len(self._pending) >= FLUSH_CHUNKS:
            self._flush()

    @property
    def txn(self) -> int:
        """This write's mark on the chunk rows it upserts (abort deletes rows carrying it)."""
        return self._txn

    def sink(self) -> ChunkSink | None:
        """A server's collections, which Ray actors write chunk rows to themselves (a milvus-lite file is this process's)."""
        if self.index.target.lite:
            return None
        if self._new:  # the actors write before the commit makes the index exist: the collections must be there
            create_collections(self.index, self.manifest.dimension, bm25=self.index.has_bm25)
        return _Sink(self, self.index.uri)

    def put_written(self, article: Article, chunks: Sequence[Chunk], *, added: float | None = None) -> None:
        """Register an article whose chunk rows were upserted by others (Ray actors) with this write's `txn`."""
        stored = self._stored(article.id)
        if added is None:
            added = stored["added"] if stored and article.id not in self._removed else time.time()
        self._puts[article.id] = (article, added)
        self._removed.discard(article.id)
        self._upserted = True

    def remove(self, article_id: str) -> bool:
        had = article_id in self._puts
        self._puts.pop(article_id, None)
        self._pending = [r for r in self._pending if r["article_id"] != article_id]
        if article_id in self._removed:
            return had
        stored = self._stored(article_id) is not None
        if stored or (had and self._upserted):  # rows upserted early by this write go too
            self._removed.add(article_id)
        return had or stored

    def _flush(self) -> None:
        if self._pending:
            if self._new and not self._created:  # a big first write upserts before its commit creates the index
                create_collections(self.index, self.manifest.dimension, bm25=self.index.has_bm25)
                self._created = True
            self.index.call("write chunks", "upsert", self.index.chunks_name, self._pending)
            self._pending, self._upserted = [], True

    # -- commit ----------------------------------------------------------------------------
    def commit(self) -> bool:
        if self._done:
            raise StoreError("this write was already committed or aborted")
        if not self._puts and not self._removed:
            self.abort()
            return False
        try:
            if self._new:
                self.index.create(self.manifest)
            self._flush()
            dummy = not self.index.has_bm25 if self._new else not self.index.keyword_search_ready()
            rows = [r for a, added in self._puts.values()
                    for r in article_rows(a, added, dummy=dummy, own_keywords=self.own_keywords)]
            for start in range(0, len(rows), 500):
                self.index.call("write articles", "upsert", self.index.articles_name, rows[start : start + 500])
            puts = list(self._puts.values())
            for start in range(0, len(puts), PAIRS):  # older revisions of the articles put
                group = puts[start : start + PAIRS]
                expr = " or ".join(f"(article_id == {quote(a.id)} and hash != {quote(a.content_hash)})" for a, _ in group)
                for name in (self.index.chunks_name, self.index.articles_name):
                    self.index.call("delete replaced revisions", "delete", name, filter=expr)
            removed = sorted(self._removed)
            for start in range(0, len(removed), GROUP):
                expr = "article_id in [" + ", ".join(quote(a) for a in removed[start : start + GROUP]) + "]"
                for name in (self.index.chunks_name, self.index.articles_name):
                    self.index.call("delete removed articles", "delete", name, filter=expr)
            if self.index.target.lite:
                for name in (self.index.chunks_name, self.index.articles_name):
                    self.index.call("flush", "flush", name)  # BM25 and searches are slow on unflushed rows
            self.index.bump_version(self._start_version)
        except BaseException:
            self._done = True
            self._release()
            raise
        self._done = True
        self._release()
        return True

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._upserted:
                self.index.call("undo this write", "delete", self.index.chunks_name, filter=f"txn == {self._txn}")
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None and self._lock.held:
            self._lock.release()


class _Sink:
    """A write's `ChunkSink`: Ray actors upsert the chunk rows (`open_rows(uri).put_rows`), marked with its txn."""

    def __init__(self, writer: MilvusWriter, uri: str) -> None:
        self.writer, self.uri = writer, uri

    def rows(self, article: Article, chunks: Sequence[Chunk]) -> list[dict[str, Any]]:
        return chunk_rows(article, chunks, None, self.writer.txn, own_keywords=self.writer.own_keywords)

    def put_written(self, article: Article, chunks: Sequence[Chunk]) -> None:
        self.writer.put_written(article, chunks)
