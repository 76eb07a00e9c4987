"""The ingest pipeline: articles in, chunks encoded in large batches, one atomic index write out."""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from qa import config
from qa.encoders import Encoder, load_encoder
from qa.errors import StoreError
from qa.reading.chunking import ChunkSettings, chunk_article
from qa.reading.sources import Failure, Item
from qa.stores import IndexStore, IndexWriter, Manifest, check_compatible, open_index
from qa.types import Article, Chunk

log = logging.getLogger(__name__)

@dataclass
class IngestReport:
    """What an ingest run did, article by article."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    chunks: int = 0
    no_index: str = ""  # the location, when the run stored nothing and no index exists there (every article failed)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        text = (f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} unchanged, "
                f"{len(self.failures)} failed ({self.chunks} chunks encoded)")
        return text + (f"; no index was created at {self.no_index}: every article failed" if self.no_index else "")


def open_encoder(index_dir: str | os.PathLike[str], model: str | None = None, backend: str | None = None) -> Encoder:
    """The encoder an index was built with (or `model` on `backend` for a new index); a mismatch is an error."""
    index = open_index(index_dir)
    if index.exists():
        manifest = _manifest(index)
        for what, asked, built in (("model", model, manifest.model), ("backend", backend, manifest.backend)):
            if asked and asked != built:
                raise StoreError(
                    f"index in {index_dir} was built with {what} {built!r}, not {asked!r}; "
                    f"use that {what} or a new --index directory"
                )
        return load_encoder(manifest.model, manifest.backend)
    return load_encoder(model or config.MODEL, backend or config.ENCODER_BACKEND)


def ingest(
    items: Iterable[Item],
    index_dir: str | os.PathLike[str] | None = None,
    *,
    encoder: Encoder | None = None,
    settings: ChunkSettings | None = None,
    progress: bool = False,
    batch_chunks: int = 1024,
    on_article: Callable[[int], None] | None = None,
    merge: bool = True,
) -> IngestReport:
    """Add articles to an index (created if missing): unchanged ones are skipped, changed ones replaced.

    The write is committed (visible to every reader) before the due segment merges run; with
    `merge=False` they are left to the caller (a background `open_index(dir).maintain()`).
    """
    root = index_dir if index_dir is not None else config.default_index_dir()
    index = open_index(root)
    encoder = encoder or open_encoder(root)
    manifest, settings = write_settings(index, encoder, settings)

    report = IngestReport()
    items = list(items) if progress else items
    bar = _progress_bar(len(items) if progress else 0, progress)  # type: ignore[arg-type]
    done = 0
    pending: list[tuple[Article, list[Chunk]]] = []

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if bar is not None:
            bar.update(n)
            bar.set_postfix(chunks=report.chunks, failed=len(report.failures), refresh=False)
        if on_article:
            on_article(done)

    # a pipeline: the next batch is cleaned and chunked while the previous one is encoded (the encoder
    # releases the GIL), and stored once its vectors are back: about 0.88 -> 0.95 of raw encode speed
    in_flight: list[tuple[list[tuple[Article, list[Chunk]]], Future[np.ndarray]]] = []

    def finish() -> None:
        for batch, vectors in in_flight:
            report.chunks += _store(batch, vectors.result(), writer)
            advance(len(batch))
        in_flight.clear()

    def flush() -> None:
        finish()
        if pending:
            texts = [embed_text(a, c) for a, chunks in pending for c in chunks]
            in_flight.append((list(pending), encoding.submit(_encode, encoder, texts)))
            pending.clear()

    # the write lock is held from the first hash read to the commit: a second writer waits (with a message)
    with index.writer(manifest) as writer, ThreadPoolExecutor(1, thread_name_prefix="ingest-encode") as encoding:
        seen: set[str] = set()
        for item in items:
            if isinstance(item, Failure):
                log.debug("failed: %s", item)  # reported in IngestReport.failures (the CLI prints them at the end)
                report.failures.append(item)
                advance(1)
                continue
            if item.id in seen:
                log.warning("%s: the same article appears twice in this run; keeping the last", item.id)
            seen.add(item.id)
            stored = writer.stored_hash(item.id)
            if stored == item.content_hash:
                report.unchanged.append(item.id)
                advance(1)
                continue
            (report.replaced if stored else report.added).append(item.id)
            pending.append((item, _chunks(item, encoder, settings)))
            if sum(len(c) for _, c in pending) >= batch_chunks:
                flush()
        flush()
        finish()
    if bar is not None:
        bar.close()
    _maintain(index, report, merge=merge)
    return report


def remove(ids_or_urls: Iterable[str], index_dir: str | os.PathLike[str] | None = None, *, merge: bool = True) -> list[str]:
    """Remove articles by id or URL from every structure of the index; returns what was not found."""
    index = open_index(index_dir if index_dir is not None else config.default_index_dir())
    _manifest(index)  # a clear error when there is no index
    missing = []
    with index.writer() as writer:
        for key in ids_or_urls:
            article_id = writer.resolve(key)
            if article_id is None or not writer.remove(article_id):
                missing.append(key)
    _maintain(index, merge=merge)
    return missing


def write_settings(index: IndexStore, encoder: Encoder, settings: ChunkSettings | None) -> tuple[Manifest, ChunkSettings]:
    """The manifest and chunking a write to `index` uses: the stored ones (a StoreError when the encoder or the
    asked-for chunking differs), or, for a new index, the encoder's and `settings` (default chunking when None)."""
    if index.exists():
        manifest = _manifest(index)
        check_compatible(manifest, encoder, writing=True)
        if settings and settings != ChunkSettings(**manifest.chunking):
            raise StoreError(f"index in {index.location} uses chunking {manifest.chunking}; a new index is needed for {settings}")
        return manifest, ChunkSettings(**manifest.chunking)
    settings = settings or ChunkSettings()
    return Manifest(encoder.name, encoder.dimension, asdict(settings), backend=getattr(encoder, "backend", "torch")), settings


