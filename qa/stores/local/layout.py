"""Where a local index keeps its files (`IndexFolder`) and its catalog connections (`Connections`): the local
backend's leaf, which every other module of `qa.stores.local` may import.

Layout::

    manifest.json      model, dimension, chunking, vector index choice, format version
    catalog.sqlite     the catalog of record (WAL): articles, chunks, segments, commits
    segments/<id>.seg  immutable vector and keyword segments, <id>.ivf beside big approximate ones (segment.py)
    .lock .merge.lock .readers    the writer's, the merger's and the readers' locks (locks.py)
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from pathlib import Path

from qa.stores.local import catalog
from qa.stores.manifest import MANIFEST, Manifest

SEGMENTS = "segments"


class IndexFolder:
    """The files of an index folder on this machine: what the reader, writer, merges and migration work on."""

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
