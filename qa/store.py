"""Compatibility names for code written against the one-generation store; new code uses `qa.stores`."""

from __future__ import annotations

import os

from qa.errors import StoreError
from qa.stores import MANIFEST, IndexReader, Manifest, StoredChunk, open_index

__all__ = ["MANIFEST", "Manifest", "Store", "StoreError", "StoredChunk"]


class Store:
    """`Store.load(folder)` is `open_index(folder).reader()`: a snapshot with stats(), articles(), close()."""

    @staticmethod
    def load(directory: str | os.PathLike[str]) -> IndexReader:
        return open_index(directory).reader()
