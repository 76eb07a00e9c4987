"""Indexes: `open_index(uri)` finds the backend of a location; the interface every backend implements is in base.py.

The retriever talks only to the protocols (`IndexStore`, `IndexReader`, `IndexWriter`). A backend registers a
URI scheme with `register_backend`; a plain path (or `file://`) is the local backend (`qa.stores.local`: SQLite
catalog, immutable vector and keyword segments); `milvus:` and `milvus://` are `qa.stores.milvus`. Every
backend passes `tests/test_store_contract.py`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from qa.errors import ConfigError, StoreError
from qa.stores.base import (
    CheckReport, ChunkSink, IndexReader, IndexStore, IndexWriter, MergeReport, RowStore, Scored, StoredChunk,
    WriteBlock, check_put,
)
from qa.stores.local import LocalIndex
from qa.stores.manifest import MANIFEST, Manifest, VectorSettings, check_compatible
from qa.stores.milvus import MilvusIndex

__all__ = ["CheckReport", "ChunkSink", "IndexReader", "IndexStore", "IndexWriter", "MANIFEST", "Manifest", "MergeReport",
           "RowStore", "Scored", "StoredChunk", "VectorSettings", "WriteBlock", "check_compatible", "check_put", "open_index",
           "open_rows", "register_backend", "side_folder"]

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
    return LocalIndex(Path(rest if sep else text))


def side_folder(location: str | os.PathLike[str]) -> Path | None:
    """`open_index(location).side_folder()`: where an index's side files live (answer models, sentence caches)."""
    return open_index(location).side_folder()


def open_rows(uri: str) -> RowStore:
    """The index at `uri` that encoding workers write chunk rows to (a `ChunkSink.uri`)."""
    store = open_index(uri)
    if not isinstance(store, RowStore):
        raise StoreError(f"{store.location} takes no chunk rows from workers; give its writer the vectors")
    return store


register_backend("milvus", MilvusIndex)  # pymilvus itself is imported only when a milvus URI is used
