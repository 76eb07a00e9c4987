"""Upgrade an index folder of format 1 (one generation: SQLite + FAISS + bm25s files) to format 2, in place.

The vectors are kept as they were (no re-encoding); the keyword segments are rebuilt from the
stored text. The format-2 catalog and segments are written beside the old generation, checked
(same articles, same chunk count), and only then does `manifest.json` switch to format 2: a crash
at any moment leaves the format-1 index intact (a retry starts over). The old generation is
deleted after the switch.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from qa.errors import StoreError
from qa.stores.local import catalog
from qa.stores.local.catalog import CATALOG
from qa.stores.local.layout import SEGMENTS, IndexFolder
from qa.stores.local.locks import WRITE_LOCK, FileLock
from qa.stores.local.writer import LocalWriter
from qa.stores.manifest import Manifest
from qa.types import Article, Chunk

log = logging.getLogger(__name__)

_V1_KEYS = ("model", "dimension", "chunking", "normalized", "embed_title", "backend")


def migrate_if_needed(index: IndexFolder) -> bool:
    """Migrate a format-1 index (taking the write lock); True when it did. Used by readers."""
    if index.format_version() != 1:
        return False
    lock = FileLock(index.root / WRITE_LOCK)
    try:
        lock.acquire(what="migrate")
    except PermissionError:
        raise StoreError(f"index in {index.root} has format 1 and this user cannot upgrade it; "
                         f"run `qa migrate --index {index.root}` as its owner") from None
    try:
        return migrate_locked(index, lock)
    finally:
        lock.release()


def migrate_locked(index: IndexFolder, lock: FileLock) -> bool:
    """Migrate a format-1 index in place while holding its write lock; False when there is nothing to do."""
    root = index.root
    if index.format_version() != 1:
        return False
    data = Manifest.read(root, any_format=True)
    generation = root / f"gen-{int(data.extra.get('generation', 0)):06d}"
    if not (generation / "store.sqlite").exists() or not (generation / "vectors.faiss").exists():
        raise StoreError(f"index in {root} has format 1 but its generation {generation.name} is incomplete; "
                         "rebuild it with `qa ingest`")
    _remove_format2(root)  # what an earlier attempt that did not finish left
    manifest = Manifest(data.model, data.dimension, data.chunking, normalized=data.normalized,
                        embed_title=data.embed_title, backend=data.backend,
                        extra={k: v for k, v in data.extra.items() if k != "generation"})
    start = time.perf_counter()
    try:
        n_articles, n_chunks = _copy(root, generation, manifest, index, lock)
        db = catalog.connect(root)
        try:
            head = catalog.head(db)
        finally:
            db.close()
        if (head.articles, head.chunks) != (n_articles, n_chunks):
            raise StoreError(f"migration of {root} stopped: {head.articles} articles and {head.chunks} chunks written, "
                             f"{n_articles} and {n_chunks} expected; the format-1 index is untouched")
    except BaseException:
        _remove_format2(root)  # the format-1 index is as it was
        raise
    manifest.write(root)  # the switch: from here on the folder is a format-2 index
    for path in root.glob("gen-*"):
        shutil.rmtree(path, ignore_errors=True)
    log.warning("migrated %s to format %d in %.1f s: %d articles, %d chunks (vectors kept, keyword index rebuilt)",
                root, manifest.format_version, time.perf_counter() - start, n_articles, n_chunks)
    return True


def _copy(root: Path, generation: Path, manifest: Manifest, index: IndexFolder, lock: FileLock) -> tuple[int, int]:
    """Write the format-1 generation's articles, chunks and vectors as a format-2 catalog and segment."""
    src = sqlite3.connect(f"file:{generation / 'store.sqlite'}?mode=ro", uri=True)
    try:
        n_articles, n_chunks = (src.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
                                src.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        log.warning("index in %s has format 1: migrating it to format %d (once; %d articles, %d chunks)…",
                    root, manifest.format_version, n_articles, n_chunks)
        vectors = _read_vectors(generation / "vectors.faiss", manifest.dimension)
        writer = LocalWriter(index, manifest, lock, migrating=True)
        from tqdm import tqdm

        bar = tqdm(total=n_articles, desc="migrating", unit="article", disable=not sys.stderr.isatty())
        try:
            for article, added, chunks, ids in _articles(src):
                bar.update(1)
                missing = [i for i in ids if i not in vectors]
                if missing:
                    raise StoreError(f"index in {root}: chunk {missing[0]} of {article.id} has no vector; "
                                     "rebuild it with `qa ingest`")
                matrix = np.stack([vectors[i] for i in ids]) if ids else np.zeros((0, manifest.dimension), np.float32)
                writer.put(article, chunks, matrix, added=added)
        except BaseException:
            writer.abort()
            raise
        finally:
            bar.close()
        writer.commit()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot read the format-1 index in {root}: {exc}") from None
    finally:
        src.close()
    return n_articles, n_chunks


def _remove_format2(root: Path) -> None:
    for name in (CATALOG, f"{CATALOG}-wal", f"{CATALOG}-shm"):
        (root / name).unlink(missing_ok=True)
    shutil.rmtree(root / SEGMENTS, ignore_errors=True)


def _read_vectors(path: Path, dimension: int) -> dict[int, np.ndarray]:
    """Chunk id -> vector from a format-1 FAISS file (IndexIDMap2 over a flat index)."""
    import faiss

    try:
        index = faiss.read_index(str(path))
        ids = faiss.vector_to_array(index.id_map) if hasattr(index, "id_map") else np.arange(index.ntotal)
        inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        matrix = inner.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, dimension), np.float32)
    except RuntimeError as exc:
        raise StoreError(f"cannot read the format-1 vectors {path}: {exc}") from None
    if index.d != dimension:
        raise StoreError(f"{path} holds {index.d}-d vectors, its manifest says {dimension}")
    return {int(i): matrix[n] for n, i in enumerate(ids)}


def _articles(db: sqlite3.Connection):  # type: ignore[no-untyped-def]
    """(article, added, chunks, format-1 chunk ids) in the order they were added."""
    chunks: dict[str, list[tuple[int, int, int, int]]] = {}
    for cid, article_id, idx, start, end in db.execute('SELECT id, article_id, idx, start, "end" FROM chunks ORDER BY idx'):
        chunks.setdefault(article_id, []).append((cid, idx, start, end))
    rows = db.execute("SELECT id, text, title, url, published, source, author, added FROM articles ORDER BY added, id")
    for article_id, text, title, url, published, source, author, added in rows.fetchall():
        article = Article(article_id, text, title or "", url or "", published or "", source or "", author or "")
        mine = chunks.get(article_id, [])
        yield (article, added, [Chunk(article_id, idx, s, e, text[s:e]) for _, idx, s, e in mine], [c for c, *_ in mine])
