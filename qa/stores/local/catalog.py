"""The catalog of record: one SQLite database (WAL) holding articles, chunks, segments and a commit counter.

Every commit (a write, a merge, a migration) is one transaction that inserts a `commits` row: its
version is the index's state. Rows are never updated in place except to mark them dead: an article
revision has the version it was born in and the version it died in, so a reader at version V sees
exactly the articles live at V (`born <= V < died`), whatever was committed since. A chunk lives
and dies with its article revision. Dead rows are purged once no segment that a reader may still
search holds them.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from qa.errors import StoreError

CATALOG = "catalog.sqlite"
LIVE = "a.born <= :v AND (a.died IS NULL OR a.died > :v)"  # an article revision live at version :v

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commits (
    version INTEGER PRIMARY KEY, time REAL NOT NULL, kind TEXT NOT NULL,
    content INTEGER NOT NULL,            -- the version of the last commit that changed content
    articles INTEGER NOT NULL, chunks INTEGER NOT NULL    -- live counts after this commit
);
CREATE TABLE IF NOT EXISTS articles (
    key INTEGER PRIMARY KEY,             -- one per stored revision of an article, never reused
    id TEXT NOT NULL, title TEXT NOT NULL, url TEXT NOT NULL, published TEXT NOT NULL, source TEXT NOT NULL,
    author TEXT NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL, added REAL NOT NULL,
    born INTEGER NOT NULL, died INTEGER
);
CREATE INDEX IF NOT EXISTS articles_id ON articles(id);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE INDEX IF NOT EXISTS articles_dead ON articles(died) WHERE died IS NOT NULL;
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,              -- stable, never reused
    article INTEGER NOT NULL,            -- articles.key
    idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, born INTEGER NOT NULL, died INTEGER, died_at REAL,
    content_at INTEGER NOT NULL,         -- the version whose live chunks it holds (born - 1 for a write)
    chunks INTEGER NOT NULL, first_article INTEGER NOT NULL, last_article INTEGER NOT NULL,
    bytes INTEGER NOT NULL, approximate INTEGER NOT NULL
);
"""
COUNTERS = ("next_chunk", "next_article", "next_segment")


@dataclass(frozen=True)
class CommitInfo:
    """One row of `commits`: a committed state of the index and its live totals."""

    version: int
    time: float
    kind: str
    content: int
    articles: int
    chunks: int


@dataclass(frozen=True)
class SegmentRow:
    id: int
    born: int
    content_at: int
    chunks: int
    first_article: int
    last_article: int
    bytes: int
    approximate: bool


@contextmanager
def errors(what: str) -> Iterator[None]:
    """sqlite errors as StoreError with a plain message."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            text += " (another process held the catalog too long)"
        elif "disk is full" in text or "too large" in text.lower():
            text += " (free space where the index is; nothing of this write was kept)"
        elif "malformed" in text or "not a database" in text or "disk i/o" in text.lower():
            text += f" (the catalog file {CATALOG} is damaged; `qa check` lists what is damaged)"
        raise StoreError(f"{what}: {text}") from None


def connect(root: Path, *, create: bool = False) -> sqlite3.Connection:
    """A connection to an index's catalog (autocommit; writers open transactions explicitly)."""
    path = root / CATALOG
    if not create and not path.exists():
        raise StoreError(f"index in {root} has no {CATALOG}; it is incomplete (rebuild it with `qa ingest`)")
    with errors(f"cannot open {path}"):
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit that returned survives a crash
        db.execute("PRAGMA wal_autocheckpoint=100")  # checkpoints copy at most ~400 KB: small writes stay small
        if create:
            db.executescript(_SCHEMA)
            with transaction(db):
                db.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, 1)", [(c,) for c in COUNTERS])
                db.execute("INSERT OR IGNORE INTO commits VALUES (0, ?, 'create', 0, 0, 0)", (time.time(),))
        return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): the catalog's one kind of write."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite rolls back by itself after some errors (a full disk): the first error is the one to tell
            db.execute("ROLLBACK")
        raise


def head(db: sqlite3.Connection) -> CommitInfo:
    """The newest committed state."""
    row = db.execute("SELECT * FROM commits ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        raise StoreError("the index catalog has no commit: it is incomplete (rebuild it with `qa ingest`)")
    return CommitInfo(*row)


def newest_version(db: sqlite3.Connection) -> int:
    """The newest committed version: one indexed lookup, cheap enough to run before every search."""
    return db.execute("SELECT MAX(version) FROM commits").fetchone()[0]


def commit_info(db: sqlite3.Connection, version: int) -> CommitInfo:
    row = db.execute("SELECT * FROM commits WHERE version = ?", (version,)).fetchone()
    if row is None:
        raise StoreError(f"the index catalog has no commit {version}")
    return CommitInfo(*row)


def live_segments(db: sqlite3.Connection, version: int) -> list[SegmentRow]:
    """Segments of the state at `version`, in article-key order (adjacent segments merge)."""
    rows = db.execute(
        "SELECT id, born, content_at, chunks, first_article, last_article, bytes, approximate FROM segments"
        " WHERE born <= ? AND (died IS NULL OR died > ?) ORDER BY first_article, id", (version, version)
    ).fetchall()
    return [SegmentRow(*r[:7], bool(r[7])) for r in rows]


def take(db: sqlite3.Connection, counter: str, n: int) -> int:
    """Reserve n ids from a counter (in its own transaction: ids are never reused, even after a crash)."""
    with transaction(db):
        start = db.execute("SELECT value FROM meta WHERE key = ?", (counter,)).fetchone()[0]
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (start + n, counter))
    return int(start)


def dead_chunks(db: sqlite3.Connection, after: int, upto: int) -> list[tuple[int, int]]:
    """(chunk id, version it died in) of chunks whose article revision died in (after, upto]."""
    return db.execute(
        "SELECT c.id, a.died FROM articles a JOIN chunks c ON c.article = a.key"
        " WHERE a.died IS NOT NULL AND a.died > ? AND a.died <= ?", (after, upto)).fetchall()


def dead_articles(db: sqlite3.Connection, after: int, upto: int) -> list[tuple[int, int]]:
    """(key, version it died in) of article revisions that died in (after, upto]."""
    return db.execute(
        "SELECT key, died FROM articles WHERE died IS NOT NULL AND died > ? AND died <= ?", (after, upto)).fetchall()


def purge(db: sqlite3.Connection, grace_s: float) -> int:
    """Delete dead rows no segment holds any more, nor held within `grace_s` seconds; returns articles purged.

    A segment holds a dead revision when its key is in the segment's range and the revision was
    still live at the state the segment was built from (it died after `content_at`).
    """
    cutoff = time.time() - grace_s
    with transaction(db):
        keys = [r[0] for r in db.execute(
            "SELECT a.key FROM articles a WHERE a.died IS NOT NULL AND NOT EXISTS (SELECT 1 FROM segments s"
            " WHERE (s.died IS NULL OR s.died_at > ?) AND a.key BETWEEN s.first_article AND s.last_article"
            " AND a.died > s.content_at)", (cutoff,))]
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            db.execute(f"DELETE FROM chunks WHERE article IN ({marks})", part)
            db.execute(f"DELETE FROM articles WHERE key IN ({marks})", part)
        db.execute("DELETE FROM segments WHERE died IS NOT NULL AND died_at <= ?", (cutoff,))
    return len(keys)