def _manifest(index: IndexStore) -> Manifest:
    """The index's manifest; an index of an older format is upgraded first (with a message)."""
    index.upgrade()
    return index.manifest()


def _maintain(index: IndexStore, report: IngestReport | None = None, *, merge: bool = True) -> None:
    """Due merges that are cheap, and garbage collection, after a write (an error there loses nothing). When no
    index exists after it (a first ingest whose every article failed) there is nothing to merge: the report's
    summary says so in its one line."""
    if not index.exists():
        if report is not None:
            report.no_index = index.location
        return
    if not merge:
        return
    try:
        index.maintain()
    except StoreError as exc:
        log.warning("merging segments after the write failed (the write itself is committed): %s", exc)


def embed_text(article: Article, chunk: Chunk) -> str:
    """What the encoder sees for a chunk: the article title, then the passage."""
    return f"{article.title}\n{chunk.text}" if article.title else chunk.text


def _chunks(article: Article, encoder: Encoder, settings: ChunkSettings) -> list[Chunk]:
    title_tokens = encoder.count_tokens([article.title])[0] + 1 if article.title else 0
    budget = max(16, min(settings.max_tokens, encoder.max_tokens - 2 - title_tokens))
    effective = ChunkSettings(budget, min(settings.overlap_tokens, budget // 2))
    return chunk_article(article, encoder.count_tokens, effective)


def _encode(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """A batch's chunks in one call (the encoder batches them by length)."""
    return encoder.encode(texts) if texts else np.zeros((0, encoder.dimension), np.float32)


def _store(batch: list[tuple[Article, list[Chunk]]], vectors: np.ndarray, writer: IndexWriter) -> int:
    """Store a batch's articles with their chunks and vectors; returns the number of chunks."""
    offset = 0
    for article, chunks in batch:
        writer.put(article, chunks, vectors[offset : offset + len(chunks)])
        offset += len(chunks)
    return offset


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="ingest", unit="article", dynamic_ncols=True)

