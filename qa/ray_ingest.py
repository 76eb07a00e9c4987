"""`qa ingest --ray`: chunks are encoded by a pool of Ray actors (Ray Data `map_batches`), then stored as locally.

The driver reads the sources, skips unchanged articles, chunks the rest (one tokenizer), and
hands the chunk texts to a Ray Data pipeline: `map_batches(EncodeBatch, compute=ActorPoolStrategy(size=N))`.
Each actor loads the encoder once (its thread count is a constructor argument, so every worker
gets it). Vectors come back to the driver keyed by chunk position, so a batch that Ray retries
after an actor dies is neither lost nor counted twice; the driver writes them through the index's
writer (any backend: local, milvus-lite or a Milvus server) and prints the same summary as a local ingest.
Without `--ray-address` (or RAY_ADDRESS) a local Ray starts with a small number of CPUs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Callable, Iterable

import numpy as np

from qa.encoders import Encoder, load_encoder, set_threads
from qa.errors import ConfigError, StoreError
from qa.ingest import IngestReport, _chunks, _maintain, _progress_bar, embed_text, open_encoder, write_settings
from qa.reading.chunking import ChunkSettings
from qa.reading.sources import Failure, Item
from qa.stores import IndexWriter, Manifest, open_index, open_rows
from qa.types import Article, Chunk

log = logging.getLogger(__name__)

BATCH_ROWS = 256  # chunk texts per actor call


class EncodeBatch:
    """A Ray Data actor: holds one encoder, turns a batch of {"key", "text"} rows into {"key", "vector"}.

    With `sink` (a Milvus server URI), batches also carry each chunk's row ("row", JSON): the actor
    upserts the rows with their vectors straight into the server's chunk collection (stable ids: a
    retried batch overwrites itself) and returns only the keys.
    """

    def __init__(self, model: str, backend: str, threads: int = 1, factory: Callable[[], Encoder] | None = None,
                 sink: str | None = None) -> None:
        set_threads(threads)  # in this worker, before the encoder is made
        self.encoder = factory() if factory is not None else load_encoder(model, backend)
        self.sink = None
        if sink:
            self.sink = open_rows(sink)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = np.asarray(self.encoder.encode([str(t) for t in batch["text"]]), dtype=np.float32)
        keys = np.asarray(batch["key"], dtype=np.int64)
        if self.sink is None:
            return {"key": keys, "vector": vectors}
        rows = [{**json.loads(str(r)), "vector": v.tolist()} for r, v in zip(batch["row"], vectors)]
        self.sink.put_rows(rows)
        return {"key": keys}


def start_ray(address: str | None, num_cpus: int | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS), or start a local Ray; True when this call started it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray Data: pip install 'article-qa[ray]'") from None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")  # the workers' C++ notices, for a local Ray
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus or min(2, os.cpu_count() or 1), include_dashboard=False,
                     logging_level=logging.WARNING, log_to_driver=False)
    except Exception as exc:  # ConnectionError, RuntimeError, ValueError from ray.init
        raise ConfigError(f"cannot {'join the Ray cluster at ' + address if address else 'start a local Ray'}: "
                          f"{' '.join(str(exc).split())[:300]}") from None
    return True


def encode_on_ray(texts: list[str], model: str, backend: str, *, actors: int = 1, threads: int = 1,
                  factory: Callable[[], Encoder] | None = None, on_rows: Callable[[int], None] | None = None,
                  dimension: int, sink: str | None = None, rows_json: list[str] | None = None) -> np.ndarray:
    """Vectors of `texts` (in order), encoded by `actors` Ray actors; each row exactly once, whatever Ray retried.

    With `sink`, the actors write `rows_json` (with their vectors) to that Milvus server; the result is then empty.
    """
    import ray.data
    from ray.data import ActorPoolStrategy, DataContext

    if not texts:
        return np.zeros((0, dimension), np.float32)
    context = DataContext.get_current()
    context.enable_progress_bars = False  # the driver's bar counts articles, as a local ingest does
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # its notices (progress bars off, execution plans)
    blocks = max(actors * 2, min(len(texts) // BATCH_ROWS + 1, actors * 8))
    items = [{"key": i, "text": t} for i, t in enumerate(texts)]
    if sink:
        assert rows_json is not None
        items = [{**item, "row": row} for item, row in zip(items, rows_json)]
    rows = ray.data.from_items(items, override_num_blocks=blocks)
    encoded = rows.map_batches(EncodeBatch, fn_constructor_kwargs={"model": model, "backend": backend, "threads": threads,
                                                                   "factory": factory, "sink": sink},
                               batch_size=BATCH_ROWS, batch_format="numpy", compute=ActorPoolStrategy(size=actors),
                               num_cpus=threads)  # actor pools restart dead actors and retry their tasks (Ray's default)
    out = np.zeros((len(texts), dimension), np.float32)
    seen = np.zeros(len(texts), dtype=bool)
    import warnings

    with warnings.catch_warnings():  # Ray Data's advice on tiny inputs (fewer blocks than actors)
        warnings.simplefilter("ignore", UserWarning)
        batches = iter(_batches(encoded))
        first = next(batches, None)
    for batch in _chain(first, batches):  # streamed: the first batch started the pipeline under the filter
        keys = batch["key"]
        fresh = ~seen[keys]
        if sink is None:
            out[keys] = batch["vector"]
        seen[keys] = True
        if on_rows:
            on_rows(int(fresh.sum()))
    if not seen.all():
        raise StoreError(f"the Ray pipeline returned {int(seen.sum())} of {len(texts)} chunk vectors")
    return np.zeros((0, dimension), np.float32) if sink else out


def _chain(first: Any, rest: Any) -> Iterable[Any]:
    if first is not None:
        yield first
    yield from rest


def _batches(dataset: Any) -> Iterable[dict[str, np.ndarray]]:
    yield from dataset.iter_batches(batch_size=None, batch_format="numpy")


def ray_ingest(items: Iterable[Item], index_dir: str | os.PathLike[str], *, model: str | None = None,
               backend: str | None = None, settings: ChunkSettings | None = None, address: str | None = None,
               num_cpus: int | None = None, actors: int | None = None, threads: int = 1,
               factory: Callable[[], Encoder] | None = None, progress: bool = False,
               batch_articles: int = 2000) -> IngestReport:
    """Add articles to an index with their chunks encoded on Ray; unchanged ones skipped, changed ones replaced."""
    encoder = factory() if factory is not None else open_encoder(index_dir, model, backend)  # the driver chunks
    index = open_index(index_dir)
    manifest, settings = write_settings(index, encoder, settings)
    started_here = start_ray(address, num_cpus)
    try:
        import ray

        pool = actors or max(1, int(ray.cluster_resources().get("CPU", 1) // max(1, threads)))
        report = IngestReport()
        items = list(items)
        bar = _progress_bar(len(items), progress)
        t0 = time.perf_counter()
        with index.writer(manifest) as writer:
            pending: list[tuple[Article, list[Chunk]]] = []
            for item in items:
                if isinstance(item, Failure):
                    report.failures.append(item)
                    bar and bar.update(1)
                    continue
                stored = writer.stored_hash(item.id)
                if stored == item.content_hash:
                    report.unchanged.append(item.id)
                    bar and bar.update(1)
                    continue
                (report.replaced if stored else report.added).append(item.id)
                pending.append((item, _chunks(item, encoder, settings)))
                if len(pending) >= batch_articles:
                    report.chunks += _encode_and_store(pending, writer, manifest, pool, threads, factory, bar)
                    pending = []
            report.chunks += _encode_and_store(pending, writer, manifest, pool, threads, factory, bar)
        if bar is not None:
            bar.close()
        log.info("ray ingest: %d chunks in %.1f s on %d actor(s)", report.chunks, time.perf_counter() - t0, pool)
        _maintain(index, report)
        return report
    finally:
        if started_here:
            import ray

            ray.shutdown()


def _encode_and_store(batch: list[tuple[Article, list[Chunk]]], writer: IndexWriter, manifest: Manifest, actors: int,
                      threads: int, factory: Callable[[], Encoder] | None, bar: Any) -> int:
    """Encode a batch of articles' chunks on Ray and put them; returns the number of chunks."""
    if not batch:
        return 0
    texts = [embed_text(a, c) for a, chunks in batch for c in chunks]
    sink = writer.sink()  # a Milvus server: the actors write the chunk rows themselves
    rows = None
    if sink is not None:
        rows = [json.dumps(r) for a, chunks in batch for r in sink.rows(a, chunks)]
    encoded = 0

    def on_rows(n: int) -> None:  # the bar counts articles once stored; meanwhile it shows the chunks encoded
        nonlocal encoded
        encoded += n
        if bar is not None:
            bar.set_postfix(encoded=f"{encoded}/{len(texts)} chunks")

    vectors = encode_on_ray(texts, manifest.model, manifest.backend, actors=actors, threads=threads, factory=factory,
                            dimension=manifest.dimension, sink=sink.uri if sink is not None else None, rows_json=rows,
                            on_rows=on_rows)
    offset = 0
    for article, chunks in batch:
        if sink is not None:
            sink.put_written(article, chunks)
        else:
            writer.put(article, chunks, vectors[offset : offset + len(chunks)])
        offset += len(chunks)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(chunks=offset, refresh=False)
    return offset
