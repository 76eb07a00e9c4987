"""`manifest.json`: what an index was built with (model, chunking, vector index choice) and its format version;
`check_compatible`: whether an encoder may search or write an index of this manifest."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from qa import config
from qa.encoders.base import Encoder
from qa.errors import ConfigError, StoreError

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
EXACT_BELOW = 200_000  # live chunks below which "auto" searches every vector exactly
APPROXIMATE_MIN_SEGMENT = 50_000  # merged segments at least this big get an IVF index when approximate


@dataclass(frozen=True)
class VectorSettings:
    """How vectors are searched: `auto` is exact below `exact_below` live chunks and approximate above."""

    index: str = "auto"
    exact_below: int = EXACT_BELOW
    nprobe: int = 0  # IVF lists probed per query; 0: each segment's own, calibrated for recall@10 >= 0.97

    def __post_init__(self) -> None:
        if self.index not in config.VECTOR_INDEXES:
            raise ConfigError(f"vector index must be one of {', '.join(config.VECTOR_INDEXES)}, got {self.index!r}")
        if self.exact_below < 0 or self.nprobe < 0:
            raise ConfigError(f"exact_below and nprobe must be 0 or more, got {self.exact_below}, {self.nprobe}")

    def approximate(self, live_chunks: int) -> bool:
        """Whether big segments of an index of this size get an approximate (IVF) index."""
        return self.index == "approximate" or (self.index == "auto" and live_chunks >= self.exact_below)


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; loading with another model is refused."""

    model: str
    dimension: int
    chunking: dict[str, Any]
    format_version: int = FORMAT_VERSION
    normalized: bool = True
    embed_title: bool = True
    backend: str = "torch"  # indexes written before backends were recorded used torch
    vectors: VectorSettings = field(default_factory=VectorSettings)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path, *, any_format: bool = False) -> Manifest:
        """The manifest of an index directory; a format other than this one is an error unless `any_format`."""
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"no index in {directory} (no {MANIFEST}); build one with `qa ingest`") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"cannot read {path}: {exc}") from None
        if not isinstance(data, dict) or "model" not in data or "dimension" not in data:
            raise StoreError(f"{path} is not an article-qa manifest (no model or dimension)")
        version = data.get("format_version")
        if not any_format and version != FORMAT_VERSION:
            if version == 1:
                raise StoreError(f"index in {directory} has format 1; run `qa migrate --index {directory}` to upgrade it")
            raise StoreError(f"{path} has format version {version!r}; this version of article-qa reads version "
                             f"{FORMAT_VERSION} (and migrates version 1). Upgrade article-qa or rebuild the index.")
        names = {f.name for f in fields(cls)}
        known = {k: data[k] for k in names if k in data and k not in ("extra", "vectors")}
        vectors = VectorSettings(**{k: v for k, v in (data.get("vectors") or {}).items() if k in VectorSettings.__dataclass_fields__})
        extra = {k: v for k, v in data.items() if k not in names}
        return cls(**known, vectors=vectors, extra=extra)

    def write(self, directory: Path) -> None:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "vectors")}
        data = {**data, "vectors": asdict(self.vectors), **self.extra}
        atomic_write(directory / MANIFEST, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def with_vectors(self, **changes: Any) -> Manifest:
        return replace(self, vectors=replace(self.vectors, **changes))

    def same_build(self, other: Manifest) -> bool:
        """True when vectors and chunks of one are interchangeable with the other's."""
        keys = ("model", "dimension", "chunking", "normalized", "embed_title", "backend")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def atomic_write(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a mix (fsync, rename, fsync dir)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {exc}") from None
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_compatible(manifest: Manifest, encoder: Encoder, *, writing: bool = False) -> None:
    """Refuse an encoder other than the index's: its vectors would be silent garbage.

    Another backend of the same model gives near-identical vectors: fine for searching (a warning),
    refused for writing, so that one index never mixes them.
    """
    if manifest.model != encoder.name or manifest.dimension != encoder.dimension:
        raise StoreError(
            f"index was built with model {manifest.model!r} ({manifest.dimension}-d); "
            f"the encoder given is {encoder.name!r} ({encoder.dimension}-d)"
        )
    backend = getattr(encoder, "backend", manifest.backend)
    if backend != manifest.backend:
        if writing:
            raise StoreError(f"index was built with the {manifest.backend!r} backend; the encoder given runs {backend!r}")
        log.warning("index was built with the %r backend, searching with %r: scores differ slightly", manifest.backend, backend)
