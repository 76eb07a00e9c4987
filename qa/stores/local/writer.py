"""The local backend's writer: new chunks go into new segments, removals are tombstones, one transaction commits.

A write holds the index's write lock from its first read to its commit, so everything it decides
(skip an unchanged article, replace or remove a stored one) comes from state read under the lock.
Its segments are written and fsynced before the commit; the commit is one SQLite transaction that
registers them and marks the replaced revisions dead. A crash before that transaction leaves only
unregistered segment folders, which a later writer deletes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from qa.errors import StoreError
from qa.lexical import doc_term_ids
from qa.stores.base import WriteBlock, check_put
from qa.stores.filters import resolve, same_url_key
from qa.stores.local import catalog, segment
from qa.stores.local.catalog import errors, transaction
from qa.stores.local.layout import IndexFolder
from qa.stores.local.locks import FileLock
from qa.stores.local.segment import SegmentData
from qa.stores.manifest import Manifest
from qa.types import Article, Chunk

log = logging.getLogger(__name__)

FLUSH_CHUNKS = 50_000  # chunks buffered in memory before they are written out as a segment


@dataclass
class _Flushed:
    segment_id: int
    chunks: int
    first_article: int
    last_article: int
    bytes: int


@dataclass
class _Rows:
    """The catalog rows of one article revision put by this write."""

    article: tuple
    chunks: list[tuple] = field(default_factory=list)


class LocalWriter(WriteBlock):
    """One write to a local index; use as `with index.writer(manifest) as w: w.put(...)` (commits on success)."""

    def __init__(self, index: IndexFolder, manifest: Manifest | None, lock: FileLock, *, migrating: bool = False) -> None:
        """Read the state this write starts from, holding the index's write lock (`LocalIndex.writer` takes it).

        The writer owns `lock` and releases it when the write ends, or at once when it cannot start; with
        `migrating`, the lock stays the format migration's, which builds this index (its manifest is written
        by the migration once the data is committed).
        """
        self.index, root = index, index.root
        self._owns_lock = not migrating
        self._lock = lock
        try:
            if migrating:
                assert manifest is not None
                self.manifest, self._new = manifest, False
            else:
                self.manifest, self._new = self._manifest(manifest)
            self.db = catalog.connect(root, create=True)
            with errors(f"cannot read the index catalog in {root}"):
                head = catalog.head(self.db)
                if self._new and head.version:
                    raise StoreError(f"{root} holds a catalog but no {'manifest.json'}; restore the manifest or use a new folder")
                counters = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        except BaseException:
            self._release()
            raise
        self._next_chunk, self._next_article = counters["next_chunk"], counters["next_article"]
        self._buffer = SegmentData(self.manifest.dimension)
        self._flushed: list[_Flushed] = []
        self._rows: dict[int, _Rows] = {}  # article key -> rows of revisions put by this write
        self._latest: dict[str, int | None] = {}  # article id -> key of its revision in this write; None: removed
        self._kill: set[int] = set()  # keys of committed revisions this write replaces or removes
        self._dead_on_arrival: set[int] = set()  # keys put, flushed, then replaced within this write
        self._done = False

    def _manifest(self, given: Manifest | None) -> tuple[Manifest, bool]:
        if self.index.exists():
            stored = Manifest.read(self.index.root)
            if given is not None and not stored.same_build(given):
                raise StoreError(f"index in {self.index.root} was built with {_describe(stored)}; "
                                 f"this write is for {_describe(given)}: use a new --index folder")
            return stored, False
        if given is None:
            raise StoreError(f"no index in {self.index.root} (no manifest.json); build one with `qa ingest`")
        return given, True

    # -- reads (this write's view) ---------------------------------------------------------
    def stored_hash(self, article_id: str) -> str | None:
        if article_id in self._latest:
            key = self._latest[article_id]
            return None if key is None else self._rows[key].article[8]
        with errors("cannot read the index catalog"):
            row = self.db.execute("SELECT hash FROM articles WHERE id = ? AND died IS NULL", (article_id,)).fetchone()
        return row[0] if row else None

    def resolve(self, id_or_url: str) -> str | None:
        if self._latest.get(id_or_url) is not None:
            return id_or_url
        key = same_url_key(id_or_url) if id_or_url.strip().lower().startswith(("http://", "https://")) else None
        for article_id, k in self._latest.items():
            url = self._rows[k].article[3] if k is not None else ""
            if url and (url == id_or_url or (key and same_url_key(url) == key)):
                return article_id
        with errors("cannot read the index catalog"):
            found = resolve(self.db, id_or_url, catalog.newest_version(self.db))
        return None if found is None or (found in self._latest and self._latest[found] is None) else found

    # -- changes ---------------------------------------------------------------------------
    def put(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray, *, added: float | None = None) -> None:
        """Store an article, its chunks and their vectors (`added`: when it was first stored, for migrations)."""
        vectors = check_put(article, chunks, vectors, self.manifest.dimension)
        self._forget(article.id)
        key = self._next_article
        self._next_article += 1
        ids = list(range(self._next_chunk, self._next_chunk + len(chunks)))
        self._next_chunk += len(chunks)
        docs = [f"{article.title}\n{c.text}" if article.title else c.text for c in chunks]
        terms = doc_term_ids([*docs, f"{article.title}\n{article.text}" if article.title else article.text])
        self._buffer.add(key, ids, vectors, terms[:-1], terms[-1])
        row = (key, article.id, article.title, article.url, article.published, article.source, article.author,
               article.text, article.content_hash, time.time() if added is None else added)
        self._rows[key] = _Rows(row, [(i, key, c.index, c.start, c.end) for i, c in zip(ids, chunks)])
        self._latest[article.id] = key
        if len(self._buffer) >= FLUSH_CHUNKS:
            self._flush()

    def sink(self) -> None:
        """None: a local write is given its vectors (`put`)."""
        return None

    def remove(self, article_id: str) -> bool:
        return self._forget(article_id)

    def _forget(self, article_id: str) -> bool:
        """Drop this write's revision of an article and mark its committed one dead; True if there was one."""
        found = False
        pending = self._latest.get(article_id)
        if pending is not None:
            found = True
            if self._buffer.drop_article(pending):
                del self._rows[pending]
            else:  # already in a flushed segment: it is registered dead at the commit
                self._dead_on_arrival.add(pending)
        self._latest[article_id] = None
        with errors("cannot read the index catalog"):
            row = self.db.execute("SELECT key FROM articles WHERE id = ? AND died IS NULL", (article_id,)).fetchone()
        if row and row[0] not in self._kill:
            self._kill.add(row[0])
            found = True
        return found

    def _flush(self) -> None:
        """Write the buffered chunks as a new (not yet registered) segment."""
        data = self._buffer
        if not len(data.article_keys):
            return
        with errors("cannot reserve a segment id"):
            segment_id = catalog.take(self.db, "next_segment", 1)
        size = segment.write(self.index.segment_path(segment_id), data)
        self._flushed.append(_Flushed(segment_id, len(data), min(data.article_keys), max(data.article_keys), size))
        self._buffer = SegmentData(self.manifest.dimension)

    # -- commit ----------------------------------------------------------------------------
    @property
    def changed(self) -> bool:
        return bool(self._rows or self._kill)

    def commit(self) -> bool:
        if self._done:
            raise StoreError("this write was already committed or aborted")
        if not self.changed:
            self.abort()
            return False
        try:
            self._flush()
            if self._new:
                self.manifest.write(self.index.root)  # before the data: a crash leaves an empty index, not data without one
            with errors(f"cannot commit to the index catalog in {self.index.root}"), transaction(self.db):
                self._register()
        except BaseException:
            self.abort()
            raise
        self._done = True
        self._release()
        self.db.close()
        return True

    def _register(self) -> None:
        db = self.db
        head = catalog.head(db)
        version = head.version + 1
        rows = list(self._rows.values())
        db.executemany("INSERT INTO articles (key, id, title, url, published, source, author, text, hash, added, born,"
                       " died) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [(*r.article, version, version if r.article[0] in self._dead_on_arrival else None) for r in rows])
        db.executemany('INSERT INTO chunks (id, article, idx, start, "end") VALUES (?, ?, ?, ?, ?)',
                       [c for r in rows for c in r.chunks])
        killed_articles = killed_chunks = 0
        kill = sorted(self._kill)
        for start in range(0, len(kill), 500):
            part = kill[start : start + 500]
            marks = ",".join("?" * len(part))
            killed_articles += db.execute(f"UPDATE articles SET died = ? WHERE key IN ({marks}) AND died IS NULL",
                                          (version, *part)).rowcount
            killed_chunks += db.execute(f"SELECT COUNT(*) FROM chunks WHERE article IN ({marks})", part).fetchone()[0]
        db.executemany("INSERT INTO segments (id, born, content_at, chunks, first_article, last_article, bytes,"
                       " approximate) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                       [(f.segment_id, version, version - 1, f.chunks, f.first_article, f.last_article, f.bytes)
                        for f in self._flushed])
        db.executemany("UPDATE meta SET value = ? WHERE key = ?",
                       [(self._next_chunk, "next_chunk"), (self._next_article, "next_article")])
        live = [r for r in rows if r.article[0] not in self._dead_on_arrival]
        db.execute("INSERT INTO commits VALUES (?, ?, 'write', ?, ?, ?)",
                   (version, time.time(), version, head.articles + len(live) - killed_articles,
                    head.chunks + sum(len(r.chunks) for r in live) - killed_chunks))
        log.debug("committed version %d: %d articles put, %d replaced or removed", version, len(rows), killed_articles)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        for f in self._flushed:
            segment.remove(self.index.segment_path(f.segment_id))
        try:
            self.db.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._owns_lock:
            self._lock.release()


def _describe(m: Manifest) -> str:
    return f"model {m.model!r} ({m.dimension}-d, {m.backend}), chunking {m.chunking}"
