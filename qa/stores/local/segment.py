"""One immutable segment: the vectors and keyword postings of some chunks, and the postings of their articles.

`segments/<id>.seg` is one file of named arrays (qa.stores.local.arrays: a JSON header, raw arrays)::

    ids               chunk ids, ascending (a chunk's position is its index here)
    articles          the article key of each chunk
    vectors           exact float32 vectors, one row per chunk
    kw-*              BM25 postings of the chunks (title + passage): terms, indptr, docs, tfs, lengths
    art-keys          the article keys of the segment's article-level documents, ascending
    art-*             BM25 postings of those whole articles (title + text)

and `segments/<id>.ivf`, for big merged segments of an approximate index, an IVF-SQ8 FAISS index
over the vectors (its list count and calibrated nprobe are in the .seg header). A segment is
written as `<id>.seg.tmp`, fsynced, then renamed: a `.seg` file is complete. It becomes part of
the index only when the catalog registers it.
"""

from __future__ import annotations

import errno
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.errors import StoreError
from qa.stores.local import keywords
from qa.stores.local.arrays import array_offset, read_arrays, verify_arrays, write_arrays
from qa.stores.local.keywords import Postings
from qa.stores.local.vectors import VectorPart, build_ivf

VERIFY_AT_OPEN_BYTES = 64 << 20  # segments up to this size are checked against their checksums when opened (~30 ms)


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


def write(path: Path, data: SegmentData, *, approximate: bool = False) -> int:
    """Write a new segment file from in-memory data; returns the bytes written."""
    return _write(path, np.asarray(data.ids, np.int64), np.asarray(data.articles, np.int64), data.matrix(),
                  Postings.build(data.chunk_terms), np.asarray(data.article_keys, np.int64),
                  Postings.build(data.article_terms), approximate)


def ivf_path(path: Path) -> Path:
    return path.with_suffix(".ivf")


def _write(path: Path, ids: np.ndarray, articles: np.ndarray, matrix: np.ndarray, chunk_postings: Postings,
           article_keys: np.ndarray, article_postings: Postings, approximate: bool) -> int:
    tmp = path.with_name(path.name + ".tmp")
    meta: dict[str, object] = {"chunks": len(ids), "articles": len(article_keys)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        if approximate and len(matrix):
            meta["ivf"] = asdict(build_ivf(ivf_path(path), matrix))
            size += ivf_path(path).stat().st_size
        arrays = {"ids": ids, "articles": articles, "art-keys": article_keys,
                  "vectors": np.asarray(matrix, dtype=np.float32),
                  **chunk_postings.arrays("kw"), **article_postings.arrays("art")}
        size += write_arrays(tmp, arrays, meta)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        remove(path)
        full = exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or "requested and" in str(exc)  # numpy's short write
        hint = "; the disk is full (or a file size limit was reached): free space where the index is, nothing of this write was kept"
        raise StoreError(f"cannot write the index segment {path}: {exc}{hint if full else ''}") from None
    except BaseException:
        remove(path)
        raise
    return size


def remove(path: Path) -> None:
    """Delete a segment's files (a reader that has them open keeps reading them)."""
    for p in (path, ivf_path(path), path.with_name(path.name + ".tmp")):
        p.unlink(missing_ok=True)


class Segment:
    """A segment opened for reading: memory-mapped ids, vectors and postings."""

    def __init__(self, path: Path, *, approximate: bool = True, nprobe: int | None = None) -> None:
        self.path = path
        if path.exists() and path.stat().st_size <= VERIFY_AT_OPEN_BYTES:  # a flipped byte: an error, not wrong answers
            damaged = verify_arrays(path)
            if damaged:
                raise StoreError(f"the segment file {path} is damaged: {damaged[0]}; `qa check` lists what is damaged")
        arrays, meta = read_arrays(path, random_access=("vectors",))  # rows are read a few at a time
        try:
            self.ids = arrays["ids"]
            self.articles = arrays["articles"]
            self.article_keys = arrays["art-keys"]
            self.chunk_postings = Postings.from_arrays(arrays, "kw")
            self.article_postings = Postings.from_arrays(arrays, "art")
            ivf = meta.get("ivf") if approximate else None
            self.vectors = VectorPart.open(arrays["vectors"], ivf_path(path) if ivf else None,
                                           int(nprobe or (ivf or {}).get("nprobe", 0)),
                                           (path, array_offset(path, "vectors")) if ivf else None)
        except KeyError as exc:
            raise StoreError(f"the segment file {path} lacks the array {exc}") from None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def approximate(self) -> bool:
        return self.vectors.ivf is not None

    def positions(self, chunk_ids: np.ndarray) -> np.ndarray:
        """Positions of those chunk ids that are in this segment."""
        return _positions(self.ids, chunk_ids)

    def article_positions(self, keys: np.ndarray) -> np.ndarray:
        """Positions of those article keys that have their article-level document here."""
        return _positions(self.article_keys, keys)


def _positions(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    if not len(sorted_ids) or not len(wanted):
        return np.zeros(0, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return at[sorted_ids[at] == wanted]


def merge(path: Path, parts: Sequence[tuple[Segment, np.ndarray, np.ndarray]], *, approximate: bool) -> int:
    """Write one segment from the kept chunks and articles of adjacent segments, in order; returns bytes written.

    `parts` are (segment, chunks to keep, article documents to keep) as boolean masks.
    """
    ids = np.concatenate([s.ids[keep] for s, keep, _ in parts])
    articles = np.concatenate([s.articles[keep] for s, keep, _ in parts])
    matrix = np.concatenate([s.vectors.matrix[keep] for s, keep, _ in parts])
    chunk_postings = keywords.merge([(s.chunk_postings, keep) for s, keep, _ in parts])
    keys = np.concatenate([s.article_keys[keep] for s, _, keep in parts])
    article_postings = keywords.merge([(s.article_postings, keep) for s, _, keep in parts])
    if len(chunk_postings.lengths) != len(ids):  # every document dropped: keep the lengths in step
        chunk_postings = Postings.empty(len(ids))
    if len(article_postings.lengths) != len(keys):
        article_postings = Postings.empty(len(keys))
    return _write(path, ids, articles, matrix, chunk_postings, keys, article_postings, approximate)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
