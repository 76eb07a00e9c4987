"""The local backend: an index folder with a SQLite catalog and immutable segments; readers are snapshots.

Layout::

    manifest.json      model, dimension, chunking, vector index choice, format version
    catalog.sqlite     the catalog of record (WAL): articles, chunks, segments, commits
    segments/<id>.seg  immutable vector and keyword segments, <id>.ivf beside big approximate ones (qa.stores.segment)
    .lock .merge.lock .readers    the writer's, the merger's and the readers' locks (qa.stores.locks)

A reader (qa.stores.reader.LocalReader) is the state at one commit; a writer
(qa.stores.writer.LocalWriter) makes one commit; qa.stores.merging merges segments.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.stores import MergeReport, catalog
from qa.stores.manifest import MANIFEST, Manifest

if TYPE_CHECKING:
    from qa.stores.reader import LocalReader

SEGMENTS = "segments"


class LocalIndex:
    """An index folder on this machine (`qa.stores.open_index(path)`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def exists(self) -> bool:
        return (self.root / MANIFEST).exists()

    def manifest(self) -> Manifest:
        return Manifest.read(self.root)

    def format_version(self) -> int | None:
        """The on-disk format of the index here (None when there is none)."""
        return Manifest.read(self.root, any_format=True).format_version if self.exists() else None

    def upgrade(self) -> bool:
        from qa.stores.migrate import migrate_if_needed

        return migrate_if_needed(self)

    def reader(self) -> LocalReader:
        from qa.stores.reader import LocalReader

        self.upgrade()
        return LocalReader.open(self.root, Manifest.read(self.root), Connections(self.root))

    def writer(self, manifest: Manifest | None = None, *, timeout: float | None = None) -> Any:
        from qa.stores.writer import LocalWriter

        return LocalWriter(self, manifest, timeout=timeout)

    def maintain(self) -> MergeReport:
        from qa.stores.merging import maintain

        return maintain(self)

    def optimize(self, *, vectors: str | None = None) -> MergeReport:
        from qa.stores.merging import optimize

        return optimize(self, vectors=vectors)

    def segment_path(self, segment_id: int) -> Path:
        return self.root / SEGMENTS / f"{segment_id:08d}.seg"


class Connections:
    """One catalog connection per thread (SQLite reads then run in parallel); closed together.

    A thread's connection is dropped (and closed) with the thread; `close()` closes the others.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()
        self._all: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        if held is None:
            held = _Held(catalog.connect(self.root))
            held.db.execute("PRAGMA query_only=1")
            self._local.held = held
            with self._lock:
                self._all.add(held)
        return held.db

    def close(self) -> None:
        with self._lock:
            for held in list(self._all):
                held.db.close()
            self._all.clear()
        self._local = threading.local()


class _Held:
    """A thread's connection (sqlite3 connections take no weak references; this holder does)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
