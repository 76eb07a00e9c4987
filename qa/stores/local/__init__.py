"""The local backend: an index folder with a SQLite catalog and immutable segments; readers are snapshots.

layout.py names the folder's files; a reader (reader.py, `LocalReader`) is the state at one commit; a writer
(writer.py, `LocalWriter`) makes one commit; merging.py merges segments; migrate.py upgrades format 1.
"""

from __future__ import annotations

from pathlib import Path

from qa.errors import StoreError
from qa.stores.base import CheckReport, MergeReport
from qa.stores.check import check_index
from qa.stores.local.layout import SEGMENTS, Connections, IndexFolder
from qa.stores.local.locks import DEFAULT_TIMEOUT, WRITE_LOCK, FileLock
from qa.stores.local.merging import maintain, optimize
from qa.stores.local.migrate import migrate_if_needed, migrate_locked
from qa.stores.local.reader import LocalReader
from qa.stores.local.writer import LocalWriter
from qa.stores.manifest import Manifest

__all__ = ["SEGMENTS", "Connections", "IndexFolder", "LocalIndex", "LocalReader", "LocalWriter"]


class LocalIndex(IndexFolder):
    """An index folder on this machine (`qa.stores.open_index(path)`)."""

    def upgrade(self) -> bool:
        return migrate_if_needed(self)

    def reader(self) -> LocalReader:
        self.upgrade()
        return LocalReader.open(self.root, Manifest.read(self.root), Connections(self.root))

    def writer(self, manifest: Manifest | None = None, *, timeout: float | None = None) -> LocalWriter:
        """The index's one writer: waits for the write lock (with a message), upgrades a format-1 index under it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the index folder {self.root}: {exc}") from None
        lock = FileLock(self.root / WRITE_LOCK)
        lock.acquire(DEFAULT_TIMEOUT if timeout is None else timeout)
        try:
            migrate_locked(self, lock)
        except BaseException:
            lock.release()
            raise
        return LocalWriter(self, manifest, lock)  # it releases the lock when the write ends (or fails to start)

    def maintain(self) -> MergeReport:
        return maintain(self)

    def optimize(self, *, vectors: str | None = None) -> MergeReport:
        return optimize(self, vectors=vectors)

    def check(self) -> CheckReport:
        return check_index(self.root)

    def side_folder(self) -> Path:
        return self.root
