"""The store interface: `IndexReader` (one consistent snapshot), `IndexWriter` (one atomic write), `IndexStore`
(an index at a location), the records they pass, and what every backend's writer shares (`check_put`, `WriteBlock`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from qa.errors import StoreError
from qa.stores.manifest import Manifest
from qa.types import Article, ArticleRef, Chunk, SearchFilter

Scored = tuple[int, float]  # (chunk id, score), best first in every list


@dataclass(frozen=True, kw_only=True)
class StoredChunk(ArticleRef):
    """A chunk with its text and its article's metadata, as a hit needs it."""

    chunk_id: int
    chunk: Chunk


@dataclass
class MergeReport:
    """What a merge pass did: segments before and after, bytes written, seconds spent."""

    segments_before: int = 0
    segments_after: int = 0
    merges: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    purged_articles: int = 0
    deferred: list[int] = field(default_factory=list)  # sizes (chunks) of due merges left for `qa optimize`

    def summary(self) -> str:
        text = f"{self.segments_before} -> {self.segments_after} segments ({self.merges} merges, " \
               f"{self.bytes_written / 1e6:.1f} MB written, {self.seconds:.1f} s)"
        return text + (f"; {len(self.deferred)} larger merges left for `qa optimize`" if self.deferred else "")


class IndexReader(Protocol):
    """One committed state of an index, immutable: every call answers from that same state. Thread-safe."""

    location: str
    manifest: Manifest
    version: int  # changes whenever content changes (not on merges): caches may be keyed by it

    def reopen(self) -> IndexReader | None:
        """A reader of the newest committed state, or None when it is this one (cheap: ~ tens of microseconds)."""
    def search_dense(self, vectors: np.ndarray, k: int, filter: SearchFilter | None = None) -> list[list[Scored]]:
        """Top-k chunks by inner product for each query vector (rows of a float32 (n, dimension) array)."""
    def search_keywords(self, query: str, k: int, filter: SearchFilter | None = None) -> list[Scored]:
        """Top-k chunks by BM25 (title + passage), with statistics of the whole live corpus."""
    def search_articles(self, query: str, k: int, filter: SearchFilter | None = None) -> list[tuple[str, float]]:
        """Top-k articles (article id, score) by BM25 over whole articles (title + text)."""
    def count(self, filter: SearchFilter | None = None) -> int:
        """Chunks that pass the filter (all live chunks when None)."""
    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Chunk rows by id (ids not found are left out)."""
    def chunk_articles(self, ids: Sequence[int]) -> dict[int, str]:
        """The article id of each chunk id."""
    def article_chunks(self, article_ids: Sequence[str]) -> dict[str, list[int]]:
        """Each live article's chunk ids, in text order."""
    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of chunks, one row per id, in order (KeyError for an unknown id)."""
    def article(self, article_id: str, *, chunk_id: int | None = None) -> Article | None:
        """The article live in this state; with `chunk_id`, the revision that chunk came from."""
    def articles(self) -> list[Article]:
        """Every live article, oldest first."""
    def iter_chunks(self) -> Iterator[tuple[int, str, str, str]]:
        """(chunk id, article id, title, chunk text) of every live chunk, by id."""
    def resolve(self, id_or_url: str) -> str | None:
        """The id of the live article with this id or URL (a URL may differ in scheme, www., fragment, final /)."""
    def stats(self) -> dict[str, Any]:
        """Counts, model and size, for `qa stats` and the UI."""
    def close(self) -> None:
        """Release what the reader holds (searches on it must have finished)."""


class IndexWriter(Protocol):
    """One write: puts and removes, invisible to readers until `commit()` makes them visible at once."""

    manifest: Manifest

    def stored_hash(self, article_id: str) -> str | None:
        """The content hash stored for an article (as this write left it), or None."""
    def resolve(self, id_or_url: str) -> str | None:
        """As IndexReader.resolve, over the state this write has built so far."""
    def put(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store an article with its chunks and their vectors, replacing a stored article with its id."""
    def remove(self, article_id: str) -> bool:
        """Remove an article; False when it is not stored."""
    def commit(self) -> bool:
        """Make the write visible atomically; False when it changed nothing. Releases the write lock."""
    def abort(self) -> None:
        """Forget the write; nothing of it becomes visible. Releases the write lock."""
    def __enter__(self) -> IndexWriter: ...
    def __exit__(self, exc_type: object, *rest: object) -> None:
        """Commit when the block ends normally, abort when it raises."""
    def sink(self) -> ChunkSink | None:
        """Where encoding workers (`qa ingest --ray`) write chunk rows themselves; None: `put` is given the vectors."""


