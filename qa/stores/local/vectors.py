"""Vector segments: exact float32 vectors (memory-mapped), plus an IVF-SQ8 index over big merged segments.

Every segment keeps its exact vectors, so switching an index between exact and approximate search,
or merging segments, never loses precision. A segment with an IVF file is searched approximately:
IVF-SQ8 proposes candidates, their exact vectors rescore them. A narrow filter is searched exactly.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import StoreError

log = logging.getLogger(__name__)

REFINE = 2  # IVF candidates per wanted hit (and at least 20 more), rescored with the exact vectors
EXACT_BELOW = 4096  # positions passing a filter below which a segment is searched exactly
RECALL_TARGET = 0.97  # recall@10 against exact search that calibration asks of a segment's nprobe


@dataclass(frozen=True)
class IvfParams:
    """An IVF-SQ8 index over a segment: its list count and the lists a search probes."""

    nlist: int
    nprobe: int


def build_ivf(path: Path, matrix: np.ndarray, *, seed: int = 0) -> IvfParams:
    """Train an IVF-SQ8 index over `matrix` (ids = positions), calibrate its nprobe, write it to `path` (fsynced)."""
    import faiss

    n, d = matrix.shape
    nlist = int(min(8192, max(16, 2 * math.sqrt(n))))
    rng = np.random.default_rng(seed)
    sample = matrix[np.sort(rng.choice(n, min(n, 40 * nlist), replace=False))]
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    try:
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        for start in range(0, n, 65536):
            block = np.ascontiguousarray(matrix[start : start + 65536], dtype=np.float32)
            index.add_with_ids(block, np.arange(start, start + len(block), dtype=np.int64))
        nprobe = _calibrate(index, matrix, rng)
        faiss.write_index(index, str(path))
    except RuntimeError as exc:
        raise StoreError(f"cannot build the approximate vector index {path}: {exc}") from None
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    return IvfParams(nlist, nprobe)


def _calibrate(index: object, matrix: np.ndarray, rng: np.random.Generator, queries: int = 200) -> int:
    """The smallest nprobe whose recall@10 against exact search reaches RECALL_TARGET on probe queries.

    A probe is a stored vector plus Gaussian noise of the vector's own norm: its nearest stored
    vector is about as close (cosine ~0.7) as a question's best passage is to the question, and its
    neighbours are spread like a question's. On the benchmark's corpora such probes predict the
    recall of real questions within about 0.01-0.02 (slightly optimistic).
    """
    n, d = matrix.shape
    q = np.asarray(matrix[np.sort(rng.integers(0, n, queries))], dtype=np.float32)
    q = q + rng.normal(0, 1 / np.sqrt(d), q.shape).astype(np.float32)
    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    truth = _batched_topk(matrix, q, 10)
    nprobe = 8
    while True:
        index.nprobe = nprobe  # type: ignore[attr-defined]
        _, found = index.search(q, 10 + 20)  # type: ignore[attr-defined]
        refined = [_rescore(matrix, q[i : i + 1], found[i], 10)[1][0] for i in range(queries)]
        recall = np.mean([len(set(t) & set(r)) / 10 for t, r in zip(truth, refined)])
        if recall >= RECALL_TARGET or nprobe >= index.nlist:  # type: ignore[attr-defined]
            log.info("IVF over %d vectors: nlist %d, nprobe %d, calibrated recall@10 %.3f", n,
                     index.nlist, nprobe, recall)  # type: ignore[attr-defined]
            return nprobe
        nprobe *= 2


def _batched_topk(matrix: np.ndarray, queries: np.ndarray, k: int, block: int = 131072) -> np.ndarray:
    """Exact top-k positions for many queries at once (matrix products over blocks of rows)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, len(matrix), block):
        scores = queries @ np.asarray(matrix[start : start + block], dtype=np.float32).T
        merged = np.concatenate([best_scores, scores], axis=1)
        positions = np.concatenate([best, np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)], axis=1)
        top = np.argsort(-merged, axis=1, kind="stable")[:, :k]
        best_scores, best = np.take_along_axis(merged, top, 1), np.take_along_axis(positions, top, 1)
    return best


