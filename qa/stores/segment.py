"""One immutable segment: the vectors and keyword postings of some chunks, and the postings of their articles.

Files in `segments/<id>/` (plain .npy and FAISS files, no pickle)::

    ids.npy           chunk ids, ascending (a chunk's position is its index here)
    articles.npy      the article key of each chunk
    vectors.npy       exact float32 vectors, one row per chunk
    ivf.faiss         optional IVF-SQ8 index over them (big merged segments of an approximate index)
    kw-*.npy          BM25 postings of the chunks (title + passage)
    art-keys.npy      the article keys of the segment's article-level documents, ascending
    art-*.npy         BM25 postings of those whole articles (title + text)

A segment is written in a `<id>.tmp` folder, every file fsynced, then renamed: a folder named by
its id is complete. It becomes part of the index only when the catalog registers it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.errors import StoreError
from qa.stores import keywords
from qa.stores.keywords import Postings
from qa.stores.vectors import VectorPart, build_ivf, write_vectors


@dataclass
class SegmentData:
    """A segment being built in memory by a writer."""

    dimension: int
    ids: list[int] = field(default_factory=list)
    articles: list[int] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    chunk_terms: list[np.ndarray] = field(default_factory=list)
    article_keys: list[int] = field(default_factory=list)
    article_terms: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, key: int, chunk_ids: Sequence[int], vectors: np.ndarray, chunk_terms: Sequence[np.ndarray],
            article_terms: np.ndarray) -> None:
        self.ids += list(chunk_ids)
        self.articles += [key] * len(chunk_ids)
        self.vectors.append(np.asarray(vectors, dtype=np.float32).reshape(-1, self.dimension))
        self.chunk_terms += list(chunk_terms)
        self.article_keys.append(key)
        self.article_terms.append(article_terms)

    def drop_article(self, key: int) -> bool:
        """Forget an article put earlier into this unflushed segment (it was replaced or removed)."""
        if key not in self.article_keys:
            return False
        keep = [a != key for a in self.articles]
        matrix = self.matrix()[np.asarray(keep, dtype=bool)] if self.ids else self.matrix()
        self.ids = [c for c, k in zip(self.ids, keep) if k]
        self.chunk_terms = [t for t, k in zip(self.chunk_terms, keep) if k]
        self.articles = [a for a, k in zip(self.articles, keep) if k]
        self.vectors = [matrix]
        i = self.article_keys.index(key)
        del self.article_keys[i], self.article_terms[i]
        return True

    def matrix(self) -> np.ndarray:
        return np.concatenate(self.vectors) if self.vectors else np.zeros((0, self.dimension), np.float32)


def write(directory: Path, data: SegmentData, *, approximate: bool = False) -> int:
    """Write a new segment folder from in-memory data; returns the bytes written."""
    matrix = data.matrix()
    return _write(directory, np.asarray(data.ids, np.int64), np.asarray(data.articles, np.int64), matrix,
                  Postings.build(data.chunk_terms), np.asarray(data.article_keys, np.int64),
                  Postings.build(data.article_terms), approximate)


def _write(directory: Path, ids: np.ndarray, articles: np.ndarray, matrix: np.ndarray, chunk_postings: Postings,
           article_keys: np.ndarray, article_postings: Postings, approximate: bool) -> int:
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        np.save(tmp / "ids.npy", ids, allow_pickle=False)
        np.save(tmp / "articles.npy", articles, allow_pickle=False)
        np.save(tmp / "art-keys.npy", article_keys, allow_pickle=False)
        write_vectors(tmp, matrix)
        chunk_postings.save(tmp, "kw")
        article_postings.save(tmp, "art")
        if approximate and len(matrix):
            build_ivf(tmp, matrix)
        size = fsync_tree(tmp)
        os.replace(tmp, directory)
        fsync_dir(directory.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StoreError(f"cannot write the index segment {directory}: {exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return size


class Segment:
    """A segment opened for reading: memory-mapped ids, vectors and postings."""

    def __init__(self, directory: Path, *, approximate: bool = True, nprobe: int | None = None) -> None:
        self.directory = directory
        try:
            self.ids = np.load(directory / "ids.npy", mmap_mode="r", allow_pickle=False)
            self.articles = np.load(directory / "articles.npy", mmap_mode="r", allow_pickle=False)
            self.article_keys = np.load(directory / "art-keys.npy", mmap_mode="r", allow_pickle=False)
            self.vectors = VectorPart.load(directory, approximate=approximate, nprobe=nprobe)
            self.chunk_postings = Postings.load(directory, "kw")
            self.article_postings = Postings.load(directory, "art")
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read the index segment {directory}: {exc}") from None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def approximate(self) -> bool:
        return self.vectors.ivf is not None

    def positions(self, chunk_ids: np.ndarray) -> np.ndarray:
        """Positions of those chunk ids that are in this segment."""
        if not len(self.ids) or not len(chunk_ids):
            return np.zeros(0, dtype=np.int64)
        at = np.searchsorted(self.ids, chunk_ids)
        at = np.minimum(at, len(self.ids) - 1)
        return at[self.ids[at] == chunk_ids]

    def article_positions(self, keys: np.ndarray) -> np.ndarray:
        """Positions of those article keys that have their article-level document here."""
        if not len(self.article_keys) or not len(keys):
            return np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.article_keys, keys), len(self.article_keys) - 1)
        return at[self.article_keys[at] == keys]


def merge(directory: Path, parts: Sequence[tuple[Segment, np.ndarray, np.ndarray]], *, approximate: bool) -> int:
    """Write one segment from the kept chunks and articles of adjacent segments, in order; returns bytes written.

    `parts` are (segment, chunks to keep, article documents to keep) as boolean masks.
    """
    ids = np.concatenate([np.asarray(s.ids)[keep] for s, keep, _ in parts])
    articles = np.concatenate([np.asarray(s.articles)[keep] for s, keep, _ in parts])
    matrix = np.concatenate([np.asarray(s.vectors.matrix)[keep] for s, keep, _ in parts])
    chunk_postings = keywords.merge([(s.chunk_postings, keep) for s, keep, _ in parts])
    keys = np.concatenate([np.asarray(s.article_keys)[keep] for s, _, keep in parts])
    article_postings = keywords.merge([(s.article_postings, keep) for s, _, keep in parts])
    if len(chunk_postings.lengths) != len(ids):  # all documents dropped: keep the lengths in step
        chunk_postings = Postings.empty(len(ids))
    if len(article_postings.lengths) != len(keys):
        article_postings = Postings.empty(len(keys))
    return _write(directory, ids, articles, matrix, chunk_postings, keys, article_postings, approximate)


def fsync_tree(root: Path) -> int:
    """fsync every file under root and the folders; returns the total size."""
    size = 0
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            size += path.stat().st_size
    fsync_dir(root)
    return size


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