class WriteBlock:
    """The `with` behaviour every writer shares: commit when the block ends normally, abort when it raises."""

    def commit(self) -> bool:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class IndexStore(Protocol):
    """An index at a location: opens readers and writers, merges, and says what it was built with."""

    location: str

    def exists(self) -> bool:
        """Whether an index is there (its manifest is)."""
    def manifest(self) -> Manifest:
        """What the index was built with (StoreError when there is none)."""
    def upgrade(self) -> bool:
        """Bring an index of an older on-disk format up to date, in place, with a message; True when it did."""
    def reader(self) -> IndexReader:
        """A reader of the newest committed state."""
    def writer(self, manifest: Manifest | None = None, *, timeout: float | None = None) -> IndexWriter:
        """The index's one writer; waits (with a message) while another holds it. Creates the index from
        `manifest` when there is none; refuses a manifest of another model or chunking."""
    def maintain(self) -> MergeReport:
        """Run the merges that are due and cheap, collect garbage: what a writer does after committing."""
    def optimize(self, *, vectors: str | None = None) -> MergeReport:
        """Merge everything into one segment; `vectors` ("auto", "exact", "approximate") changes the vector index."""
    def check(self) -> CheckReport:
        """Read every file of the index, against its checksums, and say what is damaged (`qa check`); a StoreError
        where this backend cannot be checked from here."""
    def side_folder(self) -> Path | None:
        """The local folder of the index's side files (answer models, sentence caches): None where nothing is written
        on this machine (an index on a server)."""


class ChunkSink(Protocol):
    """A write whose chunk rows encoding workers store themselves (a Milvus server, from Ray actors)."""

    uri: str  # what a worker opens: `open_index(uri)` is a `RowStore`

    def rows(self, article: Article, chunks: Sequence[Chunk]) -> list[dict[str, Any]]:
        """The chunks' rows as the workers store them, each without its vector (JSON-serialisable)."""
    def put_written(self, article: Article, chunks: Sequence[Chunk]) -> None:
        """Register an article whose chunk rows the workers stored (in place of `IndexWriter.put`)."""


@runtime_checkable
class RowStore(Protocol):
    """An index that encoding workers write chunk rows to directly (`ChunkSink.uri` opens one)."""

    def put_rows(self, rows: list[dict[str, Any]]) -> None:
        """Store chunk rows (each with its "vector"), replacing rows of the same id."""


@dataclass
class CheckReport:
    """What `qa check` found: the files looked at and, for each damaged one, what is wrong."""

    root: str
    checked: list[str] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (file, what is wrong)
    notes: list[str] = field(default_factory=list)  # harmless findings (leftover temporary files)
    articles: int = 0
    chunks: int = 0
    version: int = 0

    @property
    def ok(self) -> bool:
        return not self.damaged

    def bad(self, file: str, problem: str) -> None:
        self.damaged.append((file, problem))

    def as_dict(self) -> dict[str, object]:
        return {"index": self.root, "ok": self.ok, "checked": self.checked, "notes": self.notes,
                "damaged": [{"file": f, "problem": p} for f, p in self.damaged],
                "articles": self.articles, "chunks": self.chunks, "version": self.version}


def check_put(article: Article, chunks: Sequence[Chunk], vectors: np.ndarray, dimension: int) -> np.ndarray:
    """The vectors of a put as float32, after the checks every writer makes: one per chunk, of the index's
    dimension, finite (an encoder that returned NaN must not poison the index)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    if len(vectors) and vectors.shape[1:] != (dimension,):
        raise StoreError(f"vectors of shape {vectors.shape[1:]} for an index of {dimension}-d vectors")
    if not np.isfinite(vectors).all():
        raise StoreError(f"{article.id}: the encoder returned vectors with NaN or infinite values")
    return vectors
