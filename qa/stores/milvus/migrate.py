"""Re-analyse the keyword fields of Milvus collections built before qa analysed keywords itself (`qa migrate`).

Such collections hold raw text in `doc`, analysed by the engine (`english` on Milvus 2.5, `standard` without
stemming on milvus-lite 3), so their keyword ranks differ from the local index's. A field's analyzer cannot
be changed, so each of the chunks and articles collections is copied, row by row with its vectors, into a
new collection of the current schema (`<name>_migrating`, `doc` re-analysed from the old `doc`), the old one
is dropped and the new one takes its name (renamed where the engine can, else copied back). An interrupted
migration is resumed by the next: a `_migrating` collection whose original is gone is the data.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from qa.stores.local.locks import DEFAULT_TIMEOUT, FileLock
from qa.stores.milvus.schema import ARTICLES, CHUNKS, KEYWORDS, create_collections
from qa.stores.milvus.writer import keyword_docs

if TYPE_CHECKING:
    from qa.stores.milvus import MilvusIndex

log = logging.getLogger(__name__)

BATCH = 500  # rows read and written at a time
SUFFIX = "_migrating"


def migrate_keywords(index: MilvusIndex) -> bool:
    """Re-analyse an older index's keyword fields as qa.lexical does; False when there is nothing to do."""
    if not index.exists() or not index.keyword_search_ready() or index.own_keywords():
        return False
    lock = FileLock(index.target.path.with_name(index.target.path.name + ".lock")) if index.target.path else None
    if lock is not None:
        lock.acquire(DEFAULT_TIMEOUT)  # the writers' lock: no write lands in a collection being copied
    try:
        if index.own_keywords():  # another process migrated it meanwhile
            return False
        old = index.meta_value("analyzer") or "standard"
        log.warning("%s: its keyword fields were analysed by Milvus's %s analyzer; re-analysing them as the local "
                    "index does (once: every row is copied, with its vector)…", index.location, old)
        dimension = index.manifest().dimension
        analyzer = ""
        for kind, name in ((CHUNKS, index.chunks_name), (ARTICLES, index.articles_name)):
            analyzer = _migrate(index, kind, name, dimension)
        index.set_meta({"keywords": KEYWORDS, "analyzer": analyzer})
        index.bump_version(index.version())
        log.warning("%s: keyword fields re-analysed (%s split of qa's tokens)", index.location, analyzer)
        return True
    finally:
        if lock is not None:
            lock.release()


def _migrate(index: MilvusIndex, kind: str, name: str, dimension: int) -> str:
    """One collection into the current schema under its own name; returns the analyzer its `doc` field got."""
    temporary = name + SUFFIX
    existing = set(index.call("list collections", "list_collections"))
    analyzer = index.analyzer
    if name in existing:
        if temporary in existing:  # an earlier migration stopped while copying: start that copy again
            index.call(f"drop {temporary}", "drop_collection", temporary)
        analyzer = create_collections(index, dimension, bm25=True, names={kind: temporary})
        _copy(index, name, temporary, reanalyse=True)
        index.call(f"drop {name}", "drop_collection", name)
    elif temporary not in existing:
        return analyzer  # nothing of it (an index whose writes never reached this collection)
    try:
        index.call(f"rename {temporary}", "rename_collection", temporary, name)
    except Exception as exc:  # the milvus-lite 2.5 binary cannot rename: copy it back
        log.debug("%s: %s; copying instead", index.location, exc)
        analyzer = create_collections(index, dimension, bm25=True, names={kind: name})
        _copy(index, temporary, name, reanalyse=False)
        index.call(f"drop {temporary}", "drop_collection", temporary)
    index.load(name)
    return analyzer


def _copy(index: MilvusIndex, source: str, target: str, *, reanalyse: bool) -> int:
    """Every row of `source` into `target` (all fields but the BM25 output), `doc` re-analysed if asked."""
    index.load(source)
    fields = _stored_fields(index, source)
    key = next(f["name"] for f in _fields(index, source) if f.get("is_primary"))
    iterator = index.call(f"read {source}", "query_iterator", source, batch_size=BATCH, output_fields=fields,
                          filter=f'{key} != ""' if key == "pid" else f"{key} >= 0")
    copied = 0
    try:
        while rows := iterator.next():
            rows = [{f: r[f] for f in fields} for r in rows]
            if reanalyse:
                for row, doc in zip(rows, keyword_docs([r["doc"] for r in rows])):
                    row["doc"] = doc
            index.call(f"write {target}", "insert", target, rows)
            copied += len(rows)
    finally:
        iterator.close()
    index.call(f"flush {target}", "flush", target)
    log.info("%s: %d rows of %s copied", index.location, copied, source)
    return copied


def _fields(index: MilvusIndex, name: str) -> list[dict[str, Any]]:
    return list(index.call(f"describe {name}", "describe_collection", name)["fields"])


def _stored_fields(index: MilvusIndex, name: str) -> list[str]:
    """The fields a row is written with: not a Function's output (the BM25 `sparse` vector)."""
    return [f["name"] for f in _fields(index, name) if not f.get("is_function_output") and f["name"] != "sparse"]
