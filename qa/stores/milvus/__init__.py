"""The Milvus backend: `milvus:PATH.db` (a milvus-lite file) or `milvus://[user:pass@]HOST:PORT/COLLECTION`.

Three collections share the URI's name (`<name>_chunks`, `<name>_articles`, `<name>_meta`):

- chunks: one row per chunk, INT64 primary key (a stable id: a hash of article id, content hash and
  chunk index, so a retried upsert never duplicates), scalar `article_id`, `source`, `host`,
  `published`, `hash`, the chunk `text`, `doc` (the tokens of title + text as `qa.lexical` analyses them, the
  BM25 input), its `vector` and, where the server has BM25 (Milvus >= 2.5, milvus-lite), `sparse`, filled by a
  BM25 Function;
- articles: each article's text and metadata, in parts of at most 60,000 bytes (a VARCHAR limit);
- meta: the manifest (model, dimension, chunking) and a content version that readers poll.

Readers read the live collections (Milvus has no snapshots); `reopen()` polls the version.
The reader is reader.py, the writer writer.py, URIs uri.py, the re-analysis of older collections migrate.py;
schema.py (the collections) is the leaf they share.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from qa.errors import StoreError
from qa.stores.base import CheckReport, MergeReport
from qa.stores.manifest import Manifest, VectorSettings
from qa.stores.milvus.migrate import migrate_keywords
from qa.stores.milvus.reader import MilvusReader
from qa.stores.milvus.schema import DUMMY_DIM, KEYWORDS, create_collections, quote
from qa.stores.milvus.uri import MilvusTarget, calling, connect, parse_uri
from qa.stores.milvus.writer import MilvusWriter

log = logging.getLogger(__name__)


class MilvusIndex:
    """An index in Milvus collections (`qa.stores.open_index("milvus:…")`)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri  # as given (with any password): what Ray actors open
        self.target: MilvusTarget = parse_uri(uri)
        self.location = self.target.display
        self._client: Any = None
        self._lock = threading.Lock()
        self._bm25: bool | None = None
        self._version: str | None = None
        self._meta_ready = False  # the meta collection is known to exist and be loaded
        self.chunks_name = f"{self.target.collection}_chunks"
        self.articles_name = f"{self.target.collection}_articles"
        self.meta_name = f"{self.target.collection}_meta"

    # -- connection ------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = connect(self.target)
            return self._client

    def call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """`client.method(...)`, a Milvus error becoming one StoreError line naming the URI."""
        with calling(self.target, what):
            return getattr(self.client, method)(*args, **kwargs)

    @property
    def has_bm25(self) -> bool:
        """Whether the server runs BM25 Functions (Milvus >= 2.5 and milvus-lite; not 2.3 or 2.4)."""
        if self._bm25 is None:
            self._bm25 = bm25_supported(self.server_version)
            log.debug("%s: server %r, BM25 %s", self.location, self.server_version, self._bm25)
        return self._bm25

    @property
    def server_version(self) -> str:
        """The server's version string; "" where the server does not say (the milvus-lite 2.5 binary)."""
        if self._version is None:
            try:
                self._version = str(self.call("read the server version", "get_server_version"))
            except StoreError as exc:
                if "unimplemented" not in str(exc).lower():
                    raise
                self._version = ""
        return self._version

    @property
    def analyzer(self) -> str:
        """The tokenizer new `doc` fields get: `whitespace` (they hold qa.lexical's tokens, joined by spaces).

        milvus-lite 3 has only `standard`, a `\\w+` split and lower-casing: the same split of those tokens.
        """
        return "standard" if self.server_version.lower().startswith("milvus_lite") else "whitespace"

    def keyword_search_ready(self) -> bool:
        """Whether this index's collections carry BM25 sparse fields."""
        return self.meta_value("bm25") == "1"

    def own_keywords(self) -> bool:
        """Whether the BM25 input holds qa.lexical's tokens (else raw text the engine analyses: built before them)."""
        return self.meta_value("keywords") == KEYWORDS

    # -- IndexStore --------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.meta_value("manifest") is not None

    def manifest(self) -> Manifest:
        text = self.meta_value("manifest")
        if text is None:
            raise StoreError(f"no index at {self.location}; build one with `qa ingest --index {self.location} SOURCES`")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.location}: the stored manifest is not JSON ({exc})") from None
        return manifest_from(data)

    def upgrade(self) -> bool:
        """Re-analyse the keyword fields of collections built before qa analysed them itself (see migrate.py)."""
        return migrate_keywords(self)

    def reader(self) -> MilvusReader:
        manifest = self.manifest()
        self.load()
        return MilvusReader(self, manifest, self.version())

    def writer(self, manifest: Manifest | None = None, *, timeout: float | None = None) -> MilvusWriter:
        return MilvusWriter(self, manifest, timeout=timeout)

    def maintain(self) -> MergeReport:
        return MergeReport()  # Milvus compacts its own segments

    def optimize(self, *, vectors: str | None = None) -> MergeReport:
        started = time.perf_counter()
        if vectors is not None:
            raise StoreError(f"{self.location}: Milvus chooses its own vector index; --vectors is for local indexes")
        for name in (self.chunks_name, self.articles_name):
            self.call("flush", "flush", name)
            try:
                self.call("compact", "compact", name)
            except StoreError as exc:  # milvus-lite compacts on its own
                log.debug("%s: %s", self.location, exc)
        return MergeReport(seconds=time.perf_counter() - started)

    def check(self) -> CheckReport:
        raise StoreError(f"qa check verifies local index folders; {self.location} is a {type(self).__name__}")

    def side_folder(self) -> Path | None:
        """`PATH.db.qa/` beside a milvus-lite file; None for a server (nothing is written on this machine)."""
        path = self.target.path
        return Path(f"{path}.qa") if path is not None else None

    def put_rows(self, rows: list[dict[str, Any]]) -> None:
        """Upsert chunk rows (with their vectors) into the chunk collection: what Ray actors do for a writer's sink."""
        self.call("write chunks", "upsert", self.chunks_name, rows)

    def close(self) -> None:
        """Forget the connection (the process's client for this server or file stays open for others)."""
        with self._lock:
            self._client = None

    # -- meta collection ---------------------------------------------------------------------
    def meta_value(self, key: str) -> str | None:
        if self.target.path is not None and not self.target.path.exists():
            return None  # no milvus-lite file yet (reading does not create one)
        if not self._meta_ready:
            if not self.call("list collections", "has_collection", self.meta_name):
                return None
            self.load(self.meta_name)
            self._meta_ready = True
        rows = self.call("read the index manifest", "query", self.meta_name, filter=f"key == {quote(key)}",
                         output_fields=["value"], consistency_level="Strong")
        return rows[0]["value"] if rows else None

    def set_meta(self, values: dict[str, str]) -> None:
        rows = [{"key": k, "value": v, "dummy": [0.0] * DUMMY_DIM} for k, v in values.items()]
        self.call("write the index manifest", "upsert", self.meta_name, rows)

    def version(self) -> int:
        value = self.meta_value("version")
        return int(value) if value else 0

    def bump_version(self, previous: int) -> int:
        """A new content version, greater than `previous` and than any other writer's (time-based)."""
        version = max(previous + 1, time.time_ns() // 1000)
        self.set_meta({"version": str(version)})
        return version

    def load(self, *names: str) -> None:
        """Load collections into memory (needed after reopening a milvus-lite file or a server restart)."""
        for name in names or (self.chunks_name, self.articles_name):
            self.call(f"load {name}", "load_collection", name)

    def create(self, manifest: Manifest) -> None:
        """Create the three collections, the manifest and version 0."""
        bm25 = self.has_bm25
        analyzer = create_collections(self, manifest.dimension, bm25=bm25)
        self.set_meta({"manifest": json.dumps(manifest_data(manifest), sort_keys=True), "version": "0",
                       "bm25": "1" if bm25 else "0", "analyzer": analyzer if bm25 else "", "keywords": KEYWORDS if bm25 else ""})


def bm25_supported(version: str) -> bool:
    """Whether a server version string ("v2.5.4", "2.3.5", "milvus_lite-3.2.2") has BM25 Functions."""
    text = version.lower()
    if text.startswith("milvus_lite"):  # milvus-lite 3 (its own engine, with BM25)
        return True
    found = re.search(r"(\d+)\.(\d+)", text)  # "v2.3.5-lite" is the embedded 2.3 server: no BM25
    if not found:
        return True  # an unknown build: try, and let the server say
    return (int(found.group(1)), int(found.group(2))) >= (2, 5)


def manifest_data(m: Manifest) -> dict[str, Any]:
    data = {f.name: getattr(m, f.name) for f in fields(m) if f.name not in ("extra", "vectors")}
    return {**data, "vectors": asdict(m.vectors), **m.extra}


def manifest_from(data: dict[str, Any]) -> Manifest:
    names = {f.name for f in fields(Manifest)}
    known = {k: data[k] for k in names if k in data and k not in ("extra", "vectors")}
    vectors = VectorSettings(**{k: v for k, v in (data.get("vectors") or {}).items() if k in VectorSettings.__dataclass_fields__})
    return Manifest(**known, vectors=vectors, extra={k: v for k, v in data.items() if k not in names})


