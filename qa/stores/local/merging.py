"""Segment merges (a log-size policy in the style of Lucene's LogMergePolicy) and garbage collection.

Every write adds a segment. When `MERGE_FACTOR` adjacent segments reach the same size level
(level = number of decimal digits of their live chunks above `FLOOR`), they are merged into one;
a segment whose chunks are at least `EXPUNGE_RATIO` dead is rewritten without them. Merges after a
write (`maintain`) run inline only up to `INLINE_MAX` chunks; bigger ones wait for `qa optimize`
(or a background merger). So each chunk is rewritten about log10(N / FLOOR) times in its life.

A merge needs no write lock: it reads a snapshot, writes the merged segment, then registers it in
one transaction that retires its inputs. Chunks removed meanwhile are tombstones by id, so they
stay dead in the merged segment. Retired files are deleted under the readers' exclusive lock;
their catalog rows are purged after `PURGE_GRACE_S`, so searches in flight on an older snapshot
still find their rows.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path

from qa.errors import StoreError
from qa.stores.base import MergeReport
from qa.stores.local import catalog, segment
from qa.stores.local.catalog import errors, transaction
from qa.stores.local.layout import SEGMENTS, Connections, IndexFolder
from qa.stores.local.locks import MERGE_LOCK, WRITE_LOCK, FileLock, readers_exclusive
from qa.stores.local.reader import LocalReader
from qa.stores.manifest import APPROXIMATE_MIN_SEGMENT, Manifest

log = logging.getLogger(__name__)

MERGE_FACTOR = 10
FLOOR = 1_000  # chunks: smaller segments are all level 0
INLINE_MAX = 50_000  # chunks a merge may write when it runs right after a write
EXPUNGE_RATIO = 0.3
PURGE_GRACE_S = 600.0


def level(live_chunks: int) -> int:
    return 0 if live_chunks < FLOOR else int(math.log10(live_chunks / FLOOR)) + 1


def plan(sizes: list[tuple[int, int]], factor: int | None = None) -> list[tuple[int, int]]:
    """Due merges as [start, end) runs of adjacent segments, from (live, total) chunk counts in segment order."""
    factor = factor or MERGE_FACTOR
    runs: list[tuple[int, int]] = []
    levels = [level(live) for live, _ in sizes]
    i = 0
    while i < len(sizes):
        if i + factor <= len(sizes) and len(set(levels[i : i + factor])) == 1:
            runs.append((i, i + factor))
            i += factor
            continue
        live, total = sizes[i]
        if total and (total - live) / total >= EXPUNGE_RATIO:
            runs.append((i, i + 1))
        i += 1
    return runs


def maintain(index: IndexFolder, *, inline_max: int = INLINE_MAX) -> MergeReport:
    """The due merges up to `inline_max` chunks each, then garbage collection; skipped while another merges."""
    lock = FileLock(index.root / MERGE_LOCK)
    if not lock.try_acquire():
        return MergeReport()
    try:
        return _merge_due(index, inline_max)
    finally:
        lock.release()


def optimize(index: IndexFolder, *, vectors: str | None = None) -> MergeReport:
    """Merge every segment into one without its dead chunks; `vectors` sets the vector index choice first."""
    lock = FileLock(index.root / MERGE_LOCK)
    lock.acquire(what="merge")
    try:
        manifest = Manifest.read(index.root)
        if vectors is not None and vectors != manifest.vectors.index:
            manifest = _set_vectors(index, vectors)
        start = time.perf_counter()
        reader = LocalReader.open(index.root, manifest, Connections(index.root))
        report = MergeReport(segments_before=len(reader.views))
        try:
            parts = reader.views
            wanted = manifest.vectors.approximate(reader.count())
            dead = any(p.live_chunks < len(p.live) or p.live_articles < len(p.article_live) for p in parts)
            mixed = any(p.segment.approximate != (wanted and p.live_chunks >= APPROXIMATE_MIN_SEGMENT) for p in parts)
            if len(parts) > 1 or dead or mixed:
                report.bytes_written += _merge(index, reader, reader.view_ids, force_exact=not wanted)
                report.merges += 1
        finally:
            reader.close()
        report.purged_articles = collect_garbage(index)
        report.segments_after = _count_live(index)
        report.seconds = time.perf_counter() - start
        return report
    finally:
        lock.release()


def _set_vectors(index: IndexFolder, vectors: str) -> Manifest:
    """Record a new vector index choice in the manifest (under the write lock)."""
    lock = FileLock(index.root / WRITE_LOCK)
    lock.acquire()
    try:
        manifest = Manifest.read(index.root).with_vectors(index=vectors)
        manifest.write(index.root)
        log.warning("vector index of %s set to %r", index.root, vectors)
        return manifest
    finally:
        lock.release()


def _merge_due(index: IndexFolder, inline_max: int) -> MergeReport:
    start = time.perf_counter()
    manifest = Manifest.read(index.root)
    report = MergeReport()
    while True:
        reader = LocalReader.open(index.root, manifest, Connections(index.root))
        try:
            ids = reader.view_ids
            if not report.segments_before:
                report.segments_before = len(ids)
            runs = plan([(p.live_chunks, len(p.live)) for p in reader.views])
            small = [(a, b) for a, b in runs if sum(p.live_chunks for p in reader.views[a:b]) <= inline_max]
            report.deferred = [sum(p.live_chunks for p in reader.views[a:b]) for a, b in runs if (a, b) not in small]
            if not small:
                break
            for a, b in small:
                report.bytes_written += _merge(index, reader, ids[a:b])
                report.merges += 1
        finally:
            reader.close()
    report.purged_articles = collect_garbage(index)
    report.segments_after = _count_live(index)
    report.seconds = time.perf_counter() - start
    if report.merges:
        log.info("merged segments of %s: %s", index.root, report.summary())
    return report


def _merge(index: IndexFolder, reader: LocalReader, run: list[int], *, force_exact: bool = False) -> int:
    """Merge adjacent segments of a snapshot into one and register it; returns the bytes written."""
    views = dict(zip(reader.view_ids, reader.views))
    parts = [views[i] for i in run]
    live = sum(p.live_chunks for p in parts)
    approximate = (not force_exact and reader.manifest.vectors.approximate(reader.count())
                   and live >= APPROXIMATE_MIN_SEGMENT)
    db = catalog.connect(index.root)
    try:
        with errors("cannot reserve a segment id"):
            segment_id = catalog.take(db, "next_segment", 1)
        path = index.segment_path(segment_id)
        size = segment.merge(path, [(p.segment, p.live, p.article_live) for p in parts], approximate=approximate)
        keys = [k for p in parts for k in (p.segment.article_keys[:1].tolist() + p.segment.article_keys[-1:].tolist())]
        try:
            with errors(f"cannot commit a merge to the index catalog in {index.root}"), transaction(db):
                marks = ",".join("?" * len(run))
                still = db.execute(f"SELECT COUNT(*) FROM segments WHERE id IN ({marks}) AND died IS NULL", run).fetchone()[0]
                if still != len(run):
                    raise StoreError("the segments to merge were merged by another process")
                head = catalog.head(db)
                version = head.version + 1
                first, last = (min(keys), max(keys)) if keys else (0, -1)
                db.execute("INSERT INTO segments (id, born, content_at, chunks, first_article, last_article, bytes,"
                           " approximate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (segment_id, version, reader.state, live, first, last, size, int(approximate)))
                db.execute(f"UPDATE segments SET died = ?, died_at = ? WHERE id IN ({marks})", (version, time.time(), *run))
                db.execute("INSERT INTO commits VALUES (?, ?, 'merge', ?, ?, ?)",
                           (version, time.time(), head.content, head.articles, head.chunks))
        except BaseException:
            segment.remove(path)
            raise
    finally:
        db.close()
    log.debug("merged segments %s into %d (%d live chunks, %s)", run, segment_id, live,
              "approximate" if approximate else "exact")
    return size


def collect_garbage(index: IndexFolder, *, grace_s: float = PURGE_GRACE_S) -> int:
    """Delete retired segment files, and leftovers of crashed writers when no writer runs; purge dead rows.

    The caller holds the merge lock (so no merge output is half-written).
    """
    db = catalog.connect(index.root)
    try:
        with errors(f"cannot collect garbage in {index.root}"):
            rows = dict(db.execute("SELECT id, died FROM segments").fetchall())
            retired = [i for i, died in rows.items() if died is not None]
            with readers_exclusive(index.root):  # no reader is opening files of a state that has them
                for segment_id in retired:
                    segment.remove(index.segment_path(segment_id))
            writer = FileLock(index.root / WRITE_LOCK)
            if writer.try_acquire():  # no write in progress: unregistered folders are leftovers of crashes
                try:
                    _remove_orphans(index.root / SEGMENTS, set(rows))
                finally:
                    writer.release()
            return catalog.purge(db, grace_s)
    finally:
        db.close()


def _remove_orphans(folder: Path, registered: set[int]) -> None:
    """Delete files in segments/ that no catalog row names (`<id>.seg`, `<id>.ivf`, `*.tmp`, anything else)."""
    if not folder.exists():
        return
    for path in folder.iterdir():
        stem = path.name.split(".")[0]
        if path.name.endswith(".tmp") or not stem.isdigit() or int(stem) not in registered:
            log.info("removing %s (left by an interrupted write)", path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _count_live(index: IndexFolder) -> int:
    db = catalog.connect(index.root)
    try:
        return db.execute("SELECT COUNT(*) FROM segments WHERE died IS NULL").fetchone()[0]
    finally:
        db.close()
