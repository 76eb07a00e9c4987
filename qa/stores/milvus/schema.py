"""The Milvus collections of an index: their field sizes, schemas, BM25 Functions and indexes; string literals.

The leaf of `qa.stores.milvus`: the index, its reader and its writer import it, it imports none of them.

Keyword search is the project's own analysis on every backend: the `doc` field that Milvus's BM25 Function
reads holds the tokens of `qa.lexical` (lower-cased, stop-worded, stemmed) joined by spaces, and a query is
analysed the same way; the engine's analyzer only splits on spaces (`whitespace`; milvus-lite 3 has only
`standard`, which is `\\w+` and lower-casing: the same split of these tokens). BM25's k1 and b are the local
index's. Collections built before (the engine's own `english` or `standard` analysis of raw text, marked by
no `keywords` entry in the meta collection) keep working that way until `qa migrate` re-analyses them.
"""

from __future__ import annotations

import json
from typing import Any

from qa.errors import StoreError
from qa.lexical import B, K1

TEXT_BYTES = 60_000  # an article's text is stored in parts of at most this many UTF-8 bytes
SHORT = 2048  # titles, URLs, authors: truncated to this many bytes
DUMMY_DIM = 2  # collections without another vector field carry a tiny one (Milvus requires a vector field)
ID = 1024  # article ids: bytes
TEXT = 65_535  # Milvus's VARCHAR limit (bytes)
KEYWORDS = "qa.lexical/1"  # the meta collection's `keywords` value: `doc` holds qa.lexical's tokens (this version)
CHUNKS, ARTICLES, META = "chunks", "articles", "meta"  # the collections of an index, by kind


def create_collections(index: Any, dimension: int, *, bm25: bool, names: dict[str, str] | None = None) -> str:
    """Create the chunks, articles and meta collections (those missing), indexed and loaded; return the BM25 analyzer.

    `names` (kind -> collection name) creates only those, under those names (a migration's new collections).
    The `doc` fields get the `whitespace` analyzer where the engine has it, else `standard`.
    """
    analyzer = index.analyzer if bm25 else ""
    try:
        _create(index, dimension, bm25=bm25, analyzer=analyzer, names=names)
    except StoreError as exc:
        if analyzer == "standard" or "tokenizer" not in str(exc).lower():
            raise
        analyzer = "standard"  # an engine without the whitespace tokenizer says "unknown tokenizer type"
        _create(index, dimension, bm25=bm25, analyzer=analyzer, names=names)
    return analyzer


def _create(index: Any, dimension: int, *, bm25: bool, analyzer: str, names: dict[str, str] | None) -> None:
    from pymilvus import DataType

    existing = set(index.call("list collections", "list_collections"))
    wanted = names or {CHUNKS: index.chunks_name, ARTICLES: index.articles_name, META: index.meta_name}

    def make(kind: str, fields: list[tuple], vectors: list[tuple[str, str, str]], *, text: str = "") -> None:
        name = wanted.get(kind, "")
        if not name or name in existing:
            return
        schema = index.call("make a schema", "create_schema", auto_id=False, enable_dynamic_field=False)
        for field, kind, extra in fields:
            schema.add_field(field, kind, **extra)
        if bm25 and text:
            from pymilvus import Function, FunctionType

            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name=f"{name}_bm25", function_type=FunctionType.BM25,
                                         input_field_names=[text], output_field_names=["sparse"]))
            vectors = [*vectors, ("sparse", "SPARSE_INVERTED_INDEX", "BM25")]
        params = index.call("make index parameters", "prepare_index_params")
        for field, kind, metric in vectors:
            extra = {"params": {"bm25_k1": K1, "bm25_b": B}} if metric == "BM25" else {}
            params.add_index(field, index_type=kind, metric_type=metric, **extra)
        # in two steps: Milvus 2.3 servers refuse a create_collection that carries index parameters
        index.call(f"create the collection {name}", "create_collection", name, schema=schema)
        index.call(f"index the collection {name}", "create_index", name, params, sync=False)  # load waits for it
        index.load(name)

    dense = "FLAT" if index.target.lite else "AUTOINDEX"
    varchar = DataType.VARCHAR
    analyzed: dict[str, Any] = {"max_length": TEXT}
    if bm25:
        analyzed["enable_analyzer"] = True
        analyzed["analyzer_params"] = {"tokenizer": analyzer}
    make(CHUNKS, [
        ("id", DataType.INT64, {"is_primary": True}),
        ("article_id", varchar, {"max_length": ID}),
        ("source", varchar, {"max_length": SHORT}),
        ("host", varchar, {"max_length": SHORT}),
        ("published", varchar, {"max_length": 64}),
        ("hash", varchar, {"max_length": 128}),
        ("txn", DataType.INT64, {}),
        ("idx", DataType.INT64, {}),
        ("start", DataType.INT64, {}),
        ("end", DataType.INT64, {}),
        ("title", varchar, {"max_length": SHORT}),
        ("url", varchar, {"max_length": SHORT}),
        ("text", varchar, {"max_length": TEXT}),
        ("doc", varchar, analyzed),
        ("vector", DataType.FLOAT_VECTOR, {"dim": dimension}),
    ], [("vector", dense, "IP")], text="doc")
    make(ARTICLES, [
        ("pid", varchar, {"is_primary": True, "max_length": ID + 16}),
        ("article_id", varchar, {"max_length": ID}),
        ("part", DataType.INT64, {}),
        ("parts", DataType.INT64, {}),
        ("title", varchar, {"max_length": SHORT}),
        ("url", varchar, {"max_length": SHORT}),
        ("url_key", varchar, {"max_length": SHORT}),
        ("published", varchar, {"max_length": 64}),
        ("source", varchar, {"max_length": SHORT}),
        ("host", varchar, {"max_length": SHORT}),
        ("author", varchar, {"max_length": SHORT}),
        ("hash", varchar, {"max_length": 128}),
        ("added", DataType.DOUBLE, {}),
        ("text", varchar, {"max_length": TEXT_BYTES + 16}),
        ("doc", varchar, analyzed),
        *([] if bm25 else [("dummy", DataType.FLOAT_VECTOR, {"dim": DUMMY_DIM})]),
    ], [] if bm25 else [("dummy", dense, "L2")], text="doc")
    make(META, [
        ("key", varchar, {"is_primary": True, "max_length": 64}),
        ("value", varchar, {"max_length": TEXT}),
        ("dummy", DataType.FLOAT_VECTOR, {"dim": DUMMY_DIM}),
    ], [("dummy", dense, "L2")])


def quote(value: str) -> str:
    """A string literal for a Milvus boolean expression."""
    return json.dumps(value, ensure_ascii=False)
