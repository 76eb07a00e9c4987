"""A file of named numpy arrays, memory-mapped when read: one file (one fsync) per segment, no pickle.

Layout: the magic line `QA-ARRAYS 1\\n`, the header's length (8 bytes, little-endian), the header
as JSON (`{"meta": {...}, "arrays": {name: {"dtype", "shape", "offset"}}}`), padding to a multiple
of 64 bytes, then each array's raw bytes in C order, each starting at a multiple of 64 (offsets
count from the end of that padding).
Any language reads it with a JSON parser and a memory map.
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import StoreError

MAGIC = b"QA-ARRAYS 1\n"
_ALIGN = 64


def write_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> int:
    """Write the arrays and fsync the file; returns its size."""
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise ValueError(f"array {name!r} holds Python objects; only plain numbers are stored")
    entries, offset = {}, 0
    for name, a in arrays.items():
        # a checksum per array: `qa check` finds a flipped byte that would otherwise be a silently wrong answer
        entries[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset, "crc32": zlib.crc32(a.data)}
        offset += _aligned(a.nbytes)
    blob = json.dumps({"meta": meta or {}, "arrays": entries}).encode()
    prefix = MAGIC + len(blob).to_bytes(8, "little") + blob
    with open(path, "wb") as fh:
        fh.write(prefix + b"\0" * (_aligned(len(prefix)) - len(prefix)))
        for a in arrays.values():
            a.tofile(fh)  # no in-memory copy of big arrays
            fh.write(b"\0" * (_aligned(a.nbytes) - a.nbytes))
        fh.flush()
        os.fsync(fh.fileno())
        return fh.tell()


def read_arrays(path: Path, *, random_access: tuple[str, ...] = ()) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, meta): read-only views on a memory map of the file (it stays valid if the file is deleted).

    Arrays named in `random_access` are read a few rows at a time: the kernel is told not to read
    ahead around them, so a reader's memory holds the rows it used, not their neighbourhoods.
    """
    try:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise StoreError(f"{path} is not an article-qa segment file (damaged?); `qa check` lists what is damaged")
            length = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(length))
            base = _aligned(len(MAGIC) + 8 + length)
            size = os.fstat(fh.fileno()).st_size
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else None
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read the segment file {path}: {exc}; `qa check` lists what is damaged") from None
    arrays = {}
    try:
        entries = [(name, np.dtype(e["dtype"]), tuple(int(n) for n in e["shape"]), int(e["offset"]))
                   for name, e in header["arrays"].items()]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreError(f"the segment file {path} has a damaged header ({exc!r}); `qa check` lists what is damaged") from None
    for name, dtype, shape, offset in entries:
        e = {"offset": offset}
        count = int(np.prod(shape)) if shape else 1
        if base + e["offset"] + count * dtype.itemsize > size:
            raise StoreError(f"the segment file {path} is truncated (array {name!r}); `qa check` lists what is damaged")
        data = np.frombuffer(mapped, dtype=dtype, count=count, offset=base + e["offset"]) if count else np.zeros(0, dtype)
        arrays[name] = data.reshape(shape)
        if name in random_access and count and hasattr(mapped, "madvise") and hasattr(mmap, "MADV_RANDOM"):
            start = (base + e["offset"]) // mmap.PAGESIZE * mmap.PAGESIZE
            mapped.madvise(mmap.MADV_RANDOM, start, base + e["offset"] + count * dtype.itemsize - start)
    return arrays, header.get("meta") or {}


def verify_arrays(path: Path) -> list[str]:
    """What is damaged in an arrays file (an empty list when nothing is): unreadable, truncated, or an array
    whose bytes no longer match the checksum written with it (files written before checksums: not checked).

    It reads the file with plain reads, not the memory map: the pages do not count as the reader's memory."""
    try:
        read_arrays(path)
        with open(path, "rb") as fh:
            fh.read(len(MAGIC))
            length = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(length))
            base = _aligned(len(MAGIC) + 8 + length)
            damaged = []
            for name, entry in header["arrays"].items():
                expected = entry.get("crc32")
                if expected is None:
                    continue
                fh.seek(base + int(entry["offset"]))
                left = int(np.prod(entry["shape"])) * np.dtype(entry["dtype"]).itemsize if entry["shape"] else np.dtype(entry["dtype"]).itemsize
                crc = 0
                while left > 0:
                    piece = fh.read(min(left, 1 << 20))
                    if not piece:
                        break
                    crc, left = zlib.crc32(piece, crc), left - len(piece)
                if crc != expected:
                    damaged.append(f"array {name!r} does not match its checksum (the file changed after it was written)")
    except (StoreError, OSError, ValueError, KeyError, TypeError) as exc:
        return [str(exc)]
    return damaged


def array_offset(path: Path, name: str) -> int:
    """Where an array's bytes start in the file (for reading a few rows with os.pread)."""
    with open(path, "rb") as fh:
        fh.read(len(MAGIC))
        length = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(length))
    return _aligned(len(MAGIC) + 8 + length) + int(header["arrays"][name]["offset"])


def _aligned(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN
