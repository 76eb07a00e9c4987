"""The on-disk index: FAISS vectors, SQLite articles and chunks, and a manifest, saved atomically.

Layout of an index directory::

    manifest.json        model, dimension, chunking settings, format version, current generation
    gen-000007/          the current generation
        store.sqlite     articles (text and metadata) and chunk spans
        vectors.faiss    one normalised vector per chunk, keyed by chunk id
        bm25/            the BM25 keyword index over the same chunks (bm25s files)

A writer builds the next generation beside the current one and switches `manifest.json` with an
atomic rename, so a crash at any point leaves the previous generation loadable and intact.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit

import numpy as np

from qa.errors import StoreError
from qa.lexical import ARTICLES_DIR, KeywordIndex
from qa.types import Article, Chunk

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_FILE = "store.sqlite"
VECTORS_FILE = "vectors.faiss"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT, url TEXT, published TEXT, source TEXT, author TEXT,
    text TEXT NOT NULL, hash TEXT NOT NULL, added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
"""
_ARTICLE_COLUMNS = "id, text, title, url, published, source, author"


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; loading with another model is refused."""

    model: str
    dimension: int
    chunking: dict[str, Any]
    generation: int = 0
    format_version: int = FORMAT_VERSION
    normalized: bool = True
    embed_title: bool = True
    backend: str = "torch"  # indexes written before backends were recorded used torch
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"no index in {directory} (no {MANIFEST}); build one with `qa ingest`") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"cannot read {path}: {exc}") from None
        if data.get("format_version") != FORMAT_VERSION:
            raise StoreError(
                f"{path} has format version {data.get('format_version')!r}; this version of article-qa "
                f"reads version {FORMAT_VERSION}. Rebuild the index with `qa ingest`."
            )
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "extra"}
        return cls(**known, extra={k: v for k, v in data.items() if k not in cls.__dataclass_fields__})

    def write(self, directory: Path) -> None:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"} | self.extra
        _atomic_write(directory / MANIFEST, json.dumps(data, indent=2, sort_keys=True) + "\n")


@dataclass(frozen=True)
class StoredChunk:
    """A chunk row joined with its article's metadata, as the retriever needs it."""

    chunk_id: int
    chunk: Chunk
    title: str
    url: str
    published: str
    source: str


