"""File locks of an index folder: one writer at a time (others wait, with a message), one merger, and the readers' lock.

- `.lock`: held by a writer for its whole read-decide-write. A second writer waits for it, saying
  who holds it, and gives up with a StoreError after `timeout` seconds.
- `.merge.lock`: held by whoever merges segments (merges do not block writers).
- `.readers`: readers hold it shared while they read the catalog and open a snapshot's files;
  deleting retired segment files takes it exclusively. An opened (memory-mapped) file survives
  its deletion, so a reader never finds a file of its snapshot gone.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from qa.errors import StoreError

log = logging.getLogger(__name__)

WRITE_LOCK = ".lock"
MERGE_LOCK = ".merge.lock"
READERS_LOCK = ".readers"
DEFAULT_TIMEOUT = float(os.environ.get("QA_LOCK_TIMEOUT", 1800))  # seconds a writer waits for another


class FileLock:
    """An exclusive flock on a file in the index folder, released by `release()` (or process death)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def try_acquire(self) -> bool:
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {' '.join(os.path.basename(a) for a in sys.argv[:3])}\n")
        fh.flush()
        self._fh = fh
        return True

    def acquire(self, timeout: float = DEFAULT_TIMEOUT, *, what: str = "write to") -> None:
        """Wait for the lock; say once who holds it; StoreError after `timeout` seconds."""
        if self.try_acquire():
            return
        holder = self.holder()
        log.warning("another process (%s) is writing to the index in %s; waiting for it to finish…",
                    holder or "unknown", self.path.parent)
        deadline = time.monotonic() + timeout
        delay = 0.02
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise StoreError(f"gave up after {timeout:.0f} s waiting to {what} the index in {self.path.parent}: "
                                 f"another process ({self.holder() or 'unknown'}) still holds {self.path.name}")
            time.sleep(delay)
            delay = min(0.25, delay * 1.5)
        log.info("got the write lock of %s", self.path.parent)

    def holder(self) -> str:
        """"pid command" of the holder, as it wrote it (best effort)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


@contextmanager
def readers_shared(root: Path) -> Iterator[None]:
    """Held while a reader reads the catalog and opens its snapshot's files."""
    with _flock(root / READERS_LOCK, fcntl.LOCK_SH):
        yield


@contextmanager
def readers_exclusive(root: Path) -> Iterator[None]:
    """Held while retired segment files are deleted: no reader is between reading the catalog and opening files."""
    with _flock(root / READERS_LOCK, fcntl.LOCK_EX):
        yield


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    try:
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115
    except PermissionError:  # a read-only index folder: nobody can delete files there either
        yield
        return
    try:
        fcntl.flock(fh, mode)
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
