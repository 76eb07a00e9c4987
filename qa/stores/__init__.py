"""The store interface: `IndexReader` (one consistent snapshot), `IndexWriter` (one atomic write), `open_index(uri)`.

The retriever talks only to these protocols. A backend registers a URI scheme with
`register_backend`; a plain path (or `file://`) is the local backend (`qa.stores.local`: SQLite
catalog, immutable vector and keyword segments). Every backend passes `tests/test_store_contract.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

from qa.errors import ConfigError
from qa.stores.manifest import MANIFEST, Manifest, VectorSettings
from qa.types import Article, Chunk, SearchFilter

__all__ = ["IndexReader", "IndexStore", "IndexWriter", "MANIFEST", "Manifest", "MergeReport", "StoredChunk",
           "VectorSettings", "open_index", "register_backend", "side_folder"]

Scored = tuple[int, float]  # (chunk id, score), best first in every list


@dataclass(frozen=True)
class StoredChunk:
    """A chunk with its text and its article's metadata, as a hit needs it."""

    chunk_id: int
    chunk: Chunk
    title: str
    url: str
    published: str
    source: str


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


_BACKENDS: dict[str, Callable[[str], IndexStore]] = {}


def register_backend(scheme: str, factory: Callable[[str], IndexStore]) -> None:
    """Make `open_index("<scheme>://...")` use `factory(uri)`."""
    _BACKENDS[scheme.lower()] = factory


def open_index(location: str | os.PathLike[str]) -> IndexStore:
    """The index at a URI (`scheme://...`, by the registered backends) or a local folder path."""
    text = str(location)
    scheme, sep, rest = text.partition("://")
    prefix = text.partition(":")[0].lower()
    if not sep and len(prefix) > 1 and prefix in _BACKENDS:  # "milvus:file.db", or a URI argparse made a Path
        scheme, sep = prefix, ":"
    if sep and scheme.lower() != "file":
        factory = _BACKENDS.get(scheme.lower())
        if factory is None:
            known = ", ".join(sorted(["file", *_BACKENDS])) or "file"
            raise ConfigError(f"no index backend for {scheme!r} URIs ({text}); known schemes: {known}, or a folder path")
        return factory(text)
    from qa.stores.local import LocalIndex

    return LocalIndex(Path(rest if sep else text))


def side_folder(location: str | os.PathLike[str]) -> Path | None:
    """The local folder where an index's side files live (answer models, sentence caches): the index folder
    itself, `PATH.db.qa/` beside a milvus-lite file, and None for a server (nothing is written locally)."""
    store = open_index(location)
    if hasattr(store, "root"):
        return Path(store.root)
    target = getattr(store, "target", None)
    path = getattr(target, "path", None)
    return Path(f"{path}.qa") if path is not None else None


def _milvus(uri: str) -> IndexStore:
    from qa.stores.milvus import MilvusIndex  # pymilvus is imported only when a milvus URI is opened

    return MilvusIndex(uri)


register_backend("milvus", _milvus)