class Store:
    """A read-only view of one generation of an index directory."""

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        db: sqlite3.Connection,
        vectors: Any,
        keywords: KeywordIndex | None,
        article_keywords: KeywordIndex | None = None,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.db = db
        self.vectors = vectors
        self.keywords = keywords
        self.article_keywords = article_keywords  # BM25 over whole articles, ids = articles.rowid

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Store:
        import faiss

        root = Path(directory)
        manifest = Manifest.read(root)
        gen = _gen_dir(root, manifest.generation)
        if not (gen / DB_FILE).exists() or not (gen / VECTORS_FILE).exists():
            raise StoreError(f"index in {root} is incomplete: {gen.name} lacks {DB_FILE} or {VECTORS_FILE}")
        db = sqlite3.connect(f"file:{gen / DB_FILE}?mode=ro", uri=True, check_same_thread=False)
        vectors = faiss.read_index(str(gen / VECTORS_FILE))
        if vectors.d != manifest.dimension:
            raise StoreError(f"{gen / VECTORS_FILE} holds {vectors.d}-d vectors, manifest says {manifest.dimension}")
        return cls(root, manifest, db, vectors, KeywordIndex.load(gen), KeywordIndex.load(gen, subdir=ARTICLES_DIR))

    # -- vectors ---------------------------------------------------------------------------
    def search_vectors(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inner-product top-k over the chunk vectors: (scores, chunk ids), -1 where none."""
        import faiss

        k = max(1, min(k, self.vectors.ntotal)) if self.vectors.ntotal else 1
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
            return self.vectors.search(queries, k, params=params)
        return self.vectors.search(queries, k)

    # -- rows ------------------------------------------------------------------------------
    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunk rows with their text and article metadata, by chunk id."""
        ids = [int(i) for i in ids if i >= 0]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT c.id, c.article_id, c.idx, c.start, c."end", substr(a.text, c.start + 1, c."end" - c.start),'
            f" a.title, a.url, a.published, a.source FROM chunks c JOIN articles a ON a.id = c.article_id"
            f" WHERE c.id IN ({marks})",
            ids,
        )
        return {
            r[0]: StoredChunk(r[0], Chunk(r[1], r[2], r[3], r[4], r[5]), r[6], r[7], r[8], r[9]) for r in rows
        }

    def all_chunks(self) -> Iterator[tuple[int, str, str, str]]:
        """(chunk id, article id, article title, chunk text) for every chunk, in id order."""
        yield from self.db.execute(
            'SELECT c.id, c.article_id, a.title, substr(a.text, c.start + 1, c."end" - c.start)'
            " FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id"
        )

    def chunk_ids(self, where: str = "", params: Sequence[Any] = ()) -> np.ndarray:
        """Ids of the chunks whose article matches an SQL condition over `a` (articles)."""
        sql = "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id"
        rows = self.db.execute(sql + (f" WHERE {where}" if where else ""), params)
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def article(self, article_id: str) -> Article | None:
        row = self.db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
        return Article(*row) if row else None

    def articles(self) -> list[Article]:
        return [Article(*r) for r in self.db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY added, id")]

    def resolve(self, id_or_url: str) -> str | None:
        """The id of the article with this id or URL."""
        return _resolve(self.db, id_or_url)

    def stats(self) -> dict[str, Any]:
        n_articles = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        n_chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        gen = _gen_dir(self.directory, self.manifest.generation)
        size = sum(p.stat().st_size for p in gen.rglob("*") if p.is_file()) + (self.directory / MANIFEST).stat().st_size
        return {
            "index": str(self.directory),
            "articles": n_articles,
            "chunks": n_chunks,
            "model": self.manifest.model,
            "backend": self.manifest.backend,
            "dimension": self.manifest.dimension,
            "chunking": self.manifest.chunking,
            "generation": self.manifest.generation,
            "size_bytes": size,
        }

    def close(self) -> None:
        self.db.close()


class StoreWriter:
    """Builds the next generation of an index; `commit()` makes it current, atomically."""

    def __init__(self, directory: str | os.PathLike[str], manifest: Manifest) -> None:
        import faiss

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.directory / ".lock", "w")  # noqa: SIM115 - held until commit/abort
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StoreError(f"another process is writing to the index in {self.directory}; try again when it ends") from None
        self.previous = manifest.generation if (self.directory / MANIFEST).exists() else 0
        self.manifest = manifest
        self.changed = False
        _remove_stale(self.directory, keep=self.previous)
        self._tmp = self.directory / f"gen-{self.previous + 1:06d}.tmp"
        self._tmp.mkdir()
        self.db = sqlite3.connect(self._tmp / DB_FILE)
        if self.previous:
            old = _gen_dir(self.directory, self.previous)
            src = sqlite3.connect(f"file:{old / DB_FILE}?mode=ro", uri=True)
            src.backup(self.db)
            src.close()
            self.vectors = faiss.read_index(str(old / VECTORS_FILE))
        else:
            self.db.executescript(_SCHEMA)
            self.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(manifest.dimension))

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def stored_hash(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT hash FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def resolve(self, id_or_url: str) -> str | None:
        """The id of the article with this id or URL, in the generation being built."""
        return _resolve(self.db, id_or_url)

    def put(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store an article with its chunks and their vectors, replacing any older version."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self.remove(article.id)
        self.db.execute(
            "INSERT INTO articles (id, title, url, published, source, author, text, hash, added)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article.id, article.title, article.url, article.published, article.source, article.author,
             article.text, article.content_hash, time.time()),
        )
        ids = []
        for c in chunks:
            cur = self.db.execute(
                'INSERT INTO chunks (article_id, idx, start, "end") VALUES (?, ?, ?, ?)',
                (c.article_id, c.index, c.start, c.end),
            )
            ids.append(cur.lastrowid)
        if ids:
            self.vectors.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        self.changed = True

    def remove(self, article_id: str) -> bool:
        """Delete an article, its chunks and their vectors; False if it was not stored."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))]
        if ids:
            self.vectors.remove_ids(np.asarray(ids, dtype=np.int64))
        self.db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
        gone = self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,)).rowcount > 0
        self.changed = self.changed or gone
        return gone

    def chunk_rows(self) -> Iterator[tuple[int, str, str]]:
        """(chunk id, article title, chunk text) of every chunk in this generation."""
        yield from self.db.execute(
            'SELECT c.id, a.title, substr(a.text, c.start + 1, c."end" - c.start)'
            " FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id"
        )

    def commit(self) -> bool:
        """Make the new generation current; False (and nothing written) when nothing changed."""
        import faiss

        if not self.changed:
            self.abort()
            return False
        try:
            self.db.commit()
            faiss.write_index(self.vectors, str(self._tmp / VECTORS_FILE))
            KeywordIndex.build(self.chunk_rows(), self._tmp)
            KeywordIndex.build(self.db.execute("SELECT rowid, title, text FROM articles"), self._tmp, subdir=ARTICLES_DIR)
            self.db.close()
            _fsync_tree(self._tmp)
            final = _gen_dir(self.directory, self.previous + 1)
            os.replace(self._tmp, final)
            Manifest(**{**self.manifest.__dict__, "generation": self.previous + 1}).write(self.directory)
        except BaseException:
            self.abort()
            raise
        _remove_stale(self.directory, keep=self.previous + 1)
        self._release()
        return True

    def abort(self) -> None:
        """Discard the generation being built; the current one is untouched."""
        try:
            self.db.close()
        except sqlite3.Error:
            pass
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()


def _resolve(db: sqlite3.Connection, id_or_url: str) -> str | None:
    """An article id from an id or a URL; an exact id match wins, then an exact URL, then the same page's URL."""
    row = db.execute(
        "SELECT id FROM articles WHERE id = ? OR url = ? ORDER BY id = ? DESC LIMIT 1", (id_or_url, id_or_url, id_or_url)
    ).fetchone()
    if row or not re.match(r"https?://", id_or_url.strip(), re.I):
        return row[0] if row else None
    key = same_url_key(id_or_url)
    rows = db.execute("SELECT id, url FROM articles WHERE url LIKE ? ORDER BY id", (f"%{key.split('/', 1)[0]}%",))
    return next((article_id for article_id, url in rows if same_url_key(url) == key), None)


def same_url_key(url: str) -> str:
    """A URL reduced to what names the page: no scheme, "www.", fragment or trailing slash; host lower-cased."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def _gen_dir(root: Path, generation: int) -> Path:
    return root / f"gen-{generation:06d}"


def _remove_stale(root: Path, keep: int) -> None:
    """Remove generations other than `keep`, and leftovers of writers that crashed."""
    for path in root.glob("gen-*"):
        if path.is_dir() and path.name != _gen_dir(root, keep).name:
            shutil.rmtree(path, ignore_errors=True)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