class VectorPart:
    """One segment's vectors as a reader uses them: exact rows, and the IVF index when it has one.

    An approximate segment rescores its few candidates with rows read by `os.pread` rather than
    through the memory map: the kernel's page cache holds them, the reader's memory does not grow
    with every row a search ever touched.
    """

    def __init__(self, matrix: np.ndarray, ivf: object | None = None, nprobe: int = 0,
                 rows: tuple[int, int] | None = None) -> None:
        self.matrix = matrix
        self.ivf = ivf
        self.nprobe = nprobe
        self._rows = rows  # (open file descriptor, offset of row 0) for pread; closed with the part

    @classmethod
    def open(cls, matrix: np.ndarray, ivf_path: Path | None = None, nprobe: int = 0,
             source: tuple[Path, int] | None = None) -> VectorPart:
        """Exact vectors (a memory-mapped array), and the IVF index (memory-mapped too) when given.

        `source` is (segment file, offset of the vectors in it): where candidates' rows are read from.
        """
        if ivf_path is None:
            return cls(matrix)
        import faiss

        try:
            ivf = faiss.read_index(str(ivf_path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError as exc:
            raise StoreError(f"cannot read the vector index {ivf_path}: {exc}") from None
        rows = (os.open(source[0], os.O_RDONLY), source[1]) if source else None
        return cls(matrix, ivf, nprobe, rows)

    def __del__(self) -> None:
        if self._rows is not None:
            os.close(self._rows[0])

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """Exact vectors at positions (read from the file for an approximate segment)."""
        if self._rows is None or not len(positions):
            return np.asarray(self.matrix[positions], dtype=np.float32)
        fd, start = self._rows
        d = self.matrix.shape[1]
        size = d * 4
        out = np.empty((len(positions), d), dtype=np.float32)
        for i, p in enumerate(positions):
            out[i] = np.frombuffer(os.pread(fd, size, start + int(p) * size), dtype=np.float32)
        return out

    def __len__(self) -> int:
        return len(self.matrix)

    def search(self, queries: np.ndarray, k: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions), each (len(queries), k) best first, over the positions where `mask` is set.

        Rows are padded with -inf and -1 where fewer positions pass.
        """
        allowed = int(np.count_nonzero(mask))
        if self.ivf is not None and allowed >= EXACT_BELOW:
            return self._approximate(queries, k, mask)
        if allowed < len(mask) // 4:  # a narrow filter: score only the rows it lets through
            rows = np.flatnonzero(mask)
            scores, found = _exact_topk(self.matrix, queries, k, rows)
            return scores, np.where(found >= 0, rows[np.maximum(found, 0)], -1)
        return _exact_topk(self.matrix, queries, k, None, mask)

    def _approximate(self, queries: np.ndarray, k: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        bits = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
        try:
            wanted = max(k * REFINE, k + 20)
            _, found = self.ivf.search(np.ascontiguousarray(queries, np.float32), wanted, params=params)  # type: ignore[attr-defined]
        except RuntimeError as exc:
            raise StoreError(f"vector search failed: {exc}") from None
        del bits  # kept alive above: the selector points into it
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_found = np.full((len(queries), k), -1, dtype=np.int64)
        for i in range(len(queries)):
            candidates = np.unique(found[i][found[i] >= 0])
            scores, at = _exact_topk(self.rows(candidates), queries[i : i + 1], k)
            out_scores[i], out_found[i] = scores[0], np.where(at >= 0, candidates[np.maximum(at, 0)], -1)
        return out_scores, out_found


def _rescore(matrix: np.ndarray, query: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k among candidate positions (-1 entries ignored), as (1, k) arrays."""
    candidates = np.unique(candidates[candidates >= 0])
    scores, found = _exact_topk(matrix, query, k, candidates)
    return scores, np.where(found >= 0, candidates[np.maximum(found, 0)], -1)


def _exact_topk(
    matrix: np.ndarray, queries: np.ndarray, k: int, rows: np.ndarray | None = None, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k over `rows` of the matrix (all rows if None; masked-out rows excluded).

    Returns (scores, indices into `rows`, or positions when rows is None), best first; ties: lower index first.
    """
    block = np.asarray(matrix if rows is None else matrix[rows], dtype=np.float32)
    n = len(block)
    out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_found = np.full((len(queries), k), -1, dtype=np.int64)
    if not n:
        return out_scores, out_found
    for i in range(len(queries)):
        # one matrix-vector product per query: a query scores the same alone or in a batch
        scores = block @ np.asarray(queries[i], dtype=np.float32)
        if mask is not None:
            scores[~mask] = -np.inf
        candidates = np.flatnonzero(np.isfinite(scores))
        if len(candidates) > k:  # the k best and any tied with the k-th: the lower index wins a tie
            kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth]
        candidates = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
        out_scores[i, : len(candidates)] = scores[candidates]
        out_found[i, : len(candidates)] = candidates
    return out_scores, out_found
